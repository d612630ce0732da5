//! `audit risk`: k-anonymity of a dataset over its quasi-identifiers, counted in
//! patients (distinct `patient_pseudonym`), l-diversity of its sensitive attributes,
//! and the generalisations that would reach k.

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int16Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use msma_sink::{Location, ZoneReader};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Quasi-identifiers by default, when the dataset has them (docs/SCHEMAS.md classes).
pub const DEFAULT_QUASI: &[&str] = &[
    "sex",
    "age_band",
    "departement",
    "region",
    "microstructure_pseudonym",
    "network_id",
];

#[derive(Debug, serde::Serialize)]
pub struct RiskReport {
    pub dataset: String,
    pub k: u64,
    pub quasi: Vec<String>,
    pub patients: u64,
    pub classes: u64,
    /// Patients in the smallest class: the k the dataset achieves.
    pub smallest_class: u64,
    pub classes_below_k: u64,
    pub patients_in_classes_below_k: u64,
    pub worst_classes: Vec<Class>,
    /// Sensitive attribute → smallest number of distinct values in a class (its l).
    pub l_diversity: BTreeMap<String, u64>,
    /// Each generalisation tried, and the k it reaches.
    pub generalisations: Vec<Generalisation>,
}

#[derive(Debug, serde::Serialize)]
pub struct Class {
    pub values: BTreeMap<String, String>,
    pub patients: u64,
}

#[derive(Debug, serde::Serialize)]
pub struct Generalisation {
    pub change: String,
    pub smallest_class: u64,
    pub patients_in_classes_below_k: u64,
    pub reaches_k: bool,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RiskError {
    #[error("no dataset {0} in the zone")]
    NoDataset(String),
    #[error("column {0} is in no file of the dataset")]
    NoColumn(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: {1}")]
    Parquet(String, parquet::errors::ParquetError),
}

/// One row: patient pseudonym, quasi values, sensitive values.
struct Row {
    patient: String,
    quasi: Vec<String>,
    sensitive: Vec<String>,
}

pub fn risk(
    zone: &Location,
    dataset: &str,
    k: u64,
    quasi: Option<Vec<String>>,
    sensitive: Vec<String>,
) -> Result<RiskReport, RiskError> {
    let reader = ZoneReader::open(zone).map_err(|e| RiskError::Io(dataset.to_owned(), crate::scan::unreadable(e)))?;
    let files: Vec<String> = block(dataset, reader.files())?
        .into_iter()
        .filter(|f| f.starts_with(&format!("{dataset}/")) && f.ends_with(".parquet"))
        .collect();
    if files.is_empty() {
        return Err(RiskError::NoDataset(dataset.to_owned()));
    }
    let available = columns_of(&reader, &files)?;
    let quasi: Vec<String> = quasi.unwrap_or_else(|| {
        DEFAULT_QUASI
            .iter()
            .filter(|c| available.contains(**c))
            .map(|c| c.to_string())
            .collect()
    });
    for c in quasi.iter().chain(&sensitive) {
        if !available.contains(c) {
            return Err(RiskError::NoColumn(c.clone()));
        }
    }
    let rows = read_rows(&reader, &files, &quasi, &sensitive)?;
    let classes = classes(&rows, |r| r.quasi.clone());
    let patients: HashSet<&str> = rows.iter().map(|r| r.patient.as_str()).collect();
    let mut sizes: Vec<(&Vec<String>, u64)> = classes.iter().map(|(key, c)| (key, c.patients.len() as u64)).collect();
    sizes.sort_by_key(|(key, n)| (*n, (*key).clone()));
    let below: Vec<&(&Vec<String>, u64)> = sizes.iter().filter(|(_, n)| *n < k).collect();
    let worst_classes = sizes
        .iter()
        .take(10)
        .map(|(key, n)| Class {
            values: quasi.iter().cloned().zip(key.iter().cloned()).collect(),
            patients: *n,
        })
        .collect();
    let l_diversity = sensitive
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let l = classes.values().map(|c| c.sensitive[i].len() as u64).min().unwrap_or(0);
            (name.clone(), l)
        })
        .collect();
    Ok(RiskReport {
        dataset: dataset.to_owned(),
        k,
        patients: patients.len() as u64,
        classes: classes.len() as u64,
        smallest_class: sizes.first().map_or(0, |(_, n)| *n),
        classes_below_k: below.len() as u64,
        patients_in_classes_below_k: below.iter().map(|(_, n)| n).sum(),
        worst_classes,
        l_diversity,
        generalisations: generalisations(&rows, &quasi, k),
        quasi,
    })
}

struct ClassStats {
    patients: HashSet<String>,
    sensitive: Vec<HashSet<String>>,
}

fn classes(rows: &[Row], key: impl Fn(&Row) -> Vec<String>) -> HashMap<Vec<String>, ClassStats> {
    let mut out: HashMap<Vec<String>, ClassStats> = HashMap::new();
    for r in rows {
        let c = out.entry(key(r)).or_insert_with(|| ClassStats {
            patients: HashSet::new(),
            sensitive: vec![HashSet::new(); r.sensitive.len()],
        });
        c.patients.insert(r.patient.clone());
        for (set, v) in c.sensitive.iter_mut().zip(&r.sensitive) {
            set.insert(v.clone());
        }
    }
    out
}

/// A change to the quasi-identifier values of a row.
type Step = Box<dyn Fn(&mut Vec<String>)>;

/// Tries, one at a time and then together, the usual generalisations of the quasi
/// identifiers present: wider age bands, département to region, dropping the
/// microstructure or the network.
fn generalisations(rows: &[Row], quasi: &[String], k: u64) -> Vec<Generalisation> {
    let pos = |name: &str| quasi.iter().position(|q| q == name);
    let mut steps: Vec<(String, Step)> = Vec::new();
    if let Some(i) = pos("age_band") {
        for width in [10u32, 20] {
            steps.push((
                format!("age bands of {width} years"),
                Box::new(move |v: &mut Vec<String>| v[i] = widen(&v[i], width)),
            ));
        }
    }
    if let Some(i) = pos("departement") {
        steps.push((
            "département → region".into(),
            Box::new(move |v: &mut Vec<String>| v[i] = "*".into()),
        ));
    }
    if let Some(i) = pos("microstructure_pseudonym") {
        steps.push((
            "microstructure dropped".into(),
            Box::new(move |v: &mut Vec<String>| v[i] = "*".into()),
        ));
    }
    if let Some(i) = pos("network_id") {
        steps.push((
            "network dropped".into(),
            Box::new(move |v: &mut Vec<String>| v[i] = "*".into()),
        ));
    }
    let mut out = Vec::new();
    let measure = |f: &dyn Fn(&mut Vec<String>)| {
        let classes = classes(rows, |r| {
            let mut v = r.quasi.clone();
            f(&mut v);
            v
        });
        let sizes: Vec<u64> = classes.values().map(|c| c.patients.len() as u64).collect();
        (
            sizes.iter().copied().min().unwrap_or(0),
            sizes.iter().filter(|n| **n < k).sum::<u64>(),
        )
    };
    for (name, f) in &steps {
        let (smallest, below) = measure(f.as_ref());
        out.push(Generalisation {
            change: name.clone(),
            smallest_class: smallest,
            patients_in_classes_below_k: below,
            reaches_k: smallest >= k,
        });
    }
    // Cumulative: each step on top of the previous ones.
    for n in 2..=steps.len() {
        let all = |v: &mut Vec<String>| steps[..n].iter().for_each(|(_, f)| f(v));
        let (smallest, below) = measure(&all);
        let change = steps[..n]
            .iter()
            .map(|(s, _)| s.as_str())
            .collect::<Vec<_>>()
            .join(" + ");
        out.push(Generalisation {
            change,
            smallest_class: smallest,
            patients_in_classes_below_k: below,
            reaches_k: smallest >= k,
        });
    }
    out
}

/// "40-44" to the band of `width` years holding it ("40-49"); open bands stay.
fn widen(band: &str, width: u32) -> String {
    match band.split_once('-').and_then(|(lo, _)| lo.parse::<u32>().ok()) {
        Some(lo) => {
            let start = lo / width * width;
            format!("{start}-{}", start + width - 1)
        }
        None => band.to_owned(),
    }
}

/// Runs one read of the zone, its error named after `what`.
fn block<T>(what: &str, read: impl Future<Output = msma_sink::Result<T>>) -> Result<T, RiskError> {
    let io = |e| RiskError::Io(what.to_owned(), crate::scan::unreadable(e));
    msma_sink::block_on(read).map_err(io)?.map_err(io)
}

fn columns_of(reader: &ZoneReader, files: &[String]) -> Result<HashSet<String>, RiskError> {
    let mut cols: HashSet<String> = ["network_id".to_owned(), "year".to_owned()].into();
    for rel in files {
        let f = block(rel, reader.parquet(rel))?;
        let b = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| RiskError::Parquet(rel.clone(), e))?;
        cols.extend(b.schema().fields().iter().map(|f| f.name().clone()));
    }
    Ok(cols)
}

fn read_rows(
    reader: &ZoneReader,
    files: &[String],
    quasi: &[String],
    sensitive: &[String],
) -> Result<Vec<Row>, RiskError> {
    let mut rows = Vec::new();
    for rel in files {
        let partition: HashMap<&str, &str> = rel.split('/').filter_map(|part| part.split_once('=')).collect();
        let f = block(rel, reader.parquet(rel))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| RiskError::Parquet(rel.clone(), e))?;
        let mut wanted: Vec<&str> = vec!["patient_pseudonym"];
        wanted.extend(quasi.iter().chain(sensitive).map(String::as_str));
        let mask = ProjectionMask::columns(builder.parquet_schema(), wanted.iter().copied());
        let reader = builder
            .with_projection(mask)
            .build()
            .map_err(|e| RiskError::Parquet(rel.clone(), e))?;
        for batch in reader {
            let batch = batch.map_err(|e| RiskError::Parquet(rel.clone(), e.into()))?;
            let col = |name: &str| batch.column_by_name(name).cloned();
            let patients = col("patient_pseudonym");
            let get = |name: &str, i: usize| match col(name) {
                Some(c) => cell(&c, i),
                None => partition.get(name).map(|v| v.to_string()).unwrap_or_default(),
            };
            for i in 0..batch.num_rows() {
                rows.push(Row {
                    patient: patients
                        .as_ref()
                        .map(|c| cell(c, i))
                        .unwrap_or_else(|| format!("{rel}#{i}")),
                    quasi: quasi.iter().map(|q| get(q, i)).collect(),
                    sensitive: sensitive.iter().map(|s| get(s, i)).collect(),
                });
            }
        }
    }
    Ok(rows)
}

fn cell(c: &ArrayRef, i: usize) -> String {
    if c.is_null(i) {
        return "null".into();
    }
    match c.data_type() {
        DataType::Utf8 => c.as_string::<i32>().value(i).to_owned(),
        DataType::Boolean => c.as_boolean().value(i).to_string(),
        DataType::Int16 => c.as_primitive::<Int16Type>().value(i).to_string(),
        DataType::Int32 => c.as_primitive::<Int32Type>().value(i).to_string(),
        DataType::Int64 => c.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::Date32 => c.as_primitive::<Date32Type>().value(i).to_string(),
        DataType::List(_) => {
            let v = c.as_list::<i32>().value(i);
            (0..v.len()).map(|j| cell(&v, j)).collect::<Vec<_>>().join("|")
        }
        other => format!("{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_widen() {
        assert_eq!(widen("40-44", 10), "40-49");
        assert_eq!(widen("45-49", 20), "40-59");
        assert_eq!(widen("75+", 10), "75+");
    }
}
