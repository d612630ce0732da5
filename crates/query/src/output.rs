//! Query results out: an aligned table for people, CSV, JSON or NDJSON for scripts,
//! Parquet for tools. All but the table stream batch by batch, so a large result does
//! not have to fit in memory.

use crate::{Error, Result};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::{csv, json};
use datafusion::prelude::DataFrame;
use futures_util::StreamExt;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
    Ndjson,
    Parquet,
}

impl Format {
    pub const NAMES: &[&str] = &["table", "csv", "json", "ndjson", "parquet"];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "table" => Self::Table,
            "csv" => Self::Csv,
            "json" => Self::Json,
            "ndjson" => Self::Ndjson,
            "parquet" => Self::Parquet,
            _ => return None,
        })
    }
}

/// Runs `df` and writes its result to `out`; returns the number of rows.
pub async fn write(df: DataFrame, format: Format, out: &mut (dyn Write + Send)) -> Result<u64> {
    let schema = df.schema().as_arrow().clone();
    let mut stream = df.execute_stream().await?;
    let mut rows = 0u64;
    let mut sink = Sink::new(format, out, &schema)?;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        sink.write(&batch)?;
    }
    if rows == 0 && format == Format::Csv {
        // An empty result still has its header line.
        sink.write(&RecordBatch::new_empty(std::sync::Arc::new(schema.clone())))?;
    }
    sink.finish(&schema)?;
    Ok(rows)
}

enum Sink<'a> {
    Table(&'a mut (dyn Write + Send), Vec<RecordBatch>),
    Csv(csv::Writer<&'a mut (dyn Write + Send)>),
    Json(json::ArrayWriter<&'a mut (dyn Write + Send)>),
    Ndjson(json::LineDelimitedWriter<&'a mut (dyn Write + Send)>),
    Parquet(parquet::arrow::ArrowWriter<&'a mut (dyn Write + Send)>),
}

impl<'a> Sink<'a> {
    fn new(
        format: Format,
        out: &'a mut (dyn Write + Send),
        schema: &datafusion::arrow::datatypes::Schema,
    ) -> Result<Self> {
        Ok(match format {
            Format::Table => Self::Table(out, Vec::new()),
            Format::Csv => Self::Csv(csv::WriterBuilder::new().with_header(true).build(out)),
            Format::Json => Self::Json(json::ArrayWriter::new(out)),
            Format::Ndjson => Self::Ndjson(json::LineDelimitedWriter::new(out)),
            Format::Parquet => {
                let props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
                    .build();
                Self::Parquet(
                    parquet::arrow::ArrowWriter::try_new(out, std::sync::Arc::new(schema.clone()), Some(props))
                        .map_err(Error::Parquet)?,
                )
            }
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            Self::Table(_, batches) => batches.push(batch.clone()),
            Self::Csv(w) => w.write(batch).map_err(Error::Encode)?,
            Self::Json(w) => w.write(batch).map_err(Error::Encode)?,
            Self::Ndjson(w) => w.write(batch).map_err(Error::Encode)?,
            Self::Parquet(w) => w.write(batch).map_err(Error::Parquet)?,
        }
        Ok(())
    }

    fn finish(self, schema: &datafusion::arrow::datatypes::Schema) -> Result<()> {
        match self {
            Self::Table(out, batches) => {
                let table = if batches.is_empty() {
                    let empty = RecordBatch::new_empty(std::sync::Arc::new(schema.clone()));
                    datafusion::arrow::util::pretty::pretty_format_batches(&[empty])
                } else {
                    datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                }
                .map_err(Error::Encode)?;
                writeln!(out, "{table}").map_err(Error::Write)?;
            }
            Self::Csv(w) => drop(w.into_inner()),
            Self::Json(mut w) => w.finish().map_err(Error::Encode)?,
            Self::Ndjson(mut w) => w.finish().map_err(Error::Encode)?,
            Self::Parquet(w) => drop(w.close().map_err(Error::Parquet)?),
        }
        Ok(())
    }
}
