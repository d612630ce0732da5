//! The contents of a key file: accepted or refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &[u8]| {
    if let Ok(key) = msma_pseudo::MasterKey::parse(text) {
        let _ = key.id();
    }
});
