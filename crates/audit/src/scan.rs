//! `audit scan`: reads every value of every column of every dataset file, every folder
//! and file name of the zone (partition values among them), and every ledger record,
//! and reports what looks like a direct identifier: a NIR/INS with a valid key (2A/2B
//! handled), a French phone number, an email address, an RPPS number with a valid Luhn
//! key, in a partition value also a date, a postcode or an ADELI/FINESS number
//! (msma_schema::shapes, the detectors ingest checks codes with), or any raw identifier
//! from a `--known` list. Findings name the place, never the value: a name that holds
//! one shows as `…` in every place reported.

use crate::verify::Problem;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use msma_schema::shapes;
use msma_sink::{LOG_DIR, Location, META_DIR, ZoneReader};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::{BTreeSet, HashSet};

/// One value that looks like an identifier.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub dataset: String,
    pub file: String,
    /// The column; for a name, `folder name` or `file name`; in a ledger record, the
    /// field.
    pub column: String,
    /// Row within the file, from 0 (0 for names and records).
    pub row: u64,
    pub kind: &'static str,
}

/// What a scan read, and what it found.
#[derive(Debug, Default, serde::Serialize)]
pub struct ScanReport {
    pub files: u64,
    pub values: u64,
    /// Folder and file names read.
    pub names: u64,
    /// Ledger records read.
    pub records: u64,
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

/// Scans the names, the ledger and every `.parquet` file of the zone. `known` holds raw
/// identifiers of the source system, found when a value or a word of it equals one.
pub fn scan(zone: &Location, known: &HashSet<String>) -> Result<ScanReport, ScanError> {
    let reader = ZoneReader::open(zone).map_err(Problem::reading)?;
    msma_sink::block_on(scan_zone(&reader, known)).map_err(Problem::reading)?
}

async fn scan_zone(reader: &ZoneReader, known: &HashSet<String>) -> Result<ScanReport, ScanError> {
    let mut report = ScanReport::default();
    let files = reader.files().await.map_err(Problem::reading)?;
    scan_names(&files, known, &mut report);
    scan_ledger(reader, known, &mut report).await?;
    // Retired files wait under _msma/retired/ for vacuum: their rows are scanned too,
    // as listed (a ledger edited to hide one hides nothing).
    let retired: Vec<(String, String)> = (reader.retired_files().await.map_err(Problem::reading)?.into_iter())
        .map(|at| {
            let rel = at.strip_prefix(&msma_sink::retired_path("")).unwrap_or(&at).to_owned();
            (at, rel)
        })
        .collect();
    let live = files.iter().map(|f| (f.clone(), f.clone()));
    for (at, rel) in live.chain(retired).filter(|(_, f)| f.ends_with(".parquet")) {
        let (rel, shown) = (&at, shown_path(&rel, known));
        let file = reader
            .parquet(rel)
            .await
            .map_err(|e| ScanError::Io(shown.clone(), unreadable(e)))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|e| ScanError::Parquet(shown.clone(), e))?;
        let dataset = shown.split('/').next().unwrap_or_default().to_owned();
        let mut base_row = 0u64;
        for batch in reader {
            let batch = batch.map_err(|e| ScanError::Parquet(shown.clone(), e.into()))?;
            for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
                let mut check = |row: usize, value: &str| {
                    report.values += 1;
                    if let Some(kind) = classify(value, known) {
                        report.findings.push(Finding {
                            dataset: dataset.clone(),
                            file: shown.clone(),
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

/// The I/O error behind a read, without the path the sink's error names (a path may
/// hold an identifier: findings show it redacted).
pub(crate) fn unreadable(e: msma_sink::Error) -> std::io::Error {
    match e {
        msma_sink::Error::Io { source, .. } => source,
        _ => std::io::Error::other("cannot read the file"),
    }
}

/// Every folder and file name on the way to the zone's files, each once.
fn scan_names(files: &[String], known: &HashSet<String>, report: &mut ScanReport) {
    let mut seen = BTreeSet::new();
    for rel in files {
        let parts: Vec<&str> = rel.split('/').collect();
        for i in 0..parts.len() {
            if !seen.insert(parts[..=i].join("/")) {
                continue;
            }
            report.names += 1;
            if let Some(kind) = classify_name(parts[i], known) {
                report.findings.push(Finding {
                    dataset: shown_part(parts[0], known),
                    file: shown_path(&parts[..=i].join("/"), known),
                    column: if i + 1 == parts.len() {
                        "file name"
                    } else {
                        "folder name"
                    }
                    .to_owned(),
                    row: 0,
                    kind,
                });
            }
        }
    }
}

/// Every string of every ledger record (and every name in a path it holds). A record
/// that is not JSON is read as one string: it is scanned, not verified (`audit verify`).
async fn scan_ledger(reader: &ZoneReader, known: &HashSet<String>, report: &mut ScanReport) -> Result<(), ScanError> {
    for name in reader.log_entries().await.map_err(Problem::reading)? {
        let rel = format!("{META_DIR}/{LOG_DIR}/{name}");
        let file = shown_path(&rel, known);
        let text = match reader.read(&rel).await {
            Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
                let invalid =
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "stream did not contain valid UTF-8");
                ScanError::Io(file.clone(), invalid)
            })?,
            Err(msma_sink::Error::Io { source, .. }) => return Err(ScanError::Io(file, source)),
            Err(e) => return Err(Problem::reading(e).into()),
        };
        report.records += 1;
        let value = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        let mut found = Vec::new();
        each_string(&value, &mut String::new(), &mut |field, s| {
            report.values += 1;
            let kind = classify(s, known).or_else(|| s.split('/').find_map(|part| classify_name(part, known)));
            if let Some(kind) = kind {
                found.push((field.to_owned(), kind));
            }
        });
        for (column, kind) in found {
            report.findings.push(Finding {
                dataset: META_DIR.to_owned(),
                file: file.clone(),
                column,
                row: 0,
                kind,
            });
        }
    }
    Ok(())
}

/// Calls `f(field, s)` for every string (and number, as text) in `v`; `field` is the
/// path of keys, those that are not msma's own shape (snake_case) shown as `…`.
fn each_string(v: &serde_json::Value, field: &mut String, f: &mut dyn FnMut(&str, &str)) {
    use serde_json::Value;
    match v {
        Value::String(s) => f(field, s),
        Value::Number(n) => f(field, &n.to_string()),
        Value::Array(items) => items.iter().for_each(|item| each_string(item, field, f)),
        Value::Object(map) => {
            for (key, item) in map {
                let len = field.len();
                let plain = key.len() <= 40
                    && key
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(if plain { key } else { "…" });
                f(field, key); // keys are scanned too: a record may be forged
                each_string(item, field, f);
                field.truncate(len);
            }
        }
        _ => {}
    }
}

/// What kind of identifier a folder or file name holds, if any: a partition value
/// (`key=value`) is a code, and holds no date, postcode or ADELI/FINESS number either.
fn classify_name(name: &str, known: &HashSet<String>) -> Option<&'static str> {
    if !known.is_empty() && shapes::words(name).any(|w| known.contains(w)) {
        return Some("known_identifier");
    }
    match name.split_once('=') {
        Some((_, value)) => classify(value, known).or_else(|| shapes::in_code(value)),
        None => classify(name, known),
    }
}

/// A name as findings show it: `…` in place of one that holds an identifier (the key
/// of a partition kept).
fn shown_part(name: &str, known: &HashSet<String>) -> String {
    match (classify_name(name, known), name.split_once('=')) {
        (None, _) => name.to_owned(),
        (Some(_), Some((key, _))) if key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') => format!("{key}=…"),
        (Some(_), _) => "…".to_owned(),
    }
}

fn shown_path(rel: &str, known: &HashSet<String>) -> String {
    rel.split('/')
        .map(|p| shown_part(p, known))
        .collect::<Vec<_>>()
        .join("/")
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
    shapes::in_text(value)
}

/// Parts of a value between white space and punctuation, keeping `- _ . @ +` inside
/// (identifiers such as `P-000123` or emails stay whole).
fn phrases(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c.is_whitespace() || ",;:\"'()[]{}|/<>".contains(c))
        .filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_known_identifiers() {
        let none = HashSet::new();
        assert_eq!(classify("185057800608491", &none), Some("nir"));
        assert_eq!(classify("40-44", &none), None);
        let known: HashSet<String> = ["P-000123".to_owned()].into();
        assert_eq!(classify("P-000123", &known), Some("known_identifier"));
        assert_eq!(classify("patient P-000123 seen", &known), Some("known_identifier"));
        assert_eq!(classify("P-0001234", &known), None);
    }

    #[test]
    fn names() {
        let none = HashSet::new();
        assert_eq!(classify_name("network_id=75011", &none), Some("postcode"));
        assert_eq!(classify_name("network_id=1985-03-14", &none), Some("date"));
        assert_eq!(classify_name("network_id=RMS-PACA", &none), None);
        assert_eq!(classify_name("year=2024", &none), None);
        assert_eq!(classify_name("part-v1-3f9a0b12c4d5-L1-50000-0.parquet", &none), None);
        assert_eq!(classify_name("call-0612345678.parquet", &none), Some("phone"));
        let known: HashSet<String> = ["SANTONI".to_owned()].into();
        assert_eq!(
            classify_name("export_SANTONI_Jean.parquet", &known),
            Some("known_identifier")
        );
        assert_eq!(
            shown_path("consultation/network_id=176051330326187/year=2021/a.parquet", &none),
            "consultation/network_id=…/year=2021/a.parquet"
        );
    }
}
