//! A patient's withdrawal (GDPR art. 21), end to end: `msma withdraw` removes their rows
//! from every dataset in one commit, records it in the custodian's register with the
//! pseudonym and never the local id, keeps their later events out (dead-lettered as
//! `withdrawn`), and after `msma vacuum` no byte of the zone holds the pseudonym.

use crate::kafka::{Broker, log_offsets, pushed_all, worker_args};
use crate::util::{Site, msma, ok, python, stderr, stdout};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;

/// The (network, local id) with the most valid events in `input`, and their lines.
fn busiest_patient(input: &str) -> ((String, String), Vec<String>) {
    let mut by: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for line in std::fs::read_to_string(input).unwrap().lines() {
        let Ok(ev) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(n), Some(l)) = (ev["network_id"].as_str(), ev["patient"]["local_id"].as_str()) else {
            continue;
        };
        by.entry((n.to_owned(), l.to_owned()))
            .or_default()
            .push(line.to_owned());
    }
    by.into_iter().max_by_key(|(_, lines)| lines.len()).unwrap()
}

/// Their events again, under new event ids (new events of theirs, as a network would
/// send them after the withdrawal).
fn later(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut ev: serde_json::Value = serde_json::from_str(l).unwrap();
            ev["event_id"] = format!("7c0a4f1e-2b9d-4c3a-9e8f-{i:012}").into();
            ev.to_string()
        })
        .collect()
}

/// Rows of every dataset holding `pseudonym`, and all rows, as DuckDB reads the
/// dataset folders (a Hive reader we did not write).
fn rows(zone: &str, pseudonym: &str) -> (u64, u64) {
    let datasets: Vec<String> = std::fs::read_dir(zone)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(['_', '.']))
        .map(|n| format!("SELECT patient_pseudonym FROM {n}"))
        .collect();
    let sql = format!(
        "SELECT count(*) FILTER (WHERE patient_pseudonym = '{pseudonym}'), count(*) FROM ({})",
        datasets.join(" UNION ALL ")
    );
    let out = python("query.py", &[zone, &sql]);
    let (theirs, all) = out.trim().split_once(',').unwrap();
    (theirs.parse().unwrap(), all.parse().unwrap())
}

fn withdraw(site: &Site, zone: &str, network: &str, local_id: &str) -> std::process::Output {
    let mut child = msma()
        .args(["withdraw", "--data", &site.s(zone), "--keys", &site.key()])
        .args(["--study", "test-study", "--network", network, "--local-id", "-"])
        .args(["--reason", "objection under GDPR art. 21, letter of 2026-11-30"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{local_id}").unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_withdrawn_patient_leaves_no_row_no_byte_and_no_later_event() {
    let site = Site::new();
    let input = site.generate(3_000, 53, 0);
    ok(&site.ingest_args(&input, "zone"));
    let ((network, local_id), lines) = busiest_patient(&input);
    // The custodian's own look-up, to know what to search the zone for.
    let pseudonym = pseudonym(&site, &network, &local_id);
    let zone = site.s("zone");
    let (theirs, before) = rows(&zone, &pseudonym);
    assert_eq!(theirs, lines.len() as u64, "each of their events is a row");

    let out = withdraw(&site, "zone", &network, &local_id);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out) + &stderr(&out);
    assert!(said.contains(&format!("{theirs} row(s) removed")), "{said}");
    assert!(!said.contains(&local_id) && !said.contains(&pseudonym), "{said}");
    assert_eq!(rows(&zone, &pseudonym), (0, before - theirs));
    ok(&["audit", "verify", "--data", &zone]);

    // The register beside the key holds the withdrawal with the pseudonym, never the id.
    let register = std::fs::read_to_string(site.s("custodian/master.key.requests.ndjson")).unwrap();
    let line = register.lines().last().unwrap();
    assert!(line.contains("\"withdrawal\"") && line.contains(&pseudonym), "{line}");
    assert!(!register.contains(&local_id));
    let listed = stdout(&ok(&["audit", "requests", "--keys", &site.key()]));
    assert!(listed.contains(" 1 withdrawals"), "{listed}");

    // Their later events (sent again, or new ones) are kept out, as dead letters.
    let later: Vec<String> = later(&lines).into_iter().chain(lines.iter().cloned()).collect();
    let again = site.s("identified/later.ndjson");
    std::fs::write(&again, later.join("\n") + "\n").unwrap();
    let out = ok(&site.ingest_args(&again, "zone"));
    assert!(
        stdout(&out).contains(&format!("withdrawn {}", later.len())),
        "{}",
        stdout(&out)
    );
    assert_eq!(rows(&zone, &pseudonym), (0, before - theirs));

    // Until vacuum the retired files hold them; after, no byte of the zone does.
    assert!(python("holds_value.py", &[&zone, &pseudonym]).contains("found in _msma/retired/"));
    ok(&["vacuum", "--data", &zone, "--keep-days", "0"]);
    let scan = python("holds_value.py", &[&zone, &pseudonym]);
    assert!(scan.starts_with("absent from "), "{scan}");
    // Reports and the ledger count the rows that are left.
    let verified = stdout(&ok(&["audit", "verify", "--data", &zone]));
    assert!(
        verified.contains(&format!(" {} rows written", before - theirs)),
        "{verified}"
    );
    let report = stdout(&ok(&[
        "report", "gender", "--data", &zone, "--format", "csv", "--out", "-",
    ]));
    assert!(report.lines().count() > 1, "{report}");
}

/// Pseudonym of a patient, as the custodian computes it.
fn pseudonym(site: &Site, network: &str, local_id: &str) -> String {
    let args = ["--study", "test-study", "--network", network, "--local-id", local_id];
    let out = ok(&[
        &["pseudonymise", "--keys", &site.key()][..],
        &args,
        &["--reason", "test: to search the zone"],
    ]
    .concat());
    stdout(&out).trim().to_owned()
}

/// Waits until the commit log of `zone` covers `offsets` offsets.
fn committed(zone: &std::path::Path, offsets: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while log_offsets(zone) < offsets {
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {offsets} committed",
            log_offsets(zone)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn a_running_worker_keeps_out_the_events_of_a_patient_who_withdrew_meanwhile() {
    let site = Site::new();
    let broker = Broker::start();
    let input = site.generate(3_000, 59, 0);
    let push = |file: &str| {
        pushed_all(
            &msma()
                .args(["push", "--brokers", &broker.1, "--topic", "events", file])
                .output()
                .unwrap(),
        )
    };
    push(&input);
    let worker = msma()
        .args(worker_args(&site, &broker.1, &site.s("zone")))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let zone = site.path("zone");
    committed(&zone, 3_000);
    // The worker has read the log and sits idle when the patient withdraws.
    let ((network, local_id), lines) = busiest_patient(&input);
    let out = withdraw(&site, "zone", &network, &local_id);
    assert!(out.status.success(), "{}", stderr(&out));
    let again = site.s("identified/later.ndjson");
    std::fs::write(&again, later(&lines).join("\n") + "\n").unwrap();
    push(&again);
    committed(&zone, 3_000 + lines.len() as i64);
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &worker.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let out = worker.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let pseudonym = pseudonym(&site, &network, &local_id);
    let zone = site.s("zone");
    assert_eq!(rows(&zone, &pseudonym).0, 0, "a later event of theirs was written");
    let summary = stdout(&out);
    assert!(summary.contains(&format!("{} rejected", lines.len())), "{summary}");
}
