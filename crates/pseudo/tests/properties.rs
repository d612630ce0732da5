//! Properties of pseudonyms over generated keys, studies and identifiers: the same
//! (key, study, network, identifier) always gives the same pseudonym, and changing the
//! key, the study, the network or the identifier changes it.

use msma_pseudo::{MasterKey, Pseudonymiser, StudyId};
use proptest::prelude::*;

fn pseudonymiser(key: [u8; 32], study: &str) -> Pseudonymiser {
    Pseudonymiser::new(&MasterKey::from_bytes(key).study_key(&StudyId::new(study).unwrap()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn pseudonyms_are_deterministic_per_key_study_and_identifier(
        key in any::<[u8; 32]>(),
        flip in 0usize..256,
        study in "[a-z][a-z0-9-]{0,30}",
        other_study in "[a-z][a-z0-9-]{0,30}",
        network in "RMS-[A-Z]{2,10}",
        id in "[A-Za-z0-9][A-Za-z0-9 ._-]{0,30}[A-Za-z0-9]",
        other_id in "[A-Za-z0-9]{1,32}",
    ) {
        let p = pseudonymiser(key, &study);
        let once = p.patient(&network, &id).as_str().to_owned();
        // Recomputed, by the same or a new pseudonymiser: the same.
        prop_assert_eq!(p.patient(&network, &id).as_str().to_owned(), once.clone());
        prop_assert_eq!(pseudonymiser(key, &study).patient(&network, &id).as_str().to_owned(), once.clone());
        // Spaces and tabs around the identifier are not part of it.
        prop_assert_eq!(p.patient(&network, &format!(" \t{id} ")).as_str().to_owned(), once.clone());
        // Another study, key, network or identifier: another pseudonym.
        if other_study != study {
            prop_assert_ne!(pseudonymiser(key, &other_study).patient(&network, &id).as_str().to_owned(), once.clone());
        }
        let mut other_key = key;
        other_key[flip / 8] ^= 1 << (flip % 8);
        prop_assert_ne!(pseudonymiser(other_key, &study).patient(&network, &id).as_str().to_owned(), once.clone());
        prop_assert_ne!(p.patient(&format!("{network}X"), &id).as_str().to_owned(), once.clone());
        if other_id != id {
            prop_assert_ne!(p.patient(&network, &other_id).as_str().to_owned(), once.clone());
        }
        // Never the identifier itself, nor containing it (a short one may occur in the
        // hex by chance: 1 in 10^8 for 8 characters).
        prop_assert_ne!(&once, id.trim());
        if id.trim().len() >= 8 {
            prop_assert!(!once.contains(id.trim()));
        }
    }
}
