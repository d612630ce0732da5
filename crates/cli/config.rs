//! `msma config check`: the configuration (crate msma-config) parsed, resolved with the
//! flags' defaults, and what it names opened, without starting anything.

use anyhow::{Context, Result, bail};
use msma_config::{Config, Source};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Parse PATH (and the MSMA_ variables) strictly, then open what it names without
    /// starting anything: the key file, the policy. Exit 1, naming the problem, if any.
    Check { path: PathBuf },
}

pub fn run(cmd: Command) -> Result<std::process::ExitCode> {
    let Command::Check { path } = cmd;
    let problem = match check(&path) {
        Ok(summary) => {
            println!("ok: {}: {summary}", path.display());
            return Ok(std::process::ExitCode::SUCCESS);
        }
        Err(e) => e,
    };
    println!("FAILED: {}", crate::describe(&problem));
    Ok(std::process::ExitCode::from(1))
}

fn check(path: &Path) -> Result<String> {
    let args = match Config::load(Some(path))?.resolve() {
        Err(msma_config::Error::IncompleteWorker) => {
            bail!("a worker needs kafka.brokers, kafka.topic and kafka.group")
        }
        resolved => resolved?,
    };
    let study = &args.study;
    let key = msma_pseudo::MasterKey::load(&study.keys)?;
    if let Some(p) = &study.policy {
        msma_pseudo::Policy::load(p)?;
    }
    msma_pseudo::StudyId::new(&study.study)?;
    let source = match &args.source {
        Source::Kafka(w) => {
            if let Some(p) = &w.properties {
                msma_kafka::ClientProperties::load(p)?;
            }
            let c = &w.config;
            format!("Kafka topic {} at {}, group {}", c.topic, c.brokers, c.group)
        }
        Source::File { input, .. } => format!("file {}", input.display()),
    };
    // The zone is read, not opened: this checks the path or the store's credentials, and
    // that the zone holds this study under this key, without writing anything.
    let ledger = msma_sink::read_ledger(&study.out).with_context(|| format!("reading the zone {}", study.out))?;
    let zone = match ledger.last() {
        None => "empty".to_owned(),
        Some(last)
            if last.record.identity.study_id != study.study || last.record.identity.key_id != key.id().to_string() =>
        {
            bail!(
                "the zone {} holds study {:?} under key id {}, not study {:?} under key id {}",
                study.out,
                last.record.identity.study_id,
                last.record.identity.key_id,
                study.study,
                key.id()
            )
        }
        Some(last) => format!("{} commits", last.record.seq),
    };
    Ok(format!(
        "study {}, key id {}, zone {} ({zone}), from {source}",
        study.study,
        key.id(),
        study.out
    ))
}
