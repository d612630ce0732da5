//! A configuration file and a policy file: accepted or refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = msma_config::Config::from_text(Some(("fuzz.toml", text)), &[]);
    let _ = msma_pseudo::Policy::parse(text);
});
