//! A patient's withdrawal (GDPR art. 21): every live file that holds their rows is
//! rewritten without them, in one commit that carries their withdrawal tag, so that
//! writers keep their later events out (`withdrawn`). Neither the local id nor the
//! pseudonym reaches the zone: the tag is a keyed digest of the pseudonym.

use crate::study::{StudyError, open_zone};
use msma_pseudo::{MasterKey, Policy, Pseudonym, Pseudonymiser, StudyId};
use msma_sink::{Location, Source, ZoneReader};

/// The column every dataset holds the patient's pseudonym in.
const PATIENT: &str = "patient_pseudonym";

/// What a withdrawal did.
#[derive(Debug)]
pub struct Withdrawal {
    /// The patient's pseudonym, for the custodian's register (never for the zone).
    pub pseudonym: Pseudonym,
    /// The number of the withdrawal's (last) record.
    pub seq: u64,
    pub rows_removed: u64,
    pub files_rewritten: usize,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WithdrawError {
    #[error(transparent)]
    Study(#[from] StudyError),
    #[error(transparent)]
    Sink(#[from] msma_sink::Error),
    #[error("{0} holds no commit: there is nothing to withdraw from (check --data)")]
    NoCommit(String),
    #[error("{zone} holds study {found:?}, not {wanted:?} (check --study and --data)")]
    AnotherStudy {
        zone: String,
        found: String,
        wanted: String,
    },
    #[error("{zone} was written under key {found}, not this key's {wanted} (check --keys)")]
    AnotherKey {
        zone: String,
        found: String,
        wanted: String,
    },
}

/// Withdraws the patient `local_id` of `network` from the study's zone at `data`.
pub fn withdraw(
    data: &Location,
    key: &MasterKey,
    study: &StudyId,
    network: &str,
    local_id: &str,
) -> Result<Withdrawal, WithdrawError> {
    let shown = || data.to_string();
    let identity = msma_sink::block_on(ZoneReader::open(data)?.state(None))??
        .and_then(|s| s.identity)
        .ok_or_else(|| WithdrawError::NoCommit(shown()))?;
    if identity.study_id != study.as_str() {
        return Err(WithdrawError::AnotherStudy {
            zone: shown(),
            found: identity.study_id,
            wanted: study.to_string(),
        });
    }
    if identity.key_id != key.id().as_str() {
        return Err(WithdrawError::AnotherKey {
            zone: shown(),
            found: identity.key_id,
            wanted: key.id().to_string(),
        });
    }
    let policy: Policy = serde_json::from_value(identity.policy).map_err(StudyError::from)?;
    let mut zone = open_zone(data.clone(), study, key, &policy)?;
    let pseudo = Pseudonymiser::new(&key.study_key(study));
    let patient = pseudo.patient(network, local_id);
    let tag = hex::encode(pseudo.withdrawal_tag(&patient));
    let partition = format!("network_id={network}");
    let mut done = Withdrawal {
        pseudonym: patient,
        seq: 0,
        rows_removed: 0,
        files_rewritten: 0,
    };
    // The first pass records the withdrawal even if no row holds it yet. A writer may
    // commit the patient's events between its look and its record; once the record is
    // in, every writer keeps them out, so a second look finds the last of them.
    let (mut pass, mut retries) = (0, 0);
    while pass < 2 {
        let source = Source::Withdrawal { tag: tag.clone() };
        let (files, record) = match zone.delete(&partition, PATIENT, patient.as_str(), source, pass == 0) {
            Ok(Some(done)) => done,
            Ok(None) => break,
            // Compacted by another writer meanwhile: look again.
            Err(msma_sink::Error::Retired(_)) if retries < 3 => {
                retries += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        done.seq = record.seq;
        done.rows_removed += record.rows.removed;
        done.files_rewritten += files;
        pass += 1;
    }
    Ok(done)
}
