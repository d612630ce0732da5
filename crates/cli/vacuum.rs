//! `msma vacuum`: deletes the files records retired (kept under `_msma/retired/`) once
//! they are older than a number of days. Until then, `--as-of` a record before their
//! retirement still reads them.

use anyhow::{Context, Result, bail};
use futures_util::TryStreamExt;
use msma_sink::{META_DIR, RETIRED_DIR, ZoneReader};
use object_store::ObjectStoreExt;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The research zone (the --out of `msma ingest`): a folder, or s3://bucket/prefix
    /// with credentials from AWS_* variables.
    #[arg(long, value_parser = crate::LocationArg)]
    data: msma_sink::Location,
    /// Delete the retired files older than this many days (0: all of them). `--as-of`
    /// a record before their retirement fails once they are deleted.
    #[arg(long, allow_negative_numbers = true)]
    keep_days: Option<i64>,
    /// List what would be deleted, and delete nothing.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let keep_days = match a.keep_days {
        None => bail!("--keep-days is required: the days retired files are kept for `--as-of` (0 or more)"),
        Some(d) if d < 0 => bail!("--keep-days must be 0 or more"),
        Some(d) => d,
    };
    let before = chrono::Utc::now() - chrono::Duration::days(keep_days);
    let reader = ZoneReader::open(&a.data)?;
    let (deleted, bytes) = msma_sink::block_on(async {
        if reader.log_entries().await?.is_empty() {
            bail!("{}: not a research zone (no commit record)", a.data);
        }
        let (store, prefix, _) = reader.object_store()?;
        let retired = msma_sink::object_key(&prefix, &format!("{META_DIR}/{RETIRED_DIR}"));
        let listed: Vec<_> = match store.list(Some(&retired)).try_collect().await {
            Err(object_store::Error::NotFound { .. }) => Vec::new(),
            listed => listed.with_context(|| format!("{}: listing {META_DIR}/{RETIRED_DIR}/", a.data))?,
        };
        let depth = prefix.parts().count();
        let (mut deleted, mut bytes) = (0u64, 0u64);
        for meta in listed.into_iter().filter(|m| m.last_modified < before) {
            let rel: Vec<String> = meta
                .location
                .parts()
                .skip(depth)
                .map(|p| p.as_ref().to_owned())
                .collect();
            let rel = rel.join("/");
            if !a.dry_run {
                store
                    .delete(&meta.location)
                    .await
                    .with_context(|| format!("{}: deleting {rel}", a.data))?;
            }
            println!(
                "{} {rel} ({} bytes)",
                if a.dry_run { "would delete" } else { "deleted" },
                meta.size
            );
            deleted += 1;
            bytes += meta.size;
        }
        anyhow::Ok((deleted, bytes))
    })??;
    let verb = if a.dry_run { "would delete" } else { "deleted" };
    println!("{verb} {deleted} retired files ({bytes} bytes) older than {keep_days} days");
    Ok(ExitCode::SUCCESS)
}
