//! Key rotation: a study's datasets rewritten under a new key, as a new zone.
//!
//! A pseudonym cannot be turned into another without the identifier behind it, so the
//! identified inputs of the zone are ingested again under the new key (same study, same
//! policy); the new zone must hold exactly the rows of the old one. The crosswalk from
//! old to new pseudonyms goes to a custodian path only (mode 0600, outside both zones),
//! and the new zone's ledger ends with a rotation record naming the old key, the old
//! zone's head hash and the crosswalk's SHA-256.

use crate::study::{StudyError, open_zone};
use crate::{DeadLetterError, DeadLetters, IngestError, Input, Options, Transform};
use msma_pseudo::{Domain, KeyError, MasterKey, Policy, Pseudonymiser, StudyId};
use msma_sink::{Location, RowCounts, Source, Stored, Zone, ZoneState};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// What a rotation reads and writes.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The study's current key.
    pub keys: PathBuf,
    /// The new key.
    pub new_keys: PathBuf,
    pub study: String,
    /// The current research zone.
    pub data: PathBuf,
    /// The identified inputs the zone was made from, as given to ingest.
    pub inputs: Vec<PathBuf>,
    /// The new research zone.
    pub out: PathBuf,
    /// Where the crosswalk goes: the custodian zone, never a research zone.
    pub crosswalk: PathBuf,
    /// Dead letters of the inputs, again (identified zone).
    pub dead_letter: PathBuf,
}

/// What a rotation did.
#[derive(Debug)]
pub struct Rotated {
    pub old_key_id: String,
    pub new_key_id: String,
    /// Rows per dataset in the new zone, the same as in the old one.
    pub rows_by_dataset: BTreeMap<String, u64>,
    pub crosswalk_entries: usize,
    /// The ledger record of the rotation, in the new zone.
    pub record_seq: u64,
}

/// Why a rotation stopped; nothing is published as the new version then.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotateError {
    #[error("the new key is the current key")]
    SameKey,
    #[error("{0} holds no commit")]
    NoCommit(String),
    #[error("{0} holds another study")]
    AnotherStudy(String),
    #[error("{zone} was written under key id {found}, not {expected}")]
    AnotherKey {
        zone: String,
        found: String,
        expected: String,
    },
    #[error("{0} is not empty: rotate into a new folder")]
    NotEmpty(String),
    #[error(
        "the inputs do not reproduce {data}: rows per dataset {before:?} there, {after:?} now; nothing is published \
         as the new version until they do ({out} is left for inspection)"
    )]
    RowsDiffer {
        data: String,
        out: String,
        before: BTreeMap<String, u64>,
        after: BTreeMap<String, u64>,
    },
    #[error("opening {path}")]
    Open { path: String, source: std::io::Error },
    #[error("creating {path}")]
    Create { path: String, source: std::io::Error },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Study(#[from] StudyError),
    #[error(transparent)]
    Policy(#[from] serde_json::Error),
    #[error(transparent)]
    Sink(#[from] msma_sink::Error),
    #[error(transparent)]
    DeadLetters(#[from] DeadLetterError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

/// Old and new pseudonyms of the same identifiers: (kind, old, new).
type Crosswalk = BTreeSet<(&'static str, String, String)>;

/// Rewrites the zone `r.data` into `r.out` under the new key, after checking that the
/// old zone is this study's under the current key and that every path stays apart.
pub fn rotate(r: &Rotation) -> Result<Rotated, RotateError> {
    let study = StudyId::new(&r.study)?;
    let old_key = MasterKey::load(&r.keys)?;
    let new_key = MasterKey::load(&r.new_keys)?;
    if old_key.id() == new_key.id() {
        return Err(RotateError::SameKey);
    }
    let (old_records, policy) = read_old_zone(r, &study, &old_key)?;
    keep_apart(r)?;

    let old = Pseudonymiser::new(&old_key.study_key(&study));
    let new = Pseudonymiser::new(&new_key.study_key(&study));
    let mut zone = open_zone(r.out.as_path().into(), &study, &new_key, &policy)?;
    if zone.state().head.is_some() {
        return Err(RotateError::NotEmpty(r.out.display().to_string()));
    }
    let transform = Transform::new(new.clone(), policy);
    let crosswalk = reingest(r, &mut zone, &transform, [&old, &new])?;

    let before = ZoneState::from_records(&old_records).rows_per_dataset();
    let after = zone.state().rows_per_dataset();
    if before != after {
        return Err(RotateError::RowsDiffer {
            data: r.data.display().to_string(),
            out: r.out.display().to_string(),
            before,
            after,
        });
    }

    let text = write_crosswalk(&r.crosswalk, &crosswalk)?;
    let source = Source::Rotation {
        previous_zone: r.data.display().to_string(),
        previous_key_id: old_key.id().to_string(),
        previous_head_sha256: old_records.last().map(|s| s.sha256.clone()).unwrap_or_default(),
        crosswalk_sha256: hex::encode(Sha256::digest(text.as_bytes())),
        crosswalk_entries: crosswalk.len() as u64,
    };
    let record = zone.begin()?.commit(source, RowCounts::default())?;
    Ok(Rotated {
        old_key_id: old_key.id().to_string(),
        new_key_id: new_key.id().to_string(),
        rows_by_dataset: after,
        crosswalk_entries: crosswalk.len(),
        record_seq: record.seq,
    })
}

/// The current zone's ledger and policy, once checked to be this study's under the current key.
fn read_old_zone(r: &Rotation, study: &StudyId, old_key: &MasterKey) -> Result<(Vec<Stored>, Policy), RotateError> {
    let old_records = msma_sink::read_ledger(&Location::Local(r.data.clone()))?;
    let shown = || r.data.display().to_string();
    let Some(first) = old_records.first() else {
        return Err(RotateError::NoCommit(shown()));
    };
    let identity = &first.record.identity;
    if identity.study_id != study.as_str() {
        return Err(RotateError::AnotherStudy(shown()));
    }
    if identity.key_id != old_key.id().as_str() {
        return Err(RotateError::AnotherKey {
            zone: shown(),
            found: identity.key_id.clone(),
            expected: old_key.id().to_string(),
        });
    }
    let policy: Policy = serde_json::from_value(identity.policy.clone())?;
    Ok((old_records, policy))
}

/// Inputs, dead letters, keys and crosswalk stay out of the new zone, and the crosswalk out of the old one.
fn keep_apart(r: &Rotation) -> Result<(), msma_sink::Error> {
    let mut apart: Vec<(&str, &Path)> = r.inputs.iter().map(|p| ("input", p.as_path())).collect();
    apart.extend([
        ("dead-letter file", r.dead_letter.as_path()),
        ("key file", r.keys.as_path()),
        ("new key file", r.new_keys.as_path()),
        ("crosswalk", r.crosswalk.as_path()),
    ]);
    msma_sink::keep_apart(&r.out.as_path().into(), &apart)?;
    // The crosswalk links old and new pseudonyms: in neither zone.
    msma_sink::keep_apart(&r.data.as_path().into(), &[("crosswalk", r.crosswalk.as_path())])
}

/// Ingests every input again into the new zone, and pairs the old and new pseudonyms of its events.
fn reingest(
    r: &Rotation,
    zone: &mut Zone,
    transform: &Transform,
    keys: [&Pseudonymiser; 2],
) -> Result<Crosswalk, RotateError> {
    let mut dead = DeadLetters::open(&r.dead_letter, Some(&r.out))?;
    let mut crosswalk = Crosswalk::new();
    for input in &r.inputs {
        let open = || {
            std::fs::File::open(input).map_err(|source| RotateError::Open {
                path: input.display().to_string(),
                source,
            })
        };
        let name = input.display().to_string();
        crate::ingest(
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
fn pair_pseudonyms(
    input: impl BufRead,
    [old, new]: [&Pseudonymiser; 2],
    crosswalk: &mut Crosswalk,
) -> std::io::Result<()> {
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

/// Writes the crosswalk as CSV to a new file of mode 0600, and returns the text written.
fn write_crosswalk(path: &Path, crosswalk: &Crosswalk) -> Result<String, RotateError> {
    let mut text = String::from("kind,old_pseudonym,new_pseudonym\n");
    for (kind, o, w) in crosswalk {
        text.push_str(&format!("{kind},{o},{w}\n"));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(|source| RotateError::Create {
        path: path.display().to_string(),
        source,
    })?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(text)
}
