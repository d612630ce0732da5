//! `msma keys rotate`: a study's datasets rewritten under a new key, as a new zone.
//!
//! A pseudonym cannot be turned into another without the identifier behind it, so the
//! identified inputs of the zone are ingested again under the new key (same study, same
//! policy); the new zone must hold exactly the rows of the old one. The crosswalk from
//! old to new pseudonyms goes to a custodian path only (mode 0600, outside both zones),
//! and the new zone's ledger ends with a rotation record naming the old key, the old
//! zone's head hash and the crosswalk's SHA-256.

use anyhow::{Context, Result, bail, ensure};
use msma_ingest::{DeadLetters, Input, Options, Transform};
use msma_pseudo::{Domain, MasterKey, Policy, Pseudonymiser, StudyId};
use msma_sink::{Identity, Location, RowCounts, Source, Stored, Zone};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
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

/// Old and new pseudonyms of the same identifiers: (kind, old, new).
type Crosswalk = BTreeSet<(&'static str, String, String)>;

pub fn run(a: Args) -> Result<ExitCode> {
    let study = StudyId::new(&a.study)?;
    let old_key = MasterKey::load(&a.keys)?;
    let new_key = MasterKey::load(&a.new_keys)?;
    ensure!(old_key.id() != new_key.id(), "the new key is the current key");
    let (old_records, policy) = read_old_zone(&a, &study, &old_key)?;
    keep_apart(&a)?;

    let old = Pseudonymiser::new(&old_key.study_key(&study));
    let new = Pseudonymiser::new(&new_key.study_key(&study));
    let mut zone = open_new_zone(&a, &study, &new_key, &policy)?;
    let transform = Transform::new(new.clone(), policy);
    let crosswalk = reingest(&a, &mut zone, &transform, [&old, &new])?;

    let (before, after) = (rows_per_dataset(&old_records), rows_per_dataset(zone.records()));
    ensure!(
        before == after,
        "the inputs do not reproduce {}: rows per dataset {before:?} there, {after:?} now; nothing is published \
         as the new version until they do ({} is left for inspection)",
        a.data.display(),
        a.out.display()
    );

    let text = write_crosswalk(&a.crosswalk, &crosswalk)?;
    let source = Source::Rotation {
        previous_zone: a.data.display().to_string(),
        previous_key_id: old_key.id().to_string(),
        previous_head_sha256: old_records.last().map(|s| s.sha256.clone()).unwrap_or_default(),
        crosswalk_sha256: hex::encode(Sha256::digest(text.as_bytes())),
        crosswalk_entries: crosswalk.len() as u64,
    };
    let record = zone.begin()?.commit(source, RowCounts::default())?;
    println!(
        "rotated study {study}: key id {} -> {}, {} rows in {} datasets rewritten into {}",
        old_key.id(),
        new_key.id(),
        after.values().sum::<u64>(),
        after.len(),
        a.out.display()
    );
    println!(
        "crosswalk: {} entries in {} (0600)",
        crosswalk.len(),
        a.crosswalk.display()
    );
    println!(
        "ledger: record {} of {} records the rotation",
        record.seq,
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The current zone's ledger and policy, once checked to be this study's under the current key.
fn read_old_zone(a: &Args, study: &StudyId, old_key: &MasterKey) -> Result<(Vec<Stored>, Policy)> {
    let old_records = msma_sink::read_ledger(&Location::Local(a.data.clone()))?;
    let Some(first) = old_records.first() else {
        bail!("{} holds no commit", a.data.display())
    };
    ensure!(
        first.record.identity.study_id == study.as_str(),
        "{} holds another study",
        a.data.display()
    );
    ensure!(
        first.record.identity.key_id == old_key.id().as_str(),
        "{} was written under key id {}, not {}",
        a.data.display(),
        first.record.identity.key_id,
        old_key.id()
    );
    let policy: Policy = serde_json::from_value(first.record.identity.policy.clone())?;
    Ok((old_records, policy))
}

/// Inputs, dead letters, keys and crosswalk stay out of the new zone, and the crosswalk out of the old one.
fn keep_apart(a: &Args) -> Result<()> {
    let mut apart: Vec<(&str, &Path)> = a.inputs.iter().map(|p| ("input", p.as_path())).collect();
    apart.extend([
        ("dead-letter file", a.dead_letter.as_path()),
        ("key file", a.keys.as_path()),
        ("new key file", a.new_keys.as_path()),
        ("crosswalk", a.crosswalk.as_path()),
    ]);
    msma_sink::keep_apart(&a.out.as_path().into(), &apart)?;
    // The crosswalk links old and new pseudonyms: in neither zone.
    msma_sink::keep_apart(&a.data.as_path().into(), &[("crosswalk", a.crosswalk.as_path())])?;
    Ok(())
}

/// The new zone, empty, under the new key and the same study and policy.
fn open_new_zone(a: &Args, study: &StudyId, new_key: &MasterKey, policy: &Policy) -> Result<Zone> {
    let identity = Identity {
        study_id: study.to_string(),
        key_id: new_key.id().to_string(),
        policy: serde_json::to_value(policy)?,
    };
    let mut zone = Zone::open(&a.out, identity)?;
    let granularity = policy.date_granularity;
    zone.set_commit_dates(move |d| granularity.truncate(d));
    ensure!(
        zone.records().is_empty(),
        "{} is not empty: rotate into a new folder",
        a.out.display()
    );
    Ok(zone)
}

/// Ingests every input again into the new zone, and pairs the old and new pseudonyms of its events.
fn reingest(a: &Args, zone: &mut Zone, transform: &Transform, keys: [&Pseudonymiser; 2]) -> Result<Crosswalk> {
    let mut dead = DeadLetters::open(&a.dead_letter, Some(&a.out))?;
    let mut crosswalk = Crosswalk::new();
    for input in &a.inputs {
        let open = || std::fs::File::open(input).with_context(|| format!("opening {}", input.display()));
        let name = input.display().to_string();
        msma_ingest::ingest(
            Input::File(std::io::BufReader::new(open()?)),
            &name,
            zone,
            transform,
            &mut dead,
            &Options::default(),
        )?;
        pair_pseudonyms(std::io::BufReader::new(open()?), keys, &mut crosswalk)?;
    }
    Ok(crosswalk)
}

/// Adds to the crosswalk the patient and microstructure of every valid event of one input.
fn pair_pseudonyms(input: impl BufRead, [old, new]: [&Pseudonymiser; 2], crosswalk: &mut Crosswalk) -> Result<()> {
    for line in input.split(b'\n') {
        let line = line?;
        let Ok(ev) = msma_schema::decode(&line) else { continue };
        let n = &ev.network_id;
        let pairs = [
            (
                "patient",
                old.patient(n, &ev.patient.local_id),
                new.patient(n, &ev.patient.local_id),
            ),
            (
                "microstructure",
                old.linked(Domain::Microstructure, n, &ev.microstructure_id),
                new.linked(Domain::Microstructure, n, &ev.microstructure_id),
            ),
        ];
        for (kind, o, w) in pairs {
            crosswalk.insert((kind, o.to_string(), w.to_string()));
        }
    }
    Ok(())
}

/// Rows per dataset over the commits of a ledger.
fn rows_per_dataset(records: &[Stored]) -> BTreeMap<String, u64> {
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    for r in records {
        for f in &r.record.files {
            *by.entry(f.dataset.clone()).or_default() += f.rows;
        }
    }
    by
}

/// Writes the crosswalk as CSV to a new file of mode 0600, and returns the text written.
fn write_crosswalk(path: &Path, crosswalk: &Crosswalk) -> Result<String> {
    let mut text = String::from("kind,old_pseudonym,new_pseudonym\n");
    for (kind, o, w) in crosswalk {
        text.push_str(&format!("{kind},{o},{w}\n"));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(text)
}
