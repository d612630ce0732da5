//! One input line through the strict decoder, and an accepted event through the
//! transform (pseudonyms, generalisation, Arrow builders): no input may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msma_pseudo::{MasterKey, Policy, Pseudonymiser, StudyId};

fuzz_target!(|line: &[u8]| {
    if let Ok(event) = msma_schema::decode(line) {
        let key = MasterKey::from_bytes([7; 32]).study_key(&StudyId::new("fuzz").expect("a valid study id"));
        let mut transform = msma_ingest::Transform::new(Pseudonymiser::new(&key), Policy::default());
        let _refused_or_not = transform.push(&event);
    }
});
