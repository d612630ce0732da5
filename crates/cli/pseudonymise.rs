//! `msma pseudonymise`: one pseudonym on a request with a recorded legal basis.

use anyhow::{Context, Result};
use msma_pseudo::{MasterKey, Pseudonymiser, StudyId};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The master key file.
    #[arg(long)]
    keys: PathBuf,
    /// The study whose pseudonym is wanted.
    #[arg(long)]
    study: String,
    /// The patient's network.
    #[arg(long)]
    network: String,
    /// The patient's local identifier in that network.
    #[arg(long)]
    local_id: String,
    /// The legal basis of the request (recorded).
    #[arg(long)]
    reason: String,
    /// The register of requests [default: the key file's path + ".requests.ndjson"].
    #[arg(long)]
    register: Option<PathBuf>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    anyhow::ensure!(
        a.reason.trim().len() >= 10,
        "--reason must state the legal basis of the request"
    );
    let study = StudyId::new(&a.study)?;
    let key = MasterKey::load(&a.keys)?;
    let pseudonym = Pseudonymiser::new(&key.study_key(&study)).patient(&a.network, &a.local_id);
    let register = a.register.clone().unwrap_or_else(|| {
        let mut p = a.keys.clone().into_os_string();
        p.push(".requests.ndjson");
        p.into()
    });
    let r = msma_audit::requests::append(
        &register,
        study.as_str(),
        key.id().as_str(),
        &a.network,
        a.reason.trim(),
        pseudonym.as_str(),
    )
    .with_context(|| "the request could not be recorded, so no pseudonym is given")?;
    eprintln!("recorded as request {} in {}", r.seq, register.display());
    println!("{pseudonym}");
    Ok(ExitCode::SUCCESS)
}
