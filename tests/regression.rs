//! The fuzz targets' functions (fuzz/) on the inputs kept in tests/corpus/<target>/:
//! inputs libFuzzer found new paths with, and any that once crashed a target. Each must
//! be accepted or refused with a reason, never panic.

use crate::util::repo;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = repo().join("tests/corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{}: the corpus is missing", dir.display());
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_fuzz_corpus_is_accepted_or_refused_never_a_panic() {
    let key = msma_pseudo::MasterKey::from_bytes([7; 32]).study_key(&msma_pseudo::StudyId::new("fuzz").unwrap());
    let (mut accepted, mut refused) = (0, 0);
    for (name, line) in corpus("event") {
        let outcome = std::panic::catch_unwind(|| {
            let pseudo = msma_pseudo::Pseudonymiser::new(&key);
            let mut transform = msma_ingest::Transform::new(pseudo, msma_pseudo::Policy::default());
            let pushed = msma_schema::decode(&line).map_err(msma_ingest::PushError::Rejected);
            match pushed.and_then(|event| transform.push(&event, &line, 0)) {
                Ok(_) => true,
                Err(msma_ingest::PushError::Index(e)) => panic!("event {name}: no index to fail: {e}"),
                Err(msma_ingest::PushError::Rejected(rejection)) => {
                    assert!(!rejection.detail.is_empty(), "event {name}: a refusal without a reason");
                    false
                }
            }
        });
        match outcome.unwrap_or_else(|_| panic!("event {name} panicked")) {
            true => accepted += 1,
            false => refused += 1,
        }
    }
    for (name, text) in corpus("key_file") {
        let outcome = std::panic::catch_unwind(|| msma_pseudo::MasterKey::parse(&text).map(|k| k.id().to_string()));
        outcome.unwrap_or_else(|_| panic!("key file {name} panicked")).ok();
    }
    for (name, bytes) in corpus("config") {
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let outcome = std::panic::catch_unwind(|| {
            let _ = msma_config::Config::from_text(Some(("fuzz.toml", text)), &[]);
            let _ = msma_pseudo::Policy::parse(text);
        });
        outcome.unwrap_or_else(|_| panic!("configuration {name} panicked"));
    }
    assert!(accepted > 0 && refused > 0, "{accepted} accepted, {refused} refused");
}
