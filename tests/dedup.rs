//! Exactly once against what sources do: events sent again (a file re-sent, part of a
//! day's export in a second file, the same file pushed twice to Kafka, a line twice in a
//! file) are written once and counted as duplicates; an event sent again with other
//! content is dead-lettered as `conflicting_duplicate`; the dedup index holds no raw
//! event id, and survives kills.

use crate::kafka::{Broker, pushed_all, worker_args};
use crate::util::{Site, msma, ok, python, stdout, zone_contains};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn lines(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write(site: &Site, name: &str, lines: &[String]) -> String {
    let path = site.s(&format!("identified/{name}"));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// The summary's count of duplicates (0 when it prints none).
fn duplicates(summary: &str) -> u64 {
    summary
        .lines()
        .find_map(|l| l.split_once(" duplicate(s)").map(|(n, _)| n.trim().parse().unwrap()))
        .unwrap_or(0)
}

/// The sum of `rows.duplicates` over the zone's ledger.
fn ledger_duplicates(zone: &std::path::Path) -> u64 {
    std::fs::read_dir(zone.join("_msma/log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let r: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            r["rows"]["duplicates"].as_u64().unwrap_or(0)
        })
        .sum()
}

#[test]
fn events_sent_again_in_other_files_are_written_once() {
    let site = Site::new();
    let all = lines(&site.generate(4_000, 41, 0));
    let whole = write(&site, "whole.ndjson", &all);
    ok(&site.ingest_args(&whole, "clean"));

    // Day one: lines 1-3000. Day two re-sends 500 of them with 1,000 new, and one line twice.
    let first = write(&site, "day1.ndjson", &all[..3_000]);
    let mut second: Vec<String> = all[2_500..].to_vec();
    second.push(all[3_200].clone());
    let second = write(&site, "day2.ndjson", &second);
    ok(&site.ingest_args(&first, "zone"));
    let out = stdout(&ok(&site.ingest_args(&second, "zone")));
    assert_eq!(duplicates(&out), 501, "{out}");
    assert_eq!(ledger_duplicates(&site.path("zone")), 501);
    let same = python("same_rows.py", &[&site.s("clean"), &site.s("zone")]);
    assert!(same.contains("same rows"), "{same}");

    // The whole export again, under another name: nothing new (its first 3,000 lines
    // are day one's segment, known by its digest; the others are duplicates).
    let again = write(&site, "resent.ndjson", &all);
    let out = stdout(&ok(&site.ingest_args(&again, "zone")));
    assert!(out.contains(": 0 written, 0 rejected, 3000 already committed"), "{out}");
    assert_eq!(duplicates(&out), 1_000, "{out}");
    let same = python("same_rows.py", &[&site.s("clean"), &site.s("zone")]);
    assert!(same.contains("same rows"), "{same}");

    // The index holds keyed digests: no event id reaches the zone, in any case.
    for line in all.iter().step_by(97) {
        let ev: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = ev["event_id"].as_str().unwrap();
        for needle in [id.to_owned(), id.to_uppercase(), id.replace('-', "")] {
            assert!(
                !zone_contains(&site.path("zone"), &needle),
                "an event id is in the zone"
            );
        }
    }
    // The steward's check passes, and covers the runs: one edited is found.
    let verified = stdout(&ok(&["audit", "verify", "--data", &site.s("zone")]));
    assert!(
        verified.contains("dedup index: 2 runs checked; 1501 events came again"),
        "{verified}"
    );
    let run = std::fs::read_dir(site.path("zone/_msma/dedup"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&run).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&run, bytes).unwrap();
    let tampered = msma()
        .args(["audit", "verify", "--data", &site.s("zone")])
        .output()
        .unwrap();
    assert!(!tampered.status.success());
    assert!(
        String::from_utf8_lossy(&tampered.stdout).contains("was modified"),
        "{tampered:?}"
    );
}

#[test]
fn a_corrected_file_writes_nothing_twice_and_dead_letters_the_change() {
    let site = Site::new();
    let mut all = lines(&site.generate(4_000, 43, 0));
    let path = write(&site, "export.ndjson", &all);
    ok(&site.ingest_args(&path, "zone"));
    ok(&site.ingest_args(&path, "clean"));

    // The same file, one line changed (a microstructure corrected), under the same name.
    let mut ev: serde_json::Value = serde_json::from_str(&all[1_234]).unwrap();
    ev["microstructure_id"] = "MS-CORRECTED-1".into();
    all[1_234] = ev.to_string();
    write(&site, "export.ndjson", &all);
    let out = stdout(&ok(&site.ingest_args(&path, "zone")));
    assert_eq!(duplicates(&out), 3_999, "{out}");
    assert!(out.contains("conflicting_duplicate 1"), "{out}");
    let same = python("same_rows.py", &[&site.s("clean"), &site.s("zone")]);
    assert!(same.contains("same rows"), "{same}");
    let dead = std::fs::read_to_string(site.path("identified/zone-dead.ndjson")).unwrap();
    let letter: serde_json::Value = serde_json::from_str(dead.lines().last().unwrap()).unwrap();
    assert_eq!(letter["reason"], "conflicting_duplicate");
    assert_eq!(letter["line"], 1_235);
}

#[test]
fn a_resend_killed_again_and_again_lets_no_duplicate_through() {
    let site = Site::new();
    let all = lines(&site.generate(30_000, 47, 0));
    let whole = write(&site, "whole.ndjson", &all);
    ok(&site.ingest_args(&whole, "clean"));
    let first = write(&site, "first.ndjson", &all[..20_000]);
    ok(&site.ingest_args(&first, "zone"));
    // The re-send overlaps the first file by 10,000 events and commits every 1,000 lines.
    let second = write(&site, "second.ndjson", &all[10_000..]);
    let mut args = site.ingest_args(&second, "zone");
    args.extend(["--commit-lines".to_owned(), "1000".to_owned()]);
    let (mut kills, started) = (0u64, Instant::now());
    loop {
        let mut child = msma().args(&args).stdout(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(30 + (kills * 41) % 150));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        assert!(started.elapsed() < Duration::from_secs(300), "ingest never finished");
    }
    ok(&args);
    let same = python("same_rows.py", &[&site.s("clean"), &site.s("zone")]);
    assert!(same.contains("same rows"), "after {kills} kills: {same}");
    assert_eq!(ledger_duplicates(&site.path("zone")), 10_000, "after {kills} kills");
    eprintln!("survived {kills} kills; {same}");
}

#[test]
fn the_same_file_pushed_twice_to_kafka_is_written_once() {
    let site = Site::new();
    let broker = Broker::start();
    let input = broker.load(&site, 4_000, 53);
    let push = msma()
        .args(["push", "--brokers", &broker.1, "--topic", "events", &input])
        .output();
    pushed_all(&push.unwrap());
    let mut drain = worker_args(&site, &broker.1, &site.s("kafka"));
    drain.extend(["--stop-when-idle-ms".to_owned(), "4000".to_owned()]);
    let out = stdout(&ok(&drain));
    let valid = lines(&input).len() as u64 - lines(&site.s("identified/clean-dead.ndjson")).len() as u64;
    assert_eq!(duplicates(&out), valid, "{out}");
    let same = python("same_rows.py", &[&site.s("clean"), &site.s("kafka")]);
    assert!(same.contains("same rows"), "{same}");
}
