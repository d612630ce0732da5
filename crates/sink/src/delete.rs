//! Rows of one value of a text column found and left out, by a rewrite
//! ([`Zone::rewrite`]): how a patient's rows leave the zone when they withdraw.

use crate::log::{CommitRecord, FileEntry, Source};
use crate::read::{ZoneReader, block_on};
use crate::zone::Zone;
use crate::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::{Array, BooleanArray, RecordBatch};
use arrow_schema::ArrowError;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::Path;

impl Zone {
    /// Rewrites the live files under the Hive partition `partition` (such as
    /// `network_id=RMS-ALSACE`) whose text column `column` holds `value`, without those
    /// rows, in one commit of `source`; when no file holds it, the commit is made only
    /// if `always`. The number of files rewritten, and the record.
    pub fn delete(
        &mut self,
        partition: &str,
        column: &str,
        value: &str,
        source: Source,
        always: bool,
    ) -> Result<Option<(usize, CommitRecord)>> {
        self.refresh()?;
        let reader = ZoneReader::open(self.location())?;
        let part = format!("/{partition}/");
        let files: Vec<FileEntry> = (self.state.files.values())
            .filter(|f| f.path.contains(&part))
            .cloned()
            .collect();
        let mut holding = Vec::new();
        for f in files {
            if holds(&reader, &f, column, value).map_err(|e| self.retired_meanwhile(e, std::slice::from_ref(&f)))? {
                holding.push(f);
            }
        }
        if holding.is_empty() && !always {
            return Ok(None);
        }
        let keep = |batch: &RecordBatch| -> std::result::Result<BooleanArray, ArrowError> {
            let cells = batch
                .column_by_name(column)
                .ok_or_else(|| ArrowError::SchemaError(format!("no column {column}")))?
                .as_string_opt::<i32>()
                .ok_or_else(|| ArrowError::SchemaError(format!("column {column} is not text")))?;
            Ok(cells.iter().map(|v| Some(v != Some(value))).collect())
        };
        let record = self.rewrite(&holding, Some(&keep), false, source)?;
        Ok(Some((holding.len(), record)))
    }
}

/// Whether `file` holds `value` in its text column `column`: that column alone is read;
/// [`Error::Missing`] when the file is not in the zone.
fn holds(reader: &ZoneReader, file: &FileEntry, column: &str, value: &str) -> Result<bool> {
    let parquet = |e| Error::parquet(Path::new(&file.path), e);
    let bytes = block_on(reader.parquet(&file.path))??;
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(parquet)?;
    let Some(index) = builder.schema().fields().iter().position(|f| f.name() == column) else {
        return Ok(false);
    };
    let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
    for batch in builder.with_projection(mask).build().map_err(parquet)? {
        let batch = batch.map_err(|e| parquet(e.into()))?;
        if let Some(cells) = batch.column(0).as_string_opt::<i32>()
            && (0..cells.len()).any(|i| cells.is_valid(i) && cells.value(i) == value)
        {
            return Ok(true);
        }
    }
    Ok(false)
}
