//! Keys, keyed pseudonyms and generalisation: everything msma does to turn an identified
//! event into a research record.
//!
//! The algorithms are a contract with data stewards, specified in
//! `docs/PSEUDONYMISATION.md` with test vectors: a master key file, one key per study
//! derived with HKDF-SHA256, pseudonyms as HMAC-SHA256 under the study key.

mod generalise;
mod key;
mod pseudonym;

pub use generalise::{CNRMS_NETWORKS, Granularity, Policy, PolicyError, departement, region_of};
pub use key::{KeyError, KeyId, MasterKey, RegisterKey, StudyId, StudyKey};
pub use pseudonym::{Domain, Pseudonym, Pseudonymiser, SegmentDigest};
