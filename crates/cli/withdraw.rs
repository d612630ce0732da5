//! `msma withdraw`: a patient's objection (GDPR art. 21) carried out in a study's zone,
//! and recorded in the custodian's register with the pseudonym, never the local id.

use crate::pseudonymise::Patient;
use anyhow::{Context, Result};
use msma_audit::requests::{self, Entry, Kind};
use msma_pseudo::MasterKey;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The study's research zone: a folder, or s3://bucket/prefix.
    #[arg(long, value_parser = crate::LocationArg)]
    data: msma_sink::Location,
    /// The master key file.
    #[arg(long)]
    keys: PathBuf,
    /// The study the patient withdraws from.
    #[arg(long)]
    study: String,
    /// The patient's network.
    #[arg(long)]
    network: String,
    /// The patient's local identifier in that network, or - to read it from the first
    /// line of standard input (an argument shows in the process list).
    #[arg(long)]
    local_id: String,
    /// The patient's objection, as recorded (its date and form).
    #[arg(long)]
    reason: String,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let patient = Patient::from_args(&a.study, &a.network, &a.local_id, &a.reason)?;
    let key = MasterKey::load(&a.keys)?;
    let data = a.data;
    let done = msma_ingest::withdraw(&data, &key, &patient.study, &a.network, &patient.local_id)?;
    let entry = Entry {
        study_id: Some(patient.study.to_string()),
        network_id: Some(a.network.clone()),
        reason: Some(a.reason.trim().to_owned()),
        pseudonym: Some(done.pseudonym.to_string()),
        ..Entry::new(Kind::Withdrawal)
    };
    let register = requests::beside(&a.keys);
    let line = requests::append(&register, &key, entry).with_context(|| {
        format!(
            "the withdrawal was committed (record {}) but could not be recorded in {}: run the command again",
            done.seq,
            register.display()
        )
    })?;
    println!(
        "withdrawn: {} row(s) removed from {} file(s) in record {}; later events of the patient are kept out (withdrawn)",
        done.rows_removed, done.files_rewritten, done.seq
    );
    eprintln!("recorded as line {} in {}", line.seq, register.display());
    println!("the retired files hold the rows until `msma vacuum --data {data} --keep-days N` deletes them");
    Ok(ExitCode::SUCCESS)
}
