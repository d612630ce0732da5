//! Opening a study before any work: its zone, its keyed pseudonymiser, its policy.

use crate::ingest_args::Args;
use anyhow::Result;
use msma_pseudo::{MasterKey, Policy, Pseudonymiser, StudyId};
use msma_sink::{Identity, Zone};

/// A study ready to write: its zone open, its pseudonymiser keyed, its policy loaded.
pub struct Study {
    pub zone: Zone,
    pub pseudo: Pseudonymiser,
    pub policy: Policy,
}

/// Opens everything first, so that a bad key, policy or path stops before any work.
pub fn open_study(a: &Args) -> Result<Study> {
    let study = StudyId::new(&a.study)?;
    let mut apart = vec![("key file", a.keys.as_path())];
    apart.extend(a.input.as_deref().map(|p| ("input", p)));
    apart.extend(a.dead_letter.as_deref().map(|p| ("dead-letter file", p)));
    msma_sink::keep_apart(&a.out, &apart)?;
    let key = MasterKey::load(&a.keys)?;
    let policy = match &a.policy {
        Some(p) => Policy::load(p)?,
        None => Policy::default(),
    };
    let identity = Identity {
        study_id: study.to_string(),
        key_id: key.id().to_string(),
        policy: serde_json::to_value(&policy)?,
    };
    let mut zone = Zone::open(a.out.clone(), identity)?;
    let granularity = policy.date_granularity;
    zone.set_commit_dates(move |d| granularity.truncate(d));
    let pseudo = Pseudonymiser::new(&key.study_key(&study));
    Ok(Study { zone, pseudo, policy })
}
