//! Statistical disclosure control of report tables: the cell-key method, as the
//! Australian Bureau of Statistics' TableBuilder and the 2021 UK census use it, with a
//! threshold (docs/RESEARCHERS.md, "Disclosure control").
//!
//! 1. Every record a report counts (a patient, a meeting) has a key, [`record_key`],
//!    derived from its pseudonym. Pseudonyms are HMACs under the study key, so a reader
//!    of reports, who never sees them, cannot compute it.
//! 2. A count's cell key is the sum of the keys of its records modulo 2^32 (of its rows,
//!    for consultations): the same records have the same cell key in every table and
//!    every scope.
//! 3. The count is published plus a noise that the fixed table [`NOISE`] gives for its
//!    (cell key, count). The same cell gets the same noise wherever it is published, so
//!    subtracting reports gives noise, never a masked count; totals are noisy counts of
//!    their own, and do not add up exactly.
//! 4. A count below the threshold, before or after the noise, is masked ([`MARK`]).
//! 5. Ratios, shares and amounts are computed from the counts as published, and masked
//!    when one of them is; a mean is masked with the count of its group.

use crate::table::{Cell, Count, MARK, Mask, Table, Term, Value};
use msma_query::datafusion::arrow::array::{Array, ArrayRef, Int64Array, StringArray};
use msma_query::datafusion::arrow::compute::cast;
use msma_query::datafusion::arrow::datatypes::DataType;
use msma_query::datafusion::common::cast::as_string_array;
use msma_query::datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use msma_query::datafusion::prelude::SessionContext;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The perturbation table: of the 256 places a cell key and count point to, how many
/// give each noise. Mean 0, variance 1.1; most counts are published as they are.
pub const NOISE: [(i64, u32); 7] = [(-3, 2), (-2, 18), (-1, 52), (0, 112), (1, 52), (2, 18), (3, 2)];

/// The largest noise, either way.
pub const MAX_NOISE: i64 = 3;

/// Separates these keys from any other use of SHA-256 over pseudonyms.
const DOMAIN: &[u8] = b"msma cell key v1\0";

/// The key of one record: the first 4 bytes of SHA-256 over the domain, the network and
/// the pseudonym (a patient is pseudonymised per network).
pub fn record_key(network_id: &str, pseudonym: &str) -> u32 {
    let digest = Sha256::new()
        .chain_update(DOMAIN)
        .chain_update(network_id)
        .chain_update([0])
        .chain_update(pseudonym)
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Registers `cell_key(network_id, pseudonym)`, [`record_key`] as an SQL BIGINT, so that
/// the reports' queries give each count the sum of its records' keys.
pub fn register(ctx: &SessionContext) {
    let udf = create_udf(
        "cell_key",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Int64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let text = |a: &ArrayRef| -> msma_query::datafusion::error::Result<StringArray> {
                Ok(as_string_array(&cast(a, &DataType::Utf8)?)?.clone())
            };
            let (networks, pseudonyms) = (text(&arrays[0])?, text(&arrays[1])?);
            let keys: Int64Array = (0..networks.len())
                .map(|i| {
                    (networks.is_valid(i) && pseudonyms.is_valid(i))
                        .then(|| i64::from(record_key(networks.value(i), pseudonyms.value(i))))
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(keys)))
        }),
    );
    ctx.register_udf(udf);
}

/// The cell key of a sum of record keys as SQL returns it.
pub fn cell_key(sum: i64) -> u32 {
    sum.rem_euclid(1 << 32) as u32
}

/// The noise of a count: the table's entry at the place its cell key and count point to
/// (mixed, so that two counts of one key get unrelated noises).
pub fn noise(count: Count) -> i64 {
    let mut place = (mix((u64::from(count.key) << 32) ^ count.n) >> 56) as u32;
    for (noise, places) in NOISE {
        if place < places {
            return noise;
        }
        place -= places;
    }
    unreachable!("the table has 256 places")
}

/// SplitMix64's finaliser: every bit of the input moves the place.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The count as published, or `None` when it is masked: below the threshold before or
/// after its noise.
pub fn publish(count: Count, threshold: u64) -> Option<u64> {
    if count.n < threshold {
        return None;
    }
    let shown = count.n as i64 + noise(count);
    (shown >= threshold as i64).then_some(shown as u64)
}

/// What disclosure control did to a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Suppressed {
    /// Counts below the threshold, before or after perturbation.
    pub small: usize,
    /// Ratios, shares, means and amounts computed from them.
    pub derived: usize,
}

impl Suppressed {
    pub fn add(&mut self, table: &Table) {
        self.small += table.masked(Mask::Small);
        self.derived += table.masked(Mask::Derived);
    }
}

/// Sets what every cell of `table` shows: counts first, then what is derived from them.
pub fn protect(table: &mut Table, threshold: u64) {
    for cell in table.rows.iter_mut().flat_map(|r| &mut r.cells) {
        if let Some(Value::Count(count)) = cell.value {
            show(cell, publish(count, threshold).map(|n| n as f64), Mask::Small);
        }
    }
    for r in 0..table.rows.len() {
        for c in 0..table.rows[r].cells.len() {
            let shown = match &table.rows[r].cells[c].value {
                Some(Value::Ratio {
                    numerator,
                    denominator,
                    scale,
                    ..
                }) => {
                    let sum = |terms: &[Term]| -> Option<f64> {
                        terms
                            .iter()
                            .map(|t| match *t {
                                Term::At(at) => table.cell(at).published,
                                Term::Unshown(count) => publish(count, threshold).map(|n| n as f64),
                            })
                            .sum()
                    };
                    let den = if denominator.is_empty() {
                        Some(1.0)
                    } else {
                        sum(denominator)
                    };
                    match (sum(numerator), den) {
                        (Some(num), Some(den)) if den > 0.0 => Some(scale * num / den),
                        _ => None,
                    }
                }
                Some(Value::Figure { value, of, .. }) => value.filter(|_| table.cell(*of).mask.is_none()),
                _ => continue,
            };
            show(&mut table.rows[r].cells[c], shown, Mask::Derived);
        }
    }
}

fn show(cell: &mut Cell, shown: Option<f64>, otherwise: Mask) {
    cell.published = shown;
    cell.mask = shown.is_none().then_some(otherwise);
}

/// The method as reports describe it to scripts.
pub fn describe() -> serde_json::Value {
    serde_json::json!({
        "method": "cell key",
        "mark": MARK,
        "max_noise": MAX_NOISE,
        "noise_in_256": NOISE.iter().map(|(noise, places)| serde_json::json!({"noise": noise, "places": places})).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Row;

    fn count(n: u64, key: u32) -> Count {
        Count { n, key }
    }

    fn table(rows: Vec<Vec<Cell>>) -> Table {
        Table {
            id: "t",
            title: "t".into(),
            note: String::new(),
            row_header: "r".into(),
            columns: (0..rows[0].len()).map(|c| c.to_string()).collect(),
            rows: rows
                .into_iter()
                .enumerate()
                .map(|(i, cells)| Row {
                    key: i.to_string(),
                    label: i.to_string(),
                    cells,
                    total: false,
                })
                .collect(),
            chart: None,
        }
    }

    #[test]
    fn the_record_key_is_the_documented_digest() {
        // Python: int.from_bytes(hashlib.sha256(b"msma cell key v1\0RMS-ALSACE\0abc").digest()[:4], "big")
        assert_eq!(record_key("RMS-ALSACE", "abc"), 259_741_804);
        assert_ne!(record_key("RMS-ALSACE", "abc"), record_key("RMS-ALSACEa", "bc"));
    }

    #[test]
    fn the_table_has_256_places_and_no_bias() {
        assert_eq!(NOISE.iter().map(|(_, p)| p).sum::<u32>(), 256);
        assert_eq!(NOISE.iter().map(|(n, p)| n * i64::from(*p)).sum::<i64>(), 0);
        assert_eq!(NOISE.iter().map(|(n, _)| n.abs()).max(), Some(MAX_NOISE));
        // Over many keys the noises come out in the table's proportions.
        let mut seen = std::collections::BTreeMap::new();
        for key in 0..25_600u32 {
            *seen
                .entry(noise(count(40, key.wrapping_mul(2_654_435_761))))
                .or_insert(0u32) += 1;
        }
        for (n, places) in NOISE {
            let expected = places * 100;
            let got = seen.get(&n).copied().unwrap_or(0);
            assert!(
                got.abs_diff(expected) <= expected / 4 + 30,
                "noise {n}: {got} for {expected}"
            );
        }
    }

    #[test]
    fn the_same_records_get_the_same_noise_and_small_counts_are_masked() {
        let c = count(57, 123_456_789);
        assert_eq!(publish(c, 11), publish(c, 11));
        let shown = publish(c, 11).unwrap() as i64;
        assert!((shown - 57).abs() <= MAX_NOISE);
        for n in 0..11 {
            assert_eq!(publish(count(n, 99), 11), None);
        }
        // Just above the threshold, a negative noise masks the count too.
        let masked = (0..10_000u32).filter(|&k| publish(count(11, k), 11).is_none()).count();
        assert!((2_500..5_500).contains(&masked), "{masked} of 10,000 masked");
    }

    #[test]
    fn derived_figures_follow_the_published_counts() {
        let (w, m) = (count(40, 7), count(5, 8));
        let mut t = table(vec![
            vec![
                Cell::count(w),
                Cell::count(m),
                Cell::ratio(vec![Term::At((0, 1))], vec![Term::At((0, 0))], 1.0, 2),
                Cell::ratio(
                    vec![Term::At((0, 0))],
                    vec![Term::At((0, 0)), Term::At((0, 1))],
                    100.0,
                    1,
                ),
                Cell::mean(Some(41.5), (0, 1)),
            ],
            vec![
                Cell::count(count(0, 0)),
                Cell::count(count(200, 9)),
                Cell::ratio(vec![Term::At((1, 1))], vec![Term::At((1, 0))], 1.0, 2),
                Cell::ratio(vec![Term::Unshown(count(300, 3))], vec![Term::At((1, 1))], 1.0, 2),
                Cell::mean(None, (1, 0)),
            ],
        ]);
        protect(&mut t, 11);
        assert_eq!(t.cell((0, 1)).mask, Some(Mask::Small));
        for at in [(0, 2), (0, 3), (0, 4), (1, 2), (1, 4)] {
            assert_eq!(t.cell(at).mask, Some(Mask::Derived), "{at:?}");
            assert_eq!(t.cell(at).display(), MARK);
        }
        // 300 consultations over 200 patients, both as published.
        let (c, p) = (publish(count(300, 3), 11).unwrap(), publish(count(200, 9), 11).unwrap());
        assert_eq!(t.cell((1, 3)).published, Some(c as f64 / p as f64));
        assert_eq!(t.cell((1, 1)).display(), p.to_string());
        assert_eq!(t.cell((0, 0)).display(), publish(w, 11).unwrap().to_string());
    }
}
