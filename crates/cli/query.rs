//! `msma query`: SQL over a research zone's datasets, as of one ledger record.

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use msma_query::output::{self, Format};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The research zone (the --out of `msma ingest`): a folder, or s3://bucket/prefix
    /// with credentials from AWS_* variables.
    #[arg(long, value_parser = crate::LocationArg)]
    data: msma_sink::Location,
    /// One SQL statement. Each dataset is a table named after its event type
    /// (`SHOW TABLES`, `DESCRIBE consultation`), with the columns network_id and year.
    sql: String,
    #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
    format: QueryFormat,
    /// Write the result here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Read the zone as it was at this ledger record (the latest by default), so a
    /// result can be reproduced later on exactly the same data.
    #[arg(long)]
    as_of: Option<u64>,
    /// Memory a query may hold, in MiB, before it fails (sorts and joins spill first).
    #[arg(long, default_value_t = 1024)]
    memory_limit_mb: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum QueryFormat {
    /// An aligned table, for people.
    Table,
    Csv,
    /// A JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    Parquet,
}

impl From<QueryFormat> for Format {
    fn from(f: QueryFormat) -> Self {
        match f {
            QueryFormat::Table => Format::Table,
            QueryFormat::Csv => Format::Csv,
            QueryFormat::Json => Format::Json,
            QueryFormat::Ndjson => Format::Ndjson,
            QueryFormat::Parquet => Format::Parquet,
        }
    }
}

pub fn run(a: Args) -> Result<ExitCode> {
    let format = Format::from(a.format);
    if format == Format::Parquet && a.out.is_none() && std::io::stdout().is_terminal() {
        bail!("--format parquet writes binary: give --out FILE or redirect standard output");
    }
    runtime()?.block_on(async {
        let catalog = msma_query::Catalog::open(&a.data, a.as_of, a.memory_limit_mb << 20).await?;
        let df = catalog.sql(&a.sql).await?;
        match &a.out {
            Some(path) => {
                let mut file = std::io::BufWriter::new(
                    std::fs::File::create(path).with_context(|| format!("{}: cannot create", path.display()))?,
                );
                let rows = output::write(df, format, &mut file).await?;
                file.flush()
                    .with_context(|| format!("{}: cannot write", path.display()))?;
                eprintln!("{rows} rows written to {}", path.display());
            }
            None => {
                let mut out = std::io::BufWriter::new(std::io::stdout());
                output::write(df, format, &mut out).await?;
                out.flush()?;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the query engine's threads")
}
