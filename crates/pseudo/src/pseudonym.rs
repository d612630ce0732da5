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

/// Values other than patients that must stay linkable across events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    Microstructure,
    Professional,
    Meeting,
}

impl Domain {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Microstructure => "microstructure",
            Self::Professional => "professional",
            Self::Meeting => "meeting",
        }
    }
}

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
        let keyed = <Hmac<Sha256> as KeyInit>::new_from_slice(key.bytes.as_ref())
            .expect("HMAC takes keys of any length");
        Self { keyed }
    }

    /// The pseudonym of a patient of a network.
    pub fn patient(&self, network_id: &str, local_id: &str) -> Pseudonym {
        self.mac(&[network_id, ":", trim(local_id)])
    }

    /// The pseudonym of another linkable value of a network.
    pub fn linked(&self, domain: Domain, network_id: &str, value: &str) -> Pseudonym {
        self.mac(&[domain.as_str(), ":", network_id, ":", value])
    }

    fn mac(&self, parts: &[&str]) -> Pseudonym {
        let mut mac = self.keyed.clone();
        for p in parts {
            mac.update(p.as_bytes());
        }
        let tag = mac.finalize().into_bytes();
        let mut out = [0u8; 64];
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (i, b) in tag.iter().enumerate() {
            out[2 * i] = HEX[(b >> 4) as usize];
            out[2 * i + 1] = HEX[(b & 15) as usize];
        }
        Pseudonym(out)
    }
}

/// The trimming of the contract: spaces and tabs around a local id.
fn trim(local_id: &str) -> &str {
    local_id.trim_matches([' ', '\t'])
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
