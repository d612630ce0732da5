//! `msma config check`: the configuration (crate msma-config) parsed, resolved with the
//! flags' defaults, and what it names opened, without starting anything.

use anyhow::{Context, Result, bail};
use msma_config::Config;
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
    let cfg = Config::load(Some(path))?;
    let flags = <crate::ingest_args::Flags as clap::FromArgMatches>::from_arg_matches(
        &<crate::ingest_args::Flags as clap::Args>::augment_args(clap::Command::new("check"))
            .get_matches_from(["check"]),
    )?;
    let args = crate::ingest_args::Args::resolve(flags, cfg)?;
    let key = msma_pseudo::MasterKey::load(&args.study.keys)?;
    if let Some(p) = &args.study.policy {
        msma_pseudo::Policy::load(p)?;
    }
    msma_pseudo::StudyId::new(&args.study.study)?;
    if let Some(p) = &args.kafka.kafka_properties {
        msma_kafka::ClientProperties::load(p)?;
    }
    let source = match (&args.kafka.brokers, &args.kafka.topic, &args.kafka.group) {
        (Some(b), Some(t), Some(g)) => format!("Kafka topic {t} at {b}, group {g}"),
        (Some(_), _, _) => anyhow::bail!("a worker needs kafka.brokers, kafka.topic and kafka.group"),
        _ => format!("file {}", args.input.as_deref().unwrap_or(Path::new("-")).display()),
    };
    // The zone is read, not opened: this checks the path or the store's credentials, and
    // that the zone holds this study under this key, without writing anything.
    let ledger =
        msma_sink::read_ledger(&args.study.out).with_context(|| format!("reading the zone {}", args.study.out))?;
    let zone = match ledger.last() {
        None => "empty".to_owned(),
        Some(last)
            if last.record.identity.study_id != args.study.study
                || last.record.identity.key_id != key.id().to_string() =>
        {
            bail!(
                "the zone {} holds study {:?} under key id {}, not study {:?} under key id {}",
                args.study.out,
                last.record.identity.study_id,
                last.record.identity.key_id,
                args.study.study,
                key.id()
            )
        }
        Some(last) => format!("{} commits", last.record.seq),
    };
    Ok(format!(
        "study {}, key id {}, zone {} ({zone}), from {source}",
        args.study.study,
        key.id(),
        args.study.out
    ))
}
