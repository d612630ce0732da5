//! Events built to break things, through the real `msma ingest`: each is dead-lettered
//! with its reason or handled as docs/HARDENING.md says; nothing crashes, memory stays
//! bounded (msma prints its peak), and nothing identifying reaches the datasets.

use crate::util::{Site, msma, ok, stdout, zone_contains};
use std::io::Write;

/// A valid consultation: the template every case mutates.
const BASE: &str = r#"{"event_id":"2b025e09-f9b9-4323-9941-026ceceba5d7","event_type":"consultation","schema_version":1,"network_id":"RMS-PACA","microstructure_id":"MS-06-001","occurred_at":"2021-03-04T08:30:00+01:00","patient":{"local_id":"P-000236"},"payload":{"professional_role":"psychologist","professional_id":"579332637","mode":"in_person","duration_min":45,"no_show":false}}"#;

/// What must become of a line: dead-lettered for this reason, or written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Dead(&'static str),
    Written,
}
use Outcome::{Dead, Written};

fn with(from: &str, to: &str) -> Vec<u8> {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1).into_bytes()
}

/// Every hostile case: what it is, its bytes, what must happen.
fn cases() -> Vec<(&'static str, Vec<u8>, Outcome)> {
    let big = |n: usize| with(r#""mode":"in_person""#, &format!(r#""mode":"{}""#, "x".repeat(n)));
    // In the payload, which is kept raw until its type is known: skipped without
    // recursion, then refused at its first bracket.
    let deep = {
        let at = BASE.find(r#""payload":"#).unwrap() + r#""payload":"#.len();
        format!("{}{}{}}}", &BASE[..at], "[".repeat(10_000), "]".repeat(10_000)).into_bytes()
    };
    let mut bad_utf8 = with("P-000236", "P-0002__");
    let at = bad_utf8.windows(2).position(|w| w == b"__").unwrap();
    bad_utf8[at] = 0xC3;
    bad_utf8[at + 1] = 0x28;
    vec![
        ("a 10 MB line", big(10 << 20), Dead("oversized_line")),
        ("a 100 MB line", big(100 << 20), Dead("oversized_line")),
        ("10,000-deep nesting in the payload", deep, Dead("schema_violation")),
        (
            "100,000-deep nesting as a field",
            format!(
                r#"{{"event_id":{}1{}}}"#,
                r#"{"a":"#.repeat(100_000),
                "}".repeat(100_000)
            )
            .into_bytes(),
            Dead("schema_violation"),
        ),
        ("invalid UTF-8 in an identifier", bad_utf8, Dead("invalid_utf8")),
        (
            "a raw NUL byte in a string",
            with("P-000236", "P-000\u{0}236"),
            Dead("malformed_json"),
        ),
        (
            "an escaped NUL in an identifier",
            with("P-000236", "P-000\\u0000236"),
            Dead("schema_violation"),
        ),
        (
            "a duplicate key (local_id twice)",
            with(
                r#""local_id":"P-000236""#,
                r#""local_id":"P-000236","local_id":"P-999999""#,
            ),
            Dead("schema_violation"),
        ),
        (
            "a duplicate top-level key",
            with(
                r#""network_id":"RMS-PACA""#,
                r#""network_id":"RMS-PACA","network_id":"RMS-IDF""#,
            ),
            Dead("schema_violation"),
        ),
        (
            "schema_version beyond 64 bits",
            with(r#""schema_version":1"#, r#""schema_version":18446744073709551617"#),
            Dead("schema_violation"),
        ),
        (
            "a number beyond 64 bits",
            with(r#""duration_min":45"#, r#""duration_min":1e400"#),
            Dead("schema_violation"),
        ),
        (
            "a NaN token",
            with(r#""duration_min":45"#, r#""duration_min":NaN"#),
            Dead("malformed_json"),
        ),
        (
            "a \"NaN\" string as a number",
            with(r#""duration_min":45"#, r#""duration_min":"NaN""#),
            Dead("schema_violation"),
        ),
        (
            "\"Infinity\" as a number",
            with(r#""duration_min":45"#, r#""duration_min":"Infinity""#),
            Dead("schema_violation"),
        ),
        (
            "a negative duration",
            with(r#""duration_min":45"#, r#""duration_min":-45"#),
            Dead("schema_violation"),
        ),
        (
            "a date without offset",
            with("2021-03-04T08:30:00+01:00", "2021-03-04T08:30:00"),
            Dead("schema_violation"),
        ),
        (
            "the 30th of February",
            with("2021-03-04T08:30:00+01:00", "2021-02-30T08:30:00+01:00"),
            Dead("schema_violation"),
        ),
        (
            "year 275760",
            with("2021-03-04T08:30:00+01:00", "+275760-09-13T00:00:00Z"),
            Dead("schema_violation"),
        ),
        (
            "year 0",
            with("2021-03-04T08:30:00+01:00", "0000-01-01T00:00:00Z"),
            Dead("schema_violation"),
        ),
        (
            "an offset of 25 hours",
            with("2021-03-04T08:30:00+01:00", "2021-03-04T08:30:00+25:00"),
            Dead("schema_violation"),
        ),
        (
            "a leap second",
            with("2021-03-04T08:30:00+01:00", "2021-03-04T23:59:60+01:00"),
            Dead("schema_violation"),
        ),
        (
            "a Cyrillic Р in the network",
            with("RMS-PACA", "RMS-\u{420}ACA"),
            Dead("schema_violation"),
        ),
        (
            "a Cyrillic Р in the local id",
            with("P-000236", "\u{420}-000236"),
            Dead("schema_violation"),
        ),
        (
            "a right-to-left mark in the local id",
            with("P-000236", "P-000\u{200F}236"),
            Dead("schema_violation"),
        ),
        (
            "a right-to-left override in the local id",
            with("P-000236", "P-\u{202E}000236"),
            Dead("schema_violation"),
        ),
        (
            "a zero-width space in the local id",
            with("P-000236", "P-000\u{200B}236"),
            Dead("schema_violation"),
        ),
        (
            "a NIR in an extra top-level field",
            with(r#""event_type""#, r#""nir":"180017512345678","event_type""#),
            Dead("schema_violation"),
        ),
        (
            "a NIR in an extra patient field",
            with(r#""local_id":"#, r#""nir":"180017512345679","local_id":"#),
            Dead("schema_violation"),
        ),
        (
            "a NIR in an extra payload field",
            with(r#""mode":"#, r#""note":"NIR 180017512345670","mode":"#),
            Dead("schema_violation"),
        ),
        ("a NIR as the local id", with("P-000236", "180017512345671"), Written),
        (
            "spaces and a tab around the local id",
            with("P-000236", "  P-000236\\t"),
            Written,
        ),
        ("the plain template", BASE.as_bytes().to_vec(), Written),
        (
            "trailing garbage after the object",
            [BASE.as_bytes(), b" {}"].concat(),
            Dead("malformed_json"),
        ),
        ("an empty line", Vec::new(), Dead("malformed_json")),
        ("a JSON array", b"[1,2,3]".to_vec(), Dead("schema_violation")),
    ]
}

#[test]
fn hostile_events_are_dead_lettered_or_handled_and_never_reach_the_datasets() {
    let site = Site::new();
    let cases = cases();
    let input = site.path("identified/hostile.ndjson");
    std::fs::create_dir_all(input.parent().unwrap()).unwrap();
    let mut file = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    // Each case an event of its own: the template's id made distinct (an event id seen
    // again with other content is a conflicting duplicate).
    const TEMPLATE_ID: &[u8] = b"2b025e09-f9b9-4323-9941-026ceceba5d7";
    for (i, (_, bytes, _)) in cases.iter().enumerate() {
        let mut bytes = bytes.clone();
        if let Some(at) = bytes.windows(TEMPLATE_ID.len()).position(|w| w == TEMPLATE_ID) {
            let id = format!("2b025e09-f9b9-4323-9941-{i:012x}");
            bytes[at..at + TEMPLATE_ID.len()].copy_from_slice(id.as_bytes());
        }
        file.write_all(&bytes).unwrap();
        file.write_all(b"\n").unwrap();
    }
    file.into_inner().unwrap().sync_all().unwrap();

    let args = site.ingest_args(input.to_str().unwrap(), "research");
    let out = stdout(&ok(&args));
    let peak: u64 = out
        .lines()
        .find_map(|l| {
            l.strip_prefix("peak memory: ")?
                .strip_suffix(" MiB resident")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no peak memory line in {out}"));
    assert!(peak <= 128, "peak RSS {peak} MiB for a file with a 100 MB line");

    // Each dead letter names its line and reason.
    let dead = std::fs::read_to_string(site.path("identified/research-dead.ndjson")).unwrap();
    let mut reasons = std::collections::BTreeMap::new();
    for l in dead.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(!v["detail"].as_str().unwrap().is_empty(), "{l:.300}");
        reasons.insert(v["line"].as_u64().unwrap(), v["reason"].as_str().unwrap().to_owned());
    }
    let (mut table, mut wrong) = (String::new(), Vec::new());
    for (i, (what, _, expected)) in cases.iter().enumerate() {
        let got = match reasons.get(&(i as u64 + 1)) {
            Some(r) => format!("dead letter: {r}"),
            None => "written".to_owned(),
        };
        let want = match expected {
            Dead(r) => format!("dead letter: {r}"),
            Written => "written".to_owned(),
        };
        if got != want {
            wrong.push(format!("line {} ({what}): {got}, expected {want}", i + 1));
        }
        table.push_str(&format!("| {what} | {got} |\n"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let written = cases.iter().filter(|c| c.2 == Written).count();
    assert!(out.contains(&format!("{written} written")), "{out}");

    // Nothing identifying in the zone: not the local ids, not the NIRs anywhere.
    let zone = site.path("research");
    for needle in [
        "P-000236",
        "180017512345671",
        "180017512345678",
        "180017512345679",
        "180017512345670",
    ] {
        assert!(!zone_contains(&zone, needle), "{needle} reached the zone");
    }
    // The template and its padded copy are one patient: surrounding spaces are trimmed.
    let distinct = stdout(&ok(&[
        "query",
        "--data",
        zone.to_str().unwrap(),
        "--format",
        "csv",
        "SELECT count(*) AS n, count(DISTINCT patient_pseudonym) AS p FROM consultation",
    ]));
    assert!(distinct.contains(&format!("{written},2")), "{distinct}");
    // `validate` reads the same file without crashing and agrees on the count.
    let validate = msma().args(["validate", input.to_str().unwrap()]).output().unwrap();
    assert_eq!(
        validate.status.code(),
        Some(1),
        "validate exits 1 when a line is invalid"
    );
    eprintln!("{} hostile lines, peak RSS {peak} MiB:\n{table}", cases.len());
}

/// The ledger records of a zone.
fn records(zone: &std::path::Path) -> usize {
    std::fs::read_dir(zone.join("_msma/log")).map_or(0, |d| d.count())
}

#[test]
fn an_input_that_is_not_ndjson_stops_ingest_and_commits_nothing() {
    let site = Site::new();
    let csv = site.path("identified/export.csv");
    let rows: String = (0..50).map(|i| format!("RMS-PACA;P-{i:06};2021-03-04\n")).collect();
    std::fs::write(&csv, format!("network;patient;date\n{rows}")).unwrap();
    let binary = env!("CARGO_BIN_EXE_msma");
    for input in [binary, csv.to_str().unwrap(), "-"] {
        let args = site.ingest_args(input, "research");
        let mut cmd = msma();
        cmd.args(&args);
        if input == "-" {
            cmd.stdin(std::fs::File::open(binary).unwrap());
        }
        let out = cmd.output().unwrap();
        let err = crate::util::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{input}: {err}");
        let named = if input == "-" { "stdin" } else { input };
        assert!(
            err.contains(&format!("the input {named} is not NDJSON: ")) && err.contains("one JSON event per line"),
            "{err}"
        );
        assert!(
            !err.contains("ELF") && !err.contains("P-0000"),
            "the input is quoted: {err}"
        );
        assert_eq!(
            records(&site.path("research")),
            0,
            "{input}: a ledger record was written"
        );
        let dead = std::fs::metadata(site.path("identified/research-dead.ndjson")).map_or(0, |m| m.len());
        assert_eq!(dead, 0, "{input}: dead letters were written");
    }
    // A pipe given as a file (`<(...)`, /dev/stdin) is sampled without being read twice.
    let events = site.generate(3_000, 5, 0);
    let mut child = msma()
        .args(site.ingest_args("/dev/stdin", "piped"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let text = std::fs::read(&events).unwrap();
    let feeding = std::thread::spawn(move || pipe.write_all(&text));
    let out = child.wait_with_output().unwrap();
    feeding.join().unwrap().unwrap();
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    assert!(stdout(&out).contains("read 3000 lines"), "{}", stdout(&out));
    // `validate` reads anything and says, in its summary and its exit code, that lines are invalid.
    let out = msma().args(["validate", csv.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        crate::util::stderr(&out).contains("51 lines: 0 valid, 51 invalid"),
        "{}",
        crate::util::stderr(&out)
    );
}
