//! `msma withdraw`: a patient's objection (GDPR art. 21) carried out in a study's zone,
//! and recorded in the custodian's register with the pseudonym, never the local id.

use crate::pseudonymise::{Patient, PatientArgs};
use anyhow::{Context, Result};
use msma_audit::requests::{self, Entry, Kind};
use msma_pseudo::MasterKey;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The study's research zone: a folder, or s3://bucket/prefix.
    #[arg(long, value_parser = crate::LocationArg)]
    data: msma_sink::Location,
    #[command(flatten)]
    patient: PatientArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let a = &args.patient;
    let patient = Patient::from_args(a)?;
    let key = MasterKey::load(&a.keys)?;
    let data = args.data;
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
