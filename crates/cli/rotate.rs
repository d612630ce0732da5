//! `msma keys rotate`: a study's datasets rewritten under a new key, as a new zone
//! (msma_ingest::rotate).

use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The study's current key.
    #[arg(long)]
    keys: PathBuf,
    /// The new key (see `msma keys init`).
    #[arg(long)]
    new_keys: PathBuf,
    #[arg(long)]
    study: String,
    /// The current research zone.
    #[arg(long)]
    data: PathBuf,
    /// The identified inputs the zone was made from (repeatable), as given to ingest.
    #[arg(long = "input", required = true)]
    inputs: Vec<PathBuf>,
    /// The new research zone (the new version of the datasets).
    #[arg(long)]
    out: PathBuf,
    /// Where the crosswalk goes: the custodian zone, never a research zone.
    #[arg(long)]
    crosswalk: PathBuf,
    /// Dead letters of the inputs, again (identified zone).
    #[arg(long)]
    dead_letter: PathBuf,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let r = msma_ingest::Rotation {
        keys: a.keys,
        new_keys: a.new_keys,
        study: a.study,
        data: a.data,
        inputs: a.inputs,
        out: a.out,
        crosswalk: a.crosswalk,
        dead_letter: a.dead_letter,
    };
    let done = msma_ingest::rotate(&r)?;
    println!(
        "rotated study {}: key id {} -> {}, {} rows in {} datasets rewritten into {}",
        r.study,
        done.old_key_id,
        done.new_key_id,
        done.rows_by_dataset.values().sum::<u64>(),
        done.rows_by_dataset.len(),
        r.out.display()
    );
    println!(
        "crosswalk: {} entries in {} (0600)",
        done.crosswalk_entries,
        r.crosswalk.display()
    );
    println!(
        "ledger: record {} of {} records the rotation",
        done.record_seq,
        r.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
