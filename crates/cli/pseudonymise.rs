//! `msma pseudonymise`: one pseudonym on a request with a recorded legal basis.

use anyhow::{Context, Result};
use msma_audit::requests::{self, Entry, Kind};
use msma_pseudo::{MasterKey, Pseudonymiser, StudyId};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A patient named on a request to the custodian, with its legal basis.
#[derive(clap::Args)]
pub struct PatientArgs {
    /// The master key file.
    #[arg(long)]
    pub keys: PathBuf,
    /// The study.
    #[arg(long)]
    pub study: String,
    /// The patient's network.
    #[arg(long)]
    pub network: String,
    /// The patient's local identifier in that network, or - to read it from the first
    /// line of standard input (an argument shows in the process list).
    #[arg(long)]
    pub local_id: String,
    /// The legal basis of the request, or the patient's objection, with its date and
    /// form (recorded).
    #[arg(long)]
    pub reason: String,
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    patient: PatientArgs,
    /// Another register for this request; it is noted in the register beside the key
    /// all the same [default: the key file's path + ".requests.ndjson"].
    #[arg(long)]
    register: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let a = &args.patient;
    let patient = Patient::from_args(a)?;
    let key = MasterKey::load(&a.keys)?;
    let study = patient.study;
    let pseudonym = Pseudonymiser::new(&key.study_key(&study)).patient(&a.network, &patient.local_id);
    let request = |kind| Entry {
        study_id: Some(study.to_string()),
        network_id: Some(a.network.clone()),
        reason: Some(a.reason.trim().to_owned()),
        pseudonym: Some(pseudonym.to_string()),
        ..Entry::new(kind)
    };
    let real = requests::beside(&a.keys);
    let register = args.register.clone().unwrap_or_else(|| real.clone());
    let refused = "the request could not be recorded, so no pseudonym is given";
    if !same_file(&register, &real) {
        let note = Entry {
            register: Some(std::path::absolute(&register)?.display().to_string()),
            ..request(Kind::Override)
        };
        let n = requests::append(&real, &key, note).context(refused)?;
        eprintln!("noted as line {} in {}", n.seq, real.display());
    }
    let r = requests::append(&register, &key, request(Kind::Request)).context(refused)?;
    eprintln!("recorded as request {} in {}", r.seq, register.display());
    println!("{pseudonym}");
    Ok(ExitCode::SUCCESS)
}

/// A patient named on a request: the study, network and local id, checked, and the
/// reason stated.
pub struct Patient {
    pub study: StudyId,
    pub local_id: String,
}

impl Patient {
    /// Checks the arguments of a request; `local_id` `-` reads the local id from the
    /// first line of standard input.
    pub fn from_args(a: &PatientArgs) -> Result<Self> {
        anyhow::ensure!(
            a.reason.trim().len() >= 10,
            "--reason must state the legal basis of the request"
        );
        let study = StudyId::new(&a.study)?;
        // The rule of an event's network_id: a pseudonym for any other links to no event.
        msma_schema::network_id_rule(&a.network).map_err(|rule| anyhow::anyhow!("--network: {rule}"))?;
        let local_id = if a.local_id == "-" {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("--local-id -: reading the local id from standard input")?;
            line.trim_end_matches(['\n', '\r']).to_owned()
        } else {
            a.local_id.clone()
        };
        anyhow::ensure!(!local_id.trim().is_empty(), "--local-id: the local id is empty");
        Ok(Self { study, local_id })
    }
}

/// Whether two paths name one file: canonical when they exist, absolute otherwise.
fn same_file(a: &Path, b: &Path) -> bool {
    let name = |p: &Path| p.canonicalize().or_else(|_| std::path::absolute(p)).ok();
    name(a) == name(b)
}
