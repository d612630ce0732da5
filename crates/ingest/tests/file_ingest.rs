//! File ingest end to end at the library level: counts, exactly-once on re-runs and
//! after a torn run, dead letters, and no identifier in the research zone.

use msma_ingest::{DeadLetters, Input, Options, Transform, ingest};
use msma_pseudo::{MasterKey, Policy, Pseudonymiser, StudyId};
use msma_sink::{Identity, Zone};
use std::path::Path;

fn event(i: usize, kind: &str) -> String {
    let payload = match kind {
        "patient_inclusion" => {
            r#"{"referral_origin":"general_practitioner","first_reason":"addiction","housing":"durable","main_income":"employment","professional_activity":"employed","prior_care":false}"#
        }
        _ => {
            r#"{"professional_role":"psychologist","professional_id":"ADELI6712345","mode":"in_person","duration_min":45,"no_show":false}"#
        }
    };
    format!(
        r#"{{"event_id":"0f8fad5b-d9cb-469f-a165-{i:012}","event_type":"{kind}","schema_version":1,"network_id":"RMS-ALSACE","microstructure_id":"MS-67-001","occurred_at":"2024-03-05T10:00:00+01:00","patient":{{"local_id":"PAT-SECRET-{i}","ins":"185057800608491","last_name":"Zorglubowski","first_name":"Hortense","birth_date":"1980-02-29","sex":"F","postcode":"67000","phone":"06 12 34 56 78","email":"hortense.zorglubowski@example.fr"}},"payload":{payload}}}"#
    )
}

fn input(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let kind = if i % 3 == 0 {
            "patient_inclusion"
        } else {
            "consultation"
        };
        s.push_str(&event(i, kind));
        s.push('\n');
        if i % 10 == 5 {
            s.push_str("{not json\n");
        }
    }
    s
}

struct Env {
    _dir: tempfile::TempDir,
    zone: std::path::PathBuf,
    dead: std::path::PathBuf,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let zone = dir.path().join("research");
    std::fs::create_dir_all(&zone).unwrap();
    // Dead letters in the identified zone: beside the research zone, not above it.
    let identified = dir.path().join("identified");
    std::fs::create_dir_all(&identified).unwrap();
    let dead = identified.join("dead.ndjson");
    Env { _dir: dir, zone, dead }
}

/// Ingests `text` from a file (seekable) or, with `stream`, from a stream.
fn run_from(env: &Env, text: &[u8], commit_lines: u64, stream: bool) -> msma_ingest::Report {
    run_with(env, text, commit_lines, stream, Options::default().threads)
}

fn run_with(env: &Env, text: &[u8], commit_lines: u64, stream: bool, threads: usize) -> msma_ingest::Report {
    let key = MasterKey::from_bytes([9; 32]);
    let study = StudyId::new("test").unwrap();
    let policy = Policy::default();
    let identity = Identity {
        study_id: "test".into(),
        key_id: key.id().to_string(),
        policy: serde_json::to_value(&policy).unwrap(),
    };
    let mut zone = Zone::open(&env.zone, identity).unwrap();
    let mut dead = DeadLetters::open(&env.dead, Some(&env.zone)).unwrap();
    let t = Transform::new(Pseudonymiser::new(&key.study_key(&study)), policy);
    let opts = Options {
        commit_lines,
        threads,
        ..Options::default()
    };
    let input = if stream {
        Input::Stream(Box::new(text))
    } else {
        let path = env.zone.parent().unwrap().join("input.ndjson");
        std::fs::write(&path, text).unwrap();
        Input::File(std::io::BufReader::new(std::fs::File::open(path).unwrap()))
    };
    ingest(input, "input.ndjson", &mut zone, &t, &mut dead, &opts).unwrap()
}

fn run(env: &Env, text: &str, commit_lines: u64) -> msma_ingest::Report {
    run_from(env, text.as_bytes(), commit_lines, false)
}

/// Every file below `dir`.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                found.push(p);
            }
        }
    }
    found
}

fn zone_bytes(dir: &Path) -> Vec<u8> {
    files(dir).iter().flat_map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn counts_rerun_and_no_identifiers() {
    let env = env();
    let text = input(100);
    let r = run(&env, &text, 30);
    assert_eq!(r.read, 110);
    assert_eq!(r.written, 100);
    assert_eq!(r.rejected_total(), 10);
    assert_eq!(r.written + r.rejected_total(), r.read);
    assert_eq!(r.commits, 4);

    let again = run(&env, &text, 30);
    assert_eq!((again.written, again.commits, again.already_committed), (0, 0, 110));
    // Other boundaries cannot shift commits: still nothing new.
    let other = run(&env, &text, 7);
    assert_eq!((other.written, other.already_committed), (0, 110));
    let streamed = run_from(&env, text.as_bytes(), 7, true);
    assert_eq!((streamed.written, streamed.already_committed), (0, 110));

    let dead = std::fs::read_to_string(&env.dead).unwrap();
    assert_eq!(dead.lines().count(), 10, "dead letters once each");
    // Raw bytes: this covers the commit log and Parquet metadata, which are not
    // compressed; decoded column values are checked by tests/py/interop.py.
    let bytes = zone_bytes(&env.zone);
    for needle in [
        "PAT-SECRET",
        "Zorglubowski",
        "Hortense",
        "1980-02-29",
        "185057800608491",
        "06 12 34",
        "example.fr",
        "ADELI6712345",
        "MS-67-001",
        "0f8fad5b",
    ] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} leaked into the zone"
        );
    }
}

#[test]
fn appended_input_writes_only_the_new_lines() {
    let env = env();
    let text = input(50);
    let first = run(&env, &text, 1000);
    assert_eq!(first.written, 50);
    let longer = input(80);
    let r = run(&env, &longer, 1000);
    assert_eq!(r.already_committed, 55);
    assert_eq!(r.written, 30);
    let longest = input(90);
    let r = run_from(&env, longest.as_bytes(), 1000, true);
    assert_eq!((r.already_committed, r.written), (88, 10));
}

#[test]
fn hostile_lines_are_dead_lettered_with_their_reason() {
    let env = env();
    let mut text = Vec::new();
    text.extend_from_slice(event(1, "consultation").as_bytes());
    text.push(b'\n');
    text.extend_from_slice(&vec![b'x'; 3 << 20]);
    text.push(b'\n');
    text.extend_from_slice(b"{\"event_id\": \"\xff\xfe\"}\n");
    text.extend_from_slice(format!("{{\"payload\": {}", "[".repeat(10_000)).as_bytes());
    text.push(b'\n');
    text.extend_from_slice(b"{\"a\":\"\0\"}\n");
    text.extend_from_slice(
        event(2, "consultation")
            .replace("\"psychologist\"", "\"wizard\"")
            .as_bytes(),
    );
    text.push(b'\n');
    let r = run_from(&env, &text, 1000, true);
    assert_eq!((r.read, r.written, r.rejected_total()), (6, 1, 5));
    let dead = std::fs::read_to_string(&env.dead).unwrap();
    let reasons: Vec<String> = dead
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["reason"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "oversized_line",
            "invalid_utf8",
            "malformed_json",
            "schema_violation",
            "schema_violation"
        ]
    );
    assert!(dead.len() < 2 << 20, "an oversized line is not copied whole");
}

#[test]
fn invalid_utf8_is_dead_lettered_in_hex() {
    let env = env();
    let r = run_from(&env, b"{\"event_id\": \"\xff\"}\n", 1000, false);
    assert_eq!(r.rejected_total(), 1);
    let dead: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&env.dead).unwrap().trim()).unwrap();
    assert_eq!(dead["reason"], "invalid_utf8");
    assert_eq!(dead["raw_hex"], hex_of(b"{\"event_id\": \"\xff\"}"));
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Every file of a zone (its path below the zone) → its rows in order, as Arrow batches in Debug form.
fn zone_rows(zone: &Path) -> std::collections::BTreeMap<String, String> {
    let parquet = files(zone)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"));
    parquet
        .map(|p| {
            let file = std::fs::File::open(&p).unwrap();
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .build()
                .unwrap();
            let batches: Vec<_> = reader.map(Result::unwrap).collect();
            (
                p.strip_prefix(zone).unwrap().display().to_string(),
                format!("{batches:?}"),
            )
        })
        .collect()
}

#[test]
fn the_output_does_not_depend_on_the_number_of_threads() {
    // More lines than a block, commits that cut blocks, and dead letters among them.
    let text = input(20_000);
    let (one, four) = (env(), env());
    let a = run_with(&one, text.as_bytes(), 7_000, false, 1);
    let b = run_with(&four, text.as_bytes(), 7_000, false, 4);
    assert_eq!((a.read, a.written, a.commits), (b.read, b.written, b.commits));
    assert_eq!(a.rejected_total(), 2_000);
    let (rows_one, rows_four) = (zone_rows(&one.zone), zone_rows(&four.zone));
    assert!(rows_one.len() >= 6, "{:?}", rows_one.keys());
    assert_eq!(rows_one, rows_four, "same files, same rows in the same order");
    assert_eq!(
        std::fs::read(&one.dead).unwrap(),
        std::fs::read(&four.dead).unwrap(),
        "same dead letters in the same order"
    );
}
