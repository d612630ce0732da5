//! Reads a research zone back with the Parquet reader, as a researcher would: rows per
//! dataset.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Rows per dataset, from the files' footers.
pub fn rows_by_dataset(zone: &Path) -> Result<BTreeMap<String, u64>> {
    let mut rows = BTreeMap::new();
    for (dataset, file) in parquet_files(zone)? {
        let open = std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
        let reader = parquet::file::reader::SerializedFileReader::new(open)?;
        *rows.entry(dataset).or_default() += parquet::file::reader::FileReader::metadata(&reader)
            .file_metadata()
            .num_rows() as u64;
    }
    Ok(rows)
}

/// Every dataset file: (dataset, path).
fn parquet_files(zone: &Path) -> Result<Vec<(String, PathBuf)>> {
    let files = msma_audit::data_files(zone)?;
    Ok(files
        .into_iter()
        .filter(|rel| rel.ends_with(".parquet"))
        .map(|rel| {
            let dataset = rel.split('/').next().unwrap_or_default().to_owned();
            (dataset, zone.join(&rel))
        })
        .collect())
}
