//! Reads a research zone back (with the Parquet reader, as a researcher would) and
//! summarises it: rows per dataset, patients followed per year by sex.

use anyhow::{Context, Result};
use arrow_array::{Array, StringArray};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

pub struct Summary {
    pub rows_by_dataset: BTreeMap<String, u64>,
    /// year → sex → patients with at least one event that year.
    pub patients: BTreeMap<i32, BTreeMap<String, u64>>,
}

pub fn summarise(zone: &Path) -> Result<Summary> {
    let mut rows_by_dataset = BTreeMap::new();
    let mut sex_of: HashMap<String, String> = HashMap::new();
    let mut seen: HashSet<(i32, String)> = HashSet::new();
    for (dataset, year, file) in parquet_files(zone)? {
        let open = || std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()));
        let builder = ParquetRecordBatchReaderBuilder::try_new(open()?)?;
        *rows_by_dataset.entry(dataset.clone()).or_default() += builder.metadata().file_metadata().num_rows() as u64;
        let wanted: &[&str] = if dataset == "patient_inclusion" {
            &["patient_pseudonym", "sex"]
        } else {
            &["patient_pseudonym"]
        };
        let mask = ProjectionMask::columns(builder.parquet_schema(), wanted.iter().copied());
        for batch in builder.with_projection(mask).build()? {
            let batch = batch?;
            let column = |name| {
                batch
                    .column_by_name(name)
                    .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
            };
            let patients = column("patient_pseudonym").context("patient_pseudonym column")?;
            let sexes = column("sex");
            for i in 0..patients.len() {
                let p = patients.value(i).to_owned();
                if let Some(s) = &sexes {
                    let sex = if s.is_null(i) { "U" } else { s.value(i) };
                    sex_of.insert(p.clone(), sex.to_owned());
                }
                seen.insert((year, p));
            }
        }
    }
    let mut patients: BTreeMap<i32, BTreeMap<String, u64>> = BTreeMap::new();
    for (year, p) in seen {
        let sex = sex_of
            .get(&p)
            .cloned()
            .unwrap_or_else(|| "inclusion rejected".to_owned());
        *patients.entry(year).or_default().entry(sex).or_default() += 1;
    }
    Ok(Summary {
        rows_by_dataset,
        patients,
    })
}

/// Every dataset file: (dataset, year from the Hive path, path).
fn parquet_files(zone: &Path) -> Result<Vec<(String, i32, PathBuf)>> {
    let files = msma_audit::data_files(zone)?;
    Ok(files
        .into_iter()
        .filter(|rel| rel.ends_with(".parquet"))
        .map(|rel| {
            let dataset = rel.split('/').next().unwrap_or_default().to_owned();
            let year = rel
                .split('/')
                .find_map(|part| part.strip_prefix("year=")?.parse().ok())
                .unwrap_or(0);
            (dataset, year, zone.join(&rel))
        })
        .collect())
}
