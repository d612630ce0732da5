//! Opening a study before any work: its zone, its keyed pseudonymiser, its policy.

use msma_pseudo::{KeyError, MasterKey, Policy, PolicyError, Pseudonymiser, StudyId};
use msma_sink::{Identity, Location, Zone};
use std::path::{Path, PathBuf};

/// What names a study and where it is written: the settings every ingest shares.
#[derive(Debug, Clone)]
pub struct StudySettings {
    /// The study the pseudonyms are computed for.
    pub study: String,
    /// The master key file.
    pub keys: PathBuf,
    /// The generalisation policy (TOML); the default policy without it.
    pub policy: Option<PathBuf>,
    /// The research zone.
    pub out: Location,
    /// Records between two checkpoints of its ledger.
    pub checkpoint_every: u64,
}

/// A study ready to write: its zone open, its pseudonymiser keyed, its policy loaded.
pub struct Study {
    pub zone: Zone,
    pub pseudo: Pseudonymiser,
    pub policy: Policy,
}

/// Why a study could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StudyError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Sink(#[from] msma_sink::Error),
    #[error(transparent)]
    Identity(#[from] serde_json::Error),
}

impl Study {
    /// Opens everything first, so that a bad key, policy or path stops before any work.
    /// `apart` are the other files of the run (each named by what it is), kept out of
    /// the zone with the key file.
    pub fn open(s: &StudySettings, apart: &[(&str, &Path)]) -> Result<Self, StudyError> {
        let study = StudyId::new(&s.study)?;
        let mut files = vec![("key file", s.keys.as_path())];
        files.extend_from_slice(apart);
        msma_sink::keep_apart(&s.out, &files)?;
        let key = MasterKey::load(&s.keys)?;
        let policy = match &s.policy {
            Some(p) => Policy::load(p)?,
            None => Policy::default(),
        };
        let mut zone = open_zone(s.out.clone(), &study, &key, &policy)?;
        zone.set_checkpoint_every(s.checkpoint_every);
        let pseudo = Pseudonymiser::new(&key.study_key(&study));
        Ok(Self { zone, pseudo, policy })
    }
}

/// The zone at `out` under this study, key and policy, its commit dates generalised as
/// the policy says.
pub(crate) fn open_zone(out: Location, study: &StudyId, key: &MasterKey, policy: &Policy) -> Result<Zone, StudyError> {
    let identity = Identity {
        study_id: study.to_string(),
        key_id: key.id().to_string(),
        policy: serde_json::to_value(policy)?,
    };
    let mut zone = Zone::open(out, identity)?;
    let granularity = policy.date_granularity;
    zone.set_commit_dates(move |d| granularity.truncate(d));
    Ok(zone)
}
