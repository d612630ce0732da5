//! `msma compact`: the small files of each partition rewritten into one, and the dedup
//! index's runs merged, in one commit (msma_sink::Zone::compact). The zone's identity
//! comes from its ledger: no key is needed, nothing is pseudonymised again.

use anyhow::{Context, Result};
use msma_sink::{Location, Zone, ZoneReader};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The research zone: a folder, or an object store prefix such as s3://bucket/prefix.
    #[arg(long, value_parser = crate::LocationArg)]
    data: Location,
    /// Compact the partitions (dataset, network, year) that hold this many files or
    /// more, and the dedup index once it has this many runs.
    #[arg(long, default_value_t = msma_sink::COMPACT_MIN_FILES)]
    min_files: usize,
}

pub fn run(a: Args) -> Result<ExitCode> {
    match compact(&a.data, a.min_files)? {
        Some(done) if done.record.is_some() => {
            println!(
                "compacted {} files into {} in {} partitions; {} runs of the dedup index into one",
                done.files_before, done.files_after, done.partitions, done.runs_before
            );
            if let Some(r) = &done.record {
                println!("record {} retires {} files", r.seq, r.retired.len());
            }
        }
        _ => println!(
            "nothing to compact in {}: no partition holds {} files",
            a.data, a.min_files
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Compacts the zone at `location` (`None` when it has no record yet).
pub fn compact(location: &Location, min_files: usize) -> Result<Option<msma_sink::Compacted>> {
    let reader = ZoneReader::open(location)?;
    let state = msma_sink::block_on(reader.state(None))??;
    let Some(identity) = state.and_then(|s| s.identity) else {
        return Ok(None);
    };
    let policy: msma_pseudo::Policy =
        serde_json::from_value(identity.policy.clone()).context("the generalisation policy of the zone's ledger")?;
    let mut zone = Zone::open(location.clone(), identity)?;
    let granularity = policy.date_granularity;
    zone.set_commit_dates(move |d| granularity.truncate(d));
    Ok(Some(zone.compact(min_files)?))
}
