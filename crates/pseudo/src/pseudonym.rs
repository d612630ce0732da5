//! Keyed pseudonyms: lowercase hex of HMAC-SHA256 under a study key.
//!
//! - patient: `HMAC(study key, network_id ":" local_id)`, local_id without the spaces
//!   and tabs around it;
//! - any other linkable value: `HMAC(study key, domain ":" network_id ":" value)`,
//!   where domain is one of [`Domain`]'s lowercase names. Network ids are uppercase, so
//!   no domain-prefixed message can equal a patient's.

use crate::key::StudyKey;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;

pub use msma_schema::Domain;

/// A pseudonym: 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pseudonym([u8; 64]);

impl Pseudonym {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex is ASCII")
    }
}

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pseudonym({})", self.as_str())
    }
}

/// Computes pseudonyms under one study key. Holds the HMAC state keyed once, so each
/// pseudonym costs two SHA-256 compressions for short messages.
#[derive(Clone)]
pub struct Pseudonymiser {
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymiser { .. }")
    }
}

impl Pseudonymiser {
    pub fn new(key: &StudyKey) -> Self {
        let keyed =
            <Hmac<Sha256> as KeyInit>::new_from_slice(key.bytes.as_ref()).expect("HMAC takes keys of any length");
        Self { keyed }
    }

    /// The pseudonym of a patient of a network.
    pub fn patient(&self, network_id: &str, local_id: &str) -> Pseudonym {
        self.mac(&[network_id, ":", msma_schema::trim_local_id(local_id)])
    }

    /// The pseudonym of another linkable value of a network.
    pub fn linked(&self, domain: Domain, network_id: &str, value: &str) -> Pseudonym {
        self.mac(&[domain.as_str(), ":", network_id, ":", value])
    }

    /// An event's identity in the dedup index: the first 16 bytes of
    /// `HMAC(study key, "event:" network_id ":" event_id)`, the UUID in lowercase.
    pub fn event_key(&self, network_id: &str, event_id: &str) -> [u8; 16] {
        let mut mac = self.keyed.clone();
        for p in ["event:", network_id, ":"] {
            mac.update(p.as_bytes());
        }
        // A valid event id is a UUID, 36 ASCII characters: lowercased on the stack.
        let mut id = [0u8; 36];
        for chunk in event_id.as_bytes().chunks(id.len()) {
            let id = &mut id[..chunk.len()];
            id.copy_from_slice(chunk);
            id.make_ascii_lowercase();
            mac.update(id);
        }
        mac.finalize().into_bytes()[..16].try_into().expect("16 of 32 bytes")
    }

    /// An event's content in the dedup index: the first 8 bytes of
    /// `HMAC(study key, "content:" line)`.
    pub fn content_digest(&self, line: &[u8]) -> [u8; 8] {
        let mut mac = self.keyed.clone();
        mac.update(b"content:");
        mac.update(line);
        mac.finalize().into_bytes()[..8].try_into().expect("8 of 32 bytes")
    }

    /// How a zone knows a patient who withdrew, without holding the pseudonym: the
    /// first 16 bytes of `HMAC(study key, "withdrawn:" pseudonym)`.
    pub fn withdrawal_tag(&self, patient: &Pseudonym) -> [u8; 16] {
        let mut mac = self.keyed.clone();
        mac.update(b"withdrawn:");
        mac.update(patient.as_str().as_bytes());
        mac.finalize().into_bytes()[..16].try_into().expect("16 of 32 bytes")
    }

    /// A digest of input lines, keyed as pseudonyms are.
    pub fn segment_digest(&self) -> SegmentDigest {
        let mut mac = self.keyed.clone();
        mac.update(b"segment:");
        SegmentDigest(mac)
    }

    fn mac(&self, parts: &[&str]) -> Pseudonym {
        let mut mac = self.keyed.clone();
        for p in parts {
            mac.update(p.as_bytes());
        }
        let tag = mac.finalize().into_bytes();
        let mut out = [0u8; 64];
        hex::encode_to_slice(tag, &mut out).expect("64 hex digits for a 32-byte tag");
        Pseudonym(out)
    }
}

/// A keyed digest of a segment of input lines, which the commit log keeps to know the
/// segment again: `HMAC(study key, "segment:" lines)`. An unkeyed digest of the same
/// input would be the same in every study's log and link the studies.
#[derive(Clone)]
pub struct SegmentDigest(Hmac<Sha256>);

impl SegmentDigest {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest of the bytes so far, in lowercase hex.
    pub fn hex(&self) -> String {
        hex::encode(self.0.clone().finalize().into_bytes())
    }
}

impl fmt::Debug for SegmentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SegmentDigest { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{MasterKey, StudyId};

    fn pseudo(master: [u8; 32], study: &str) -> Pseudonymiser {
        let key = MasterKey::from_bytes(master);
        Pseudonymiser::new(&key.study_key(&StudyId::new(study).unwrap()))
    }

    #[test]
    fn segment_digests_are_keyed_per_study() {
        let digest = |p: &Pseudonymiser| {
            let mut d = p.segment_digest();
            d.update(b"{\"line\":1}\n");
            d.hex()
        };
        let (a, b) = (pseudo([1; 32], "s1"), pseudo([1; 32], "s2"));
        assert_eq!(digest(&a), digest(&a));
        assert_ne!(digest(&a), digest(&b));
        assert_eq!(digest(&a).len(), 64);
    }

    #[test]
    fn deterministic_trimmed_and_separated() {
        let p = pseudo([1; 32], "s1");
        let a = p.patient("RMS-ALSACE", "P-1");
        assert_eq!(a, p.patient("RMS-ALSACE", " \tP-1 "));
        assert_ne!(a, p.patient("RMS-PACA", "P-1"));
        assert_ne!(a, pseudo([1; 32], "s2").patient("RMS-ALSACE", "P-1"));
        assert_ne!(a, pseudo([2; 32], "s1").patient("RMS-ALSACE", "P-1"));
        assert_ne!(
            p.linked(Domain::Professional, "RMS-ALSACE", "P-1"),
            p.linked(Domain::Meeting, "RMS-ALSACE", "P-1")
        );
        assert!(
            a.as_str()
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
}

/// The test vectors of docs/PSEUDONYMISATION.md, computed there with Python's hmac and
/// OpenSSL: if this test fails, the contract with data stewards is broken.
#[cfg(test)]
mod vectors {
    use super::*;
    use crate::key::{MasterKey, StudyId};

    #[test]
    fn documented_vectors() {
        let mut bytes = [0u8; 32];
        bytes.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
        let master = MasterKey::from_bytes(bytes);
        assert_eq!(master.id().as_str(), "630dcd2966c43366");
        let study = master.study_key(&StudyId::new("cnrms-femmes-2021").unwrap());
        assert_eq!(
            hex::encode(study.bytes.as_ref()),
            "6d5a0a3e2e18c77be4b45b45598c8634d4ecc648cd369b1b2cae0e013f8ce7a6"
        );
        let p = Pseudonymiser::new(&study);
        let n = "RMS-ALSACE";
        assert_eq!(
            p.patient(n, " P-000123\t").as_str(),
            "165414417fbfe331f58f39980f7d697c2c6db513d89465f1463de2796e73ad34"
        );
        assert_eq!(
            p.linked(Domain::Microstructure, n, "MS-67-004").as_str(),
            "f1e05cfa3c746d559076859dbf11ff3ab7b74401982189e2dc6e6ea4d9e6880d"
        );
        assert_eq!(
            p.linked(Domain::Professional, n, "10001234567").as_str(),
            "e0c193812e229380f8b7da01be789ee6231e477ffbfc3ebeec12effd71f43791"
        );
        assert_eq!(
            p.linked(Domain::Meeting, n, "SYN-MS-67-004-2021-03").as_str(),
            "adf9242e3ebdfe056458f361f2b1b886fbd9144b87d2a54d8f613907f3a3a608"
        );
        let demo = Pseudonymiser::new(&master.study_key(&StudyId::new("demo").unwrap()));
        assert_eq!(
            demo.patient(n, "P-000123").as_str(),
            "0e405145b12c3efc0d49d5414cf8f33c701a48f5aba348c6bfbb22abf7b8d0cc"
        );
    }
}
