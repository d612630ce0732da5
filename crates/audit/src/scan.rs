//! `audit scan`: reads every value of every column of every dataset file and reports
//! what looks like a direct identifier: a NIR/INS with a valid key (2A/2B handled), a
//! French phone number, an email address, an RPPS number with a valid Luhn key, or any
//! raw identifier from a `--known` list. Findings name the place, never the value.

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::HashSet;
use std::path::Path;

/// One value that looks like an identifier.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub dataset: String,
    pub file: String,
    pub column: String,
    /// Row within the file, from 0.
    pub row: u64,
    pub kind: &'static str,
}

/// What a scan read, and what it found.
#[derive(Debug, Default, serde::Serialize)]
pub struct ScanReport {
    pub files: u64,
    pub values: u64,
    pub findings: Vec<Finding>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: {1}")]
    Parquet(String, parquet::errors::ParquetError),
    #[error(transparent)]
    Files(#[from] crate::verify::Problem),
}

/// Scans every `.parquet` file of the zone. `known` holds raw identifiers of the source
/// system, found when a value or a word of it equals one.
pub fn scan(zone: &Path, known: &HashSet<String>) -> Result<ScanReport, ScanError> {
    let mut report = ScanReport::default();
    for rel in crate::verify::data_files(zone)?
        .into_iter()
        .filter(|f| f.ends_with(".parquet"))
    {
        let path = zone.join(&rel);
        let file = std::fs::File::open(&path).map_err(|e| ScanError::Io(rel.clone(), e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|e| ScanError::Parquet(rel.clone(), e))?;
        let dataset = rel.split('/').next().unwrap_or_default().to_owned();
        let mut base_row = 0u64;
        for batch in reader {
            let batch = batch.map_err(|e| ScanError::Parquet(rel.clone(), e.into()))?;
            for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
                let mut check = |row: usize, value: &str| {
                    report.values += 1;
                    if let Some(kind) = classify(value, known) {
                        report.findings.push(Finding {
                            dataset: dataset.clone(),
                            file: rel.clone(),
                            column: field.name().clone(),
                            row: base_row + row as u64,
                            kind,
                        });
                    }
                };
                each_value(column, &mut check);
            }
            base_row += batch.num_rows() as u64;
        }
        report.files += 1;
    }
    Ok(report)
}

/// Calls `f(row, value)` for every value of a column, as text.
fn each_value(column: &ArrayRef, f: &mut dyn FnMut(usize, &str)) {
    match column.data_type() {
        DataType::Utf8 => {
            for (i, v) in column.as_string::<i32>().iter().enumerate() {
                if let Some(v) = v {
                    f(i, v);
                }
            }
        }
        DataType::LargeUtf8 => {
            for (i, v) in column.as_string::<i64>().iter().enumerate() {
                if let Some(v) = v {
                    f(i, v);
                }
            }
        }
        DataType::List(_) => {
            let list = column.as_list::<i32>();
            for i in 0..list.len() {
                if list.is_valid(i) {
                    each_value(&list.value(i), &mut |_, v| f(i, v));
                }
            }
        }
        DataType::Int64 | DataType::Int32 | DataType::Int16 | DataType::UInt64 => {
            let as_i64 = arrow_cast_i64(column);
            for (i, v) in as_i64.into_iter().enumerate() {
                if let Some(v) = v {
                    f(i, &v.to_string());
                }
            }
        }
        _ => {}
    }
}

fn arrow_cast_i64(column: &ArrayRef) -> Vec<Option<i64>> {
    use arrow_array::types::*;
    match column.data_type() {
        DataType::Int64 => column.as_primitive::<Int64Type>().iter().collect(),
        DataType::Int32 => column
            .as_primitive::<Int32Type>()
            .iter()
            .map(|v| v.map(i64::from))
            .collect(),
        DataType::Int16 => column
            .as_primitive::<Int16Type>()
            .iter()
            .map(|v| v.map(i64::from))
            .collect(),
        DataType::UInt64 => column
            .as_primitive::<UInt64Type>()
            .iter()
            .map(|v| v.map(|x| x as i64))
            .collect(),
        _ => Vec::new(),
    }
}

/// What kind of identifier a value holds, if any.
pub fn classify(value: &str, known: &HashSet<String>) -> Option<&'static str> {
    if !known.is_empty() && (known.contains(value) || phrases(value).any(|w| known.contains(w))) {
        return Some("known_identifier");
    }
    if value.contains('@') && has_email(value) {
        return Some("email");
    }
    let compact: String = value.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect();
    if words(value).any(is_nir) || (compact.len() == 15 && is_nir(&compact)) {
        return Some("nir");
    }
    if has_phone(value) {
        return Some("phone");
    }
    if words(value).any(is_rpps) {
        return Some("rpps");
    }
    None
}

/// Parts of a value between white space and punctuation, keeping `- _ . @ +` inside
/// (identifiers such as `P-000123` or emails stay whole).
fn phrases(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c.is_whitespace() || ",;:\"'()[]{}|/<>".contains(c))
        .filter(|w| !w.is_empty())
}

fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_ascii_alphanumeric() && c != '+')
        .filter(|w| !w.is_empty())
}

/// 15 characters: sex digit, year, month, département (2A/2B or digits), commune,
/// order, and a key equal to 97 - (the 13-digit number mod 97), 2A as 19 and 2B as 18.
pub fn is_nir(w: &str) -> bool {
    let b = w.as_bytes();
    if b.len() != 15 || !matches!(b[0], b'1' | b'2' | b'3' | b'4' | b'7' | b'8') {
        return false;
    }
    let dept = &w[5..7];
    let digits13 = match dept {
        "2A" | "2a" => format!("{}19{}", &w[..5], &w[7..13]),
        "2B" | "2b" => format!("{}18{}", &w[..5], &w[7..13]),
        _ => w[..13].to_owned(),
    };
    let (Ok(n), Ok(key)) = (digits13.parse::<u64>(), w[13..].parse::<u64>()) else {
        return false;
    };
    digits13.bytes().all(|c| c.is_ascii_digit()) && w[13..].bytes().all(|c| c.is_ascii_digit()) && key == 97 - n % 97
}

/// `(+33|0033|0)[1-9]([ .-]?[0-9]{2}){4}` standing as a word of its own (no letter or
/// digit right before or after it, so hex pseudonyms do not count).
fn has_phone(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len()).any(|start| {
        (start == 0 || !b[start - 1].is_ascii_alphanumeric())
            && s.is_char_boundary(start)
            && msma_model::phone_tails(&s[start..])
                .any(|rest| rest.bytes().next().is_none_or(|c| !c.is_ascii_alphanumeric()))
    })
}

fn has_email(s: &str) -> bool {
    s.match_indices('@').any(|(i, _)| {
        let local = s[..i]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || "._%+-".contains(*c))
            .count();
        let domain: String = s[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || ".-".contains(*c))
            .collect();
        local > 0
            && domain
                .trim_end_matches('.')
                .rsplit_once('.')
                .is_some_and(|(h, tld)| !h.is_empty() && tld.len() >= 2)
    })
}

/// 11 digits starting with 10 and a valid Luhn key, as RPPS numbers are.
fn is_rpps(w: &str) -> bool {
    w.len() == 11 && w.starts_with("10") && w.bytes().all(|c| c.is_ascii_digit()) && luhn(w)
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = u32::from(c - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detectors() {
        let none = HashSet::new();
        assert_eq!(classify("185057800608491", &none), Some("nir"));
        assert_eq!(classify("1 85 05 78 006 084 91", &none), Some("nir"));
        assert_eq!(classify("185052A00608406", &none).is_some(), is_nir("185052A00608406"));
        assert_eq!(classify("185057800608490", &none), None, "wrong key");
        assert_eq!(classify("appelez le 06 12 34 56 78", &none), Some("phone"));
        assert_eq!(classify("+33612345678", &none), Some("phone"));
        assert_eq!(classify("a.b@example.fr", &none), Some("email"));
        assert_eq!(classify("10001234567", &none).is_some(), luhn("10001234567"));
        assert_eq!(classify("alcohol", &none), None);
        assert_eq!(classify("40-44", &none), None);
        let pseudo = "165414417fbfe331f58f39980f7d697c2c6db513d89465f1463de2796e73ad34";
        assert_eq!(classify(pseudo, &none), None);
        assert_eq!(classify("a0612345678b", &none), None, "inside a hex word");
        assert_eq!(classify("é 06 12 34 56 78 é", &none), Some("phone"), "non-ASCII around");
        assert_eq!(classify("éàü", &none), None);
        let known: HashSet<String> = ["P-000123".to_owned()].into();
        assert_eq!(classify("P-000123", &known), Some("known_identifier"));
        assert_eq!(classify("patient P-000123 seen", &known), Some("known_identifier"));
        assert_eq!(classify("P-0001234", &known), None);
    }

    #[test]
    fn nir_keys_with_corsica() {
        // 2A is computed as 19: key = 97 - (1850519006084 mod 97).
        let n: u64 = 1850519006084;
        let nir = format!("185052A006084{:02}", 97 - n % 97);
        assert!(is_nir(&nir));
        let n: u64 = 1850518006084;
        assert!(is_nir(&format!("185052B006084{:02}", 97 - n % 97)));
    }
}
