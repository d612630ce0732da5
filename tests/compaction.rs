//! Compaction: a trickle of tiny commits rewritten into a few large files, which every
//! reader (the ledger's and Hive readers of the folders) sees exactly once, which
//! `audit verify` proves holds the same rows, and which a kill -9 at any moment leaves
//! consistent.

use crate::util::{Site, msma, ok, python, stdout};
use std::path::Path;
use std::time::Duration;

/// Events of the trickle, and lines per commit: a commit per 2 events, as a worker
/// with a short latency commits them one at a time.
const EVENTS: u64 = 4_000;

/// The trickle: `input` ingested into `zone` two lines per commit, compaction off.
fn trickle(site: &Site, input: &str, zone: &str) -> String {
    let mut args = site.ingest_args(input, zone);
    args.extend(["--commit-lines", "2", "--compact-min-files", "0"].map(String::from));
    stdout(&ok(&args))
}

/// Dataset files (outside `_msma/`) and their bytes.
fn files_and_bytes(zone: &Path) -> (u64, u64) {
    let (mut files, mut bytes) = (0, 0);
    let mut stack = vec![zone.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n == "_msma") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                files += 1;
                bytes += p.metadata().unwrap().len();
            }
        }
    }
    (files, bytes)
}

fn gender_csv(site: &Site, zone: &str) -> String {
    stdout(&ok(&[
        "report",
        "gender",
        "--data",
        &site.s(zone),
        "--format",
        "csv",
        "--out",
        "-",
    ]))
}

/// `audit verify`'s exit status and what it printed.
fn verify(site: &Site, zone: &str) -> (bool, String) {
    let out = msma()
        .args(["audit", "verify", "--data", &site.s(zone)])
        .output()
        .unwrap();
    (
        out.status.success(),
        format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr)),
    )
}

fn count(site: &Site, zone: &str) -> String {
    stdout(&ok(&[
        "query",
        "--data",
        &site.s(zone),
        "--format",
        "csv",
        "SELECT count(*) FROM consultation",
    ]))
}

/// A compacted file of the zone's last record.
fn last_record(zone: &Path) -> (std::path::PathBuf, serde_json::Value) {
    let mut names: Vec<_> = std::fs::read_dir(zone.join("_msma/log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    let last = names.pop().unwrap();
    let record = serde_json::from_slice(&std::fs::read(&last).unwrap()).unwrap();
    (last, record)
}

#[test]
fn a_trickle_compacts_to_the_files_of_one_commit_with_the_same_rows() {
    let site = Site::new();
    let input = site.generate(EVENTS, 7, 0);
    ok(&site.ingest_args(&input, "clean"));
    trickle(&site, &input, "zone");
    let (one_files, one_bytes) = files_and_bytes(&site.path("clean"));
    let (trickle_files, _) = files_and_bytes(&site.path("zone"));
    assert!(trickle_files > 4 * one_files, "{trickle_files} files vs {one_files}");

    let out = stdout(&ok(&["compact", "--data", &site.s("zone")]));
    assert!(out.starts_with("compacted "), "{out}");
    let (files, bytes) = files_and_bytes(&site.path("zone"));
    assert!(files <= 2 * one_files, "{files} files vs {one_files} in one commit");
    assert!(bytes * 2 <= one_bytes * 3, "{bytes} bytes vs {one_bytes} in one commit");
    assert!(
        site.path("zone/_msma/retired").is_dir(),
        "retired files wait for vacuum outside the datasets"
    );
    let again = stdout(&ok(&["compact", "--data", &site.s("zone")]));
    assert!(again.starts_with("nothing to compact"), "{again}");

    assert_eq!(gender_csv(&site, "zone"), gender_csv(&site, "clean"));
    assert_eq!(count(&site, "zone"), count(&site, "clean"));
    let duck = python("same_rows.py", &[&site.s("clean"), &site.s("zone")]);
    let arrow = python("pyarrow_rows.py", &[&site.s("clean"), &site.s("zone")]);
    assert_eq!(duck, arrow);
    let (passed, said) = verify(&site, "zone");
    assert!(passed, "{said}");

    let (_, record) = last_record(&site.path("zone"));
    // Sent again, the input adds nothing: as it was (its segments are committed), and
    // in another order (its events are duplicates, found in the merged dedup run).
    let again = stdout(&ok(&site.ingest_args(&input, "zone")));
    assert!(again.contains(&format!("{EVENTS} already committed")), "{again}");
    let mut lines: Vec<String> = std::fs::read_to_string(&input)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.reverse();
    let reversed = site.s("identified/reversed.ndjson");
    std::fs::write(&reversed, lines.join("\n") + "\n").unwrap();
    let again = stdout(&ok(&site.ingest_args(&reversed, "zone")));
    assert!(again.contains(&format!("{EVENTS} duplicate(s)")), "{again}");
    assert_eq!(files_and_bytes(&site.path("zone")).0, files);

    // A flipped byte in a compacted file is caught.
    assert_eq!(record["source"]["kind"], "compaction", "{record}");
    let compacted = site.path("zone").join(record["files"][0]["path"].as_str().unwrap());
    let mut bytes = std::fs::read(&compacted).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&compacted, bytes).unwrap();
    let (passed, said) = verify(&site, "zone");
    assert!(!passed && said.contains("was modified after record"), "{said}");
}

#[test]
fn ingests_compact_on_their_own_past_the_setting() {
    let site = Site::new();
    let input = site.generate(1_000, 8, 0);
    let mut args = site.ingest_args(&input, "zone");
    args.extend(["--commit-lines", "2"].map(String::from));
    ok(&args);
    let (_, record) = last_record(&site.path("zone"));
    assert_eq!(record["source"]["kind"], "compaction", "{record}");
    // No partition is left with more files than the setting.
    let mut per_partition = std::collections::BTreeMap::<std::path::PathBuf, u64>::new();
    let mut stack = vec![site.path("zone")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !p.ends_with("_msma") {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "parquet") {
                *per_partition.entry(p.parent().unwrap().to_owned()).or_default() += 1;
            }
        }
    }
    assert!(per_partition.values().all(|n| *n < 8), "{per_partition:?}");
    let (passed, said) = verify(&site, "zone");
    assert!(passed, "{said}");
}

#[test]
fn a_compaction_killed_at_any_moment_leaves_every_reader_with_exactly_the_rows() {
    let site = Site::new();
    let input = site.generate(2_400, 9, 0);
    ok(&site.ingest_args(&input, "clean"));
    let lines: Vec<String> = std::fs::read_to_string(&input)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let delays = [0, 15, 40, 70, 110, 160, 230, 320];
    let chunk = lines.len() / delays.len();
    for (round, delay) in delays.iter().enumerate() {
        let part = site.s(&format!("identified/part{round}.ndjson"));
        std::fs::write(&part, lines[round * chunk..(round + 1) * chunk].join("\n") + "\n").unwrap();
        trickle(&site, &part, "zone");
        let mut child = msma().args(["compact", "--data", &site.s("zone")]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(*delay));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    ok(&["compact", "--data", &site.s("zone")]);
    assert_eq!(count(&site, "zone"), count(&site, "clean"));
    assert_eq!(gender_csv(&site, "zone"), gender_csv(&site, "clean"));
    python("pyarrow_rows.py", &[&site.s("clean"), &site.s("zone")]);
    python("same_rows.py", &[&site.s("clean"), &site.s("zone")]);
    let (passed, said) = verify(&site, "zone");
    assert!(passed, "{said}");
}

#[test]
fn a_compaction_record_whose_files_lose_or_add_rows_is_caught() {
    let site = Site::new();
    let input = site.generate(600, 10, 0);
    trickle(&site, &input, "zone");
    ok(&["compact", "--data", &site.s("zone")]);
    let zone = site.path("zone");
    let (path, record) = last_record(&zone);
    let retired = record["retired"].as_array().unwrap();
    let input = retired.iter().find(|f| f["dataset"] != "_msma").unwrap();

    // The outputs lose a row: the record says an input held one more.
    let mut lost = record.clone();
    let rows = input["rows"].as_u64().unwrap();
    for f in lost["retired"].as_array_mut().unwrap() {
        if f["path"] == input["path"] {
            f["rows"] = (rows + 1).into();
        }
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&lost).unwrap()).unwrap();
    let (passed, said) = verify(&site, "zone");
    assert!(
        !passed && said.contains("do not hold the rows of those it retires"),
        "{said}"
    );

    // The outputs add a row: an input put back, as though the record never retired it.
    let mut added = record.clone();
    added["retired"]
        .as_array_mut()
        .unwrap()
        .retain(|f| f["path"] != input["path"]);
    let rel = input["path"].as_str().unwrap();
    std::fs::rename(zone.join("_msma/retired").join(rel), zone.join(rel)).unwrap();
    std::fs::write(&path, serde_json::to_vec_pretty(&added).unwrap()).unwrap();
    let (passed, said) = verify(&site, "zone");
    assert!(
        !passed && said.contains("do not hold the rows of those it retires"),
        "{said}"
    );
}
