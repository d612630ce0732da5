//! `msma report`: the researchers' reports, with disclosure control, as HTML with SVG
//! charts, CSV or JSON.

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use msma_report::{Filter, Format, Settings};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Subcommand)]
pub enum Command {
    /// Women and men followed: per year, sex ratio by region, age, income and activity,
    /// first reason for care, products at the origin of care.
    Gender {
        #[command(flatten)]
        common: Common,
    },
    /// Active file, consultations per patient-year by professional, synthesis meetings,
    /// patients eligible for the yearly flat rate and its amount, by network and region.
    Activity {
        #[command(flatten)]
        common: Common,
        /// The yearly flat rate per eligible patient, in euros.
        #[arg(long, default_value_t = 528.0)]
        flat_rate_eur: f64,
    },
}

#[derive(clap::Args)]
pub struct Common {
    /// The research zone (the --out of `msma ingest`): a folder, or s3://bucket/prefix
    /// with credentials from AWS_* variables.
    #[arg(long, value_parser = crate::LocationArg)]
    data: msma_sink::Location,
    /// Only this network (network_id).
    #[arg(long)]
    network: Option<String>,
    /// Only patients living in this region (INSEE code, e.g. 44 for Grand Est).
    #[arg(long)]
    region: Option<String>,
    /// The year of the one-year views (default: the latest with data).
    #[arg(long)]
    year: Option<i32>,
    /// Where to write the report; `-` for standard output.
    #[arg(long)]
    out: PathBuf,
    /// html (tables and charts), or csv or json (the tables) [default: from the --out
    /// extension, else html].
    #[arg(long, value_enum)]
    format: Option<ReportFormat>,
    /// Counts below this, before or after their noise, are masked [default: 11, or the
    /// study policy's min_cell_count if higher]. The policy's min_cell_count is the floor.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    threshold: Option<u64>,
    /// Compute on the zone as it was at this ledger record (the latest by default).
    #[arg(long)]
    as_of: Option<u64>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Html,
    Csv,
    Json,
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    let started = Instant::now();
    let (common, flat_rate_eur) = match &cmd {
        Command::Gender { common } => (common, 528.0),
        Command::Activity { common, flat_rate_eur } => (common, *flat_rate_eur),
    };
    if let Some(region) = &common.region
        && !(region.len() == 2 && region.bytes().all(|b| b.is_ascii_digit()))
    {
        anyhow::bail!("--region {region}: expected a two-digit INSEE region code, e.g. 44 for Grand Est");
    }
    let format = format(common.format, &common.out);
    let report = crate::query::runtime()?.block_on(async {
        let catalog = msma_query::Catalog::open(&common.data, common.as_of, msma_query::DEFAULT_MEMORY_LIMIT).await?;
        let settings = Settings {
            filter: Filter {
                network: common.network.clone(),
                region: common.region.clone(),
            },
            year: common.year,
            threshold: threshold(common.threshold, &catalog)?,
            flat_rate_eur,
        };
        let built = match cmd {
            Command::Gender { .. } => msma_report::gender::build(&catalog, &settings).await,
            Command::Activity { .. } => msma_report::activity::build(&catalog, &settings).await,
        };
        anyhow::Ok(built)
    })?;
    let report = match report {
        Err(e @ msma_report::Error::EmptyScope(_)) => {
            eprintln!("msma: warning: {e}");
            return Ok(ExitCode::from(1));
        }
        other => other?,
    };
    let text = report.render(format);
    if common.out == Path::new("-") {
        print!("{text}");
    } else {
        write_atomically(&common.out, text.as_bytes())?;
        let s = &report.suppressed;
        eprintln!(
            "report {}: {} tables, counts perturbed by their cell keys, {} below {} masked, {} derived figures \
             hidden; written to {} in {:.2} s",
            report.kind,
            report.tables.len(),
            s.small,
            report.settings.threshold,
            s.derived,
            common.out.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The threshold asked for, never below the floor of the study's policy (recorded in
/// the zone's ledger); by default the CASD rule's 11, or that floor if higher.
fn threshold(asked: Option<u64>, catalog: &msma_query::Catalog) -> Result<u64> {
    let policy: msma_pseudo::Policy = match &catalog.snapshot.identity {
        Some(identity) => serde_json::from_value(identity.policy.clone())
            .context("the zone's ledger records a study policy this msma cannot read")?,
        None => msma_pseudo::Policy::default(),
    };
    let floor = policy.min_cell_count;
    match asked {
        Some(t) if t < floor => anyhow::bail!(
            "--threshold: below the floor of the study's policy (its min_cell_count, 11 by the CASD rule unless \
             the policy says otherwise)"
        ),
        Some(t) => Ok(t),
        None => Ok(floor.max(Settings::default().threshold)),
    }
}

fn format(chosen: Option<ReportFormat>, out: &Path) -> Format {
    match chosen {
        Some(ReportFormat::Html) => Format::Html,
        Some(ReportFormat::Csv) => Format::Csv,
        Some(ReportFormat::Json) => Format::Json,
        None => match out.extension().and_then(|e| e.to_str()) {
            Some("csv") => Format::Csv,
            Some("json") => Format::Json,
            _ => Format::Html,
        },
    }
}

/// Readers never see half a report: write beside it, then rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().context("--out names no file")?.to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}
