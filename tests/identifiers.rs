//! Identifiers where no check used to look (issue 15, items 3, 5, 6 and 16), attacked
//! with the real binary: identifier-shaped network ids, identifiers planted in folder
//! names, file names and ledger records, errors that quote values, ages beyond the top
//! code, and an input made to explode the partitions.

use crate::util::{Site, msma, ok, stdout};
use std::path::Path;

/// A valid consultation of a declared network: the template every case mutates.
const BASE: &str = r#"{"event_id":"2b025e09-f9b9-4323-9941-026ceceba5d7","event_type":"consultation","schema_version":1,"network_id":"RMS-PACA","microstructure_id":"MS-06-001","occurred_at":"2021-03-04T08:30:00+01:00","patient":{"local_id":"P-000236"},"payload":{"professional_role":"psychologist","professional_id":"579332637","mode":"in_person","duration_min":45,"no_show":false}}"#;

/// A NIR with a valid key, a phone number, a name, a birth date and a postcode.
const PLANTED: [&str; 5] = ["176051330326187", "0612345678", "SANTONI-JEAN", "1985-03-14", "75011"];

fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

/// Writes `lines`, each event under an id of its own (the template's id, made distinct:
/// an event id seen again with other content is a conflicting duplicate).
fn write_lines(path: &str, lines: &[String]) {
    let text: String = (lines.iter().enumerate())
        .map(|(i, l)| l.replacen(TEMPLATE_ID, &format!("2b025e09-f9b9-4323-9941-{i:012x}"), 1) + "\n")
        .collect();
    std::fs::write(path, text).unwrap();
}

const TEMPLATE_ID: &str = "2b025e09-f9b9-4323-9941-026ceceba5d7";

/// Every folder below `dir`, recursively.
fn folders(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.push(p.file_name().unwrap().to_string_lossy().into_owned());
                stack.push(p);
            }
        }
    }
    out
}

/// The dead-letter records of a file, as JSON.
fn dead_letters(path: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn identifier_shaped_network_ids_become_no_folder_and_are_dead_lettered_with_their_reason() {
    let site = Site::new();
    let input = site.s("identified/events.ndjson");
    let mut lines = vec![BASE.to_owned()];
    lines.extend(
        PLANTED
            .iter()
            .map(|v| with(r#""network_id":"RMS-PACA""#, &format!(r#""network_id":"{v}""#))),
    );
    write_lines(&input, &lines);
    let out = ok(&site.ingest_args(&input, "zone"));
    let zone = site.path("zone");
    let names = folders(&zone);
    let became: Vec<&str> = PLANTED
        .iter()
        .copied()
        .filter(|v| names.iter().any(|n| n.contains(v)))
        .collect();
    assert!(
        became.is_empty(),
        "{} of {} identifier-shaped network ids became folders: {became:?}\n{}",
        became.len(),
        PLANTED.len(),
        stdout(&out)
    );
    assert!(names.iter().any(|n| n == "network_id=RMS-PACA"), "{names:?}");
    let dead = dead_letters(&site.s("identified/zone-dead.ndjson"));
    assert_eq!(dead.len(), PLANTED.len(), "{dead:?}");
    for (record, value) in dead.iter().zip(PLANTED) {
        let (reason, detail) = (record["reason"].as_str().unwrap(), record["detail"].as_str().unwrap());
        assert!(
            ["schema_violation", "network_not_declared"].contains(&reason),
            "{value}: {reason}"
        );
        assert!(
            detail.contains("network_id"),
            "{value}: the detail names the field: {detail}"
        );
        assert!(
            !detail.contains(value) && !reason.contains(value),
            "{value} quoted: {detail}"
        );
    }
    // SANTONI-JEAN is shaped as a network code: only the study's list keeps it out.
    assert_eq!(dead[2]["reason"], "network_not_declared");
}

#[test]
fn a_policy_lists_the_networks_of_its_study_and_refuses_an_identifier_shaped_one() {
    let site = Site::new();
    let input = site.s("identified/events.ndjson");
    let idf = with(r#""network_id":"RMS-PACA""#, r#""network_id":"RMS-IDF""#);
    write_lines(&input, &[BASE.to_owned(), idf]);
    let policy = site.s("policy.toml");
    std::fs::write(&policy, "networks = [\"RMS-IDF\"]\n").unwrap();
    let mut args = site.ingest_args(&input, "zone");
    args.extend(["--policy".into(), policy.clone()]);
    ok(&args);
    let names = folders(&site.path("zone"));
    assert!(names.contains(&"network_id=RMS-IDF".to_owned()), "{names:?}");
    assert!(!names.contains(&"network_id=RMS-PACA".to_owned()), "{names:?}");
    let dead = dead_letters(&site.s("identified/zone-dead.ndjson"));
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["reason"], "network_not_declared");

    std::fs::write(&policy, "networks = [\"RMS-IDF\", \"0612345678\"]\n").unwrap();
    let out = msma().args(&args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a policy declaring a phone number is refused");
    assert!(err.contains("networks") && !err.contains("0612345678"), "{err}");
}

/// Copies the first dataset file of `zone` to `rel` inside it.
fn plant_copy(zone: &Path, rel: &str) {
    let first = msma_files(zone).into_iter().find(|f| f.ends_with(".parquet")).unwrap();
    let to = zone.join(rel);
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(zone.join(first), to).unwrap();
}

fn msma_files(zone: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![zone.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(zone).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn scan(zone: &str, known: Option<&str>) -> serde_json::Value {
    let mut args = vec!["audit", "scan", "--data", zone, "--format", "json"];
    if let Some(k) = known {
        args.extend(["--known", k]);
    }
    let out = msma().args(&args).output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn audit_scan_reads_folder_names_file_names_and_ledger_records() {
    let site = Site::new();
    let input = site.s("identified/events.ndjson");
    write_lines(&input, &[BASE.to_owned()]);
    ok(&site.ingest_args(&input, "zone"));
    let zone = site.path("zone");
    let clean = scan(&site.s("zone"), None);
    assert_eq!(clean["findings"].as_array().unwrap().len(), 0, "{clean}");

    plant_copy(
        &zone,
        "consultation/network_id=176051330326187/year=2021/part-v1-a-0.parquet",
    );
    plant_copy(
        &zone,
        "consultation/network_id=RMS-PACA/year=2021/export_SANTONI_Jean.parquet",
    );
    plant_copy(
        &zone,
        "consultation/network_id=RMS-PACA/year=2021/call-0612345678.parquet",
    );
    let log = zone.join("_msma/log");
    let record = std::fs::read_dir(&log).unwrap().next().unwrap().unwrap().path();
    let text = std::fs::read_to_string(&record).unwrap();
    let planted = text.replacen("\"txn\": \"", "\"txn\": \"jean.santoni@example.fr ", 1);
    assert_ne!(planted, text);
    std::fs::write(&record, planted).unwrap();

    let found = scan(&site.s("zone"), None);
    let findings = found["findings"].as_array().unwrap();
    let has = |file_ends: &str, column: &str, kind: &str| {
        findings
            .iter()
            .any(|f| f["file"].as_str().unwrap().ends_with(file_ends) && f["column"] == column && f["kind"] == kind)
    };
    assert!(has("consultation/network_id=…", "folder name", "nir"), "{found}");
    assert!(has("network_id=RMS-PACA/year=2021/…", "file name", "phone"), "{found}");
    let record = format!("_msma/log/{}", record.file_name().unwrap().to_string_lossy());
    assert!(has(&record, "txn", "email"), "{found}");
    let text = found.to_string();
    for value in ["176051330326187", "0612345678", "santoni", "SANTONI"] {
        assert!(!text.contains(value), "the findings quote {value}: {text}");
    }

    let known = site.s("identified/known.txt");
    std::fs::write(&known, "SANTONI\n").unwrap();
    let found = scan(&site.s("zone"), Some(&known));
    let named: Vec<_> = found["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "known_identifier")
        .collect();
    assert!(!named.is_empty(), "--known finds SANTONI in a file name: {found}");
}

/// Runs msma with `args` (and `envs`), expecting a failure whose output holds none of
/// `secrets` and all of `names`.
fn refused_without_echo(args: &[&str], envs: &[(&str, &str)], secrets: &[&str], names: &[&str]) {
    let out = msma().args(args).envs(envs.iter().copied()).output().unwrap();
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{args:?}: {text}");
    for s in secrets {
        assert!(!text.contains(s), "{args:?} echoes {s}: {text}");
    }
    for n in names {
        assert!(text.contains(n), "{args:?} does not name {n}: {text}");
    }
}

#[test]
fn errors_name_the_field_the_rule_and_the_line_never_the_value() {
    let site = Site::new();
    let input = site.s("identified/events.ndjson");
    let as_int = with(r#""local_id":"P-000236""#, r#""local_id":176051330326187"#);
    let variant = with(r#""mode":"in_person""#, r#""mode":"Santoni""#);
    let unknown = with(r#""local_id":"P-000236""#, r#""local_id":"P-000236","JEAN-SANTONI":1"#);
    let ranged = with(r#""duration_min":45"#, r#""duration_min":176051"#);
    write_lines(&input, &[BASE.to_owned(), as_int, variant, unknown, ranged]);
    let secrets = ["176051330326187", "Santoni", "SANTONI", "176051"];

    for format in ["text", "json"] {
        let out = msma().args(["validate", "--format", format, &input]).output().unwrap();
        let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
        for s in secrets {
            assert!(!text.contains(s), "validate --format {format} echoes {s}: {text}");
        }
        for name in ["patient.local_id", "payload.mode", "patient", "payload.duration_min"] {
            assert!(text.contains(name), "validate does not name {name}: {text}");
        }
        assert!(text.contains("expected a string") && text.contains("5"), "{text}");
    }

    ok(&site.ingest_args(&input, "zone"));
    let dead = dead_letters(&site.s("identified/zone-dead.ndjson"));
    assert_eq!(dead.len(), 4);
    for record in &dead {
        let reason = format!("{} {}", record["reason"], record["detail"]);
        for s in secrets {
            assert!(!reason.contains(s), "the dead letter's reason quotes {s}: {reason}");
        }
    }

    // A master key pasted into the configuration, in three ways.
    let secret = "3f9a0b12c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f";
    let config = site.s("msma.toml");
    for (text, line) in [
        (format!("[study]\nid = \"s\"\nmaster_key = \"{secret}\"\n"), "line 3"),
        (format!("[study]\nid = \"s\"\n{secret}\n"), "line 3"),
        (format!("[kafka]\nflush_rows = \"{secret}\"\n"), "line 2"),
        (format!("[kafka]\nflush_rows = {secret}\n"), "line 2"),
    ] {
        std::fs::write(&config, text).unwrap();
        refused_without_echo(&["config", "check", &config], &[], &[secret, &secret[..12]], &[line]);
    }
    std::fs::write(&config, "[study]\nid = \"s\"\n").unwrap();
    refused_without_echo(
        &["config", "check", &config],
        &[("MSMA_KAFKA_FLUSH_ROWS", secret)],
        &[secret, &secret[..12]],
        &["MSMA_KAFKA_FLUSH_ROWS"],
    );
    let policy = site.s("policy.toml");
    std::fs::write(&policy, format!("age_top_code = \"{secret}\"\n")).unwrap();
    let mut args = site.ingest_args(&input, "zone2");
    args.extend(["--policy".into(), policy]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    refused_without_echo(&args, &[], &[secret, &secret[..12]], &["age_top_code", "line 1"]);

    // An object store URL with a password, well formed or not.
    for url in [
        "s3://AKIAEXAMPLE:SuperSecret123@bucket/zone",
        "s3://AKIAEXAMPLE:SuperSecret123@bucket:99999/zone",
        "s3://AKIAEXAMPLE:SuperSecret123@bu cket/zone",
        "file://AKIAEXAMPLE:SuperSecret123@host/zone",
    ] {
        let mut args = site.ingest_args(&input, "zone3");
        let out = args.iter().position(|a| a == "--out").unwrap() + 1;
        args[out] = url.to_owned();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused_without_echo(&args, &[], &["SuperSecret123", "AKIAEXAMPLE"], &[]);
        refused_without_echo(
            &["audit", "verify", "--data", url],
            &[],
            &["SuperSecret123", "AKIAEXAMPLE"],
            &[],
        );
        std::fs::write(&config, "[study]\nid = \"s\"\n").unwrap();
        refused_without_echo(
            &["config", "check", &config],
            &[("MSMA_OUTPUT_ZONE", url)],
            &["SuperSecret123", "AKIAEXAMPLE"],
            &[],
        );
    }
}

#[test]
fn age_years_is_top_coded_with_the_band() {
    let site = Site::new();
    let input = site.s("identified/events.ndjson");
    let inclusion = |local: &str, birth: &str| {
        format!(
            r#"{{"event_id":"2b025e09-f9b9-4323-9941-026ceceba5d7","event_type":"patient_inclusion","schema_version":1,"network_id":"RMS-PACA","microstructure_id":"MS-06-001","occurred_at":"2023-03-04T08:30:00+01:00","patient":{{"local_id":"{local}","birth_date":"{birth}","sex":"F"}},"payload":{{"referral_origin":"caarud","first_reason":"precarity","housing":"homeless","main_income":"none","professional_activity":"inactive","prior_care":true}}}}"#
        )
    };
    write_lines(
        &input,
        &[
            inclusion("P-1", "1920-01-01"),
            inclusion("P-2", "1930-06-01"),
            inclusion("P-3", "1980-01-01"),
        ],
    );
    let out = msma().args(["validate", &input]).output().unwrap();
    assert!(out.status.success(), "{}", stdout(&out));
    ok(&site.ingest_args(&input, "zone"));
    let out = ok(&[
        "query",
        "--data",
        &site.s("zone"),
        "--format",
        "csv",
        "SELECT age_years, age_band FROM patient_inclusion ORDER BY age_years",
    ]);
    let rows: Vec<String> = stdout(&out).lines().skip(1).map(str::to_owned).collect();
    assert_eq!(rows, ["43,40-44", "75,75+", "75,75+"], "ages 103 and 92 top-coded");
}

/// Network codes that are not identifier-shaped, one per `i`: NAAAA, NAAAB...
fn code(mut i: usize) -> String {
    let mut s = String::from("N");
    for _ in 0..4 {
        s.insert(1, (b'A' + (i % 26) as u8) as char);
        i /= 26;
    }
    s
}

#[test]
fn an_input_made_to_explode_the_partitions_stays_bounded() {
    const EVENTS: usize = 20_000;
    let site = Site::new();
    let input = site.s("identified/events.ndjson");
    let lines: Vec<String> = (0..EVENTS)
        .map(|i| {
            let network = if i % 2 == 0 { code(i) } else { "RMS-PACA".into() };
            with(r#""network_id":"RMS-PACA""#, &format!(r#""network_id":"{network}""#)).replacen(
                "2021-03-04",
                &format!("{}-03-04", 2000 + i % 100),
                1,
            )
        })
        .collect();
    write_lines(&input, &lines);
    let out = ok(&site.ingest_args(&input, "zone"));
    let zone = site.path("zone");
    let n = folders(&zone)
        .iter()
        .filter(|f| !f.starts_with('_') && !f.contains("staging"))
        .count();
    let log = zone.join("_msma/log");
    let biggest = std::fs::read_dir(&log)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .max()
        .unwrap();
    let peak: u64 = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("peak memory: ")?.split(' ').next()?.parse().ok())
        .unwrap();
    eprintln!("{EVENTS} events: {n} folders, largest ledger record {biggest} bytes, peak {peak} MiB");
    // One dataset, one network, the years of the accepted window.
    assert!(n <= 1 + 1 + 11, "{n} folders");
    assert!(biggest < 64 << 10, "a ledger record of {biggest} bytes");
    assert!(peak < 400, "peak memory {peak} MiB");
    let dead = dead_letters(&site.s("identified/zone-dead.ndjson"));
    let reasons = |r: &str| dead.iter().filter(|d| d["reason"] == r).count();
    assert_eq!(reasons("network_not_declared"), EVENTS / 2);
    assert!(reasons("year_outside_window") > EVENTS / 4);
}

#[test]
fn a_commit_opens_at_most_the_capped_partitions_and_dead_letters_the_rest() {
    let site = Site::new();
    let input = site.s("identified/events.ndjson");
    let lines: Vec<String> = (0..60)
        .map(|i| {
            let network = ["RMS-PACA", "RMS-IDF", "RMS-HDF"][i % 3];
            with(r#""network_id":"RMS-PACA""#, &format!(r#""network_id":"{network}""#)).replacen(
                "2021-03-04",
                &format!("{}-03-04", 2020 + i % 4),
                1,
            )
        })
        .collect();
    write_lines(&input, &lines);
    let mut args = site.ingest_args(&input, "zone");
    args.extend(["--max-partitions-per-commit".into(), "5".into()]);
    let out = ok(&args);
    let zone = site.path("zone");
    let files: Vec<_> = msma_files(&zone)
        .into_iter()
        .filter(|f| f.ends_with(".parquet"))
        .collect();
    assert_eq!(files.len(), 5, "{files:?}\n{}", stdout(&out));
    let dead = dead_letters(&site.s("identified/zone-dead.ndjson"));
    assert!(dead.iter().all(|d| d["reason"] == "partition_cap"), "{dead:?}");
    // Nothing is lost: the first five partitions' lines are written, the others' are
    // dead letters, each line once.
    assert_eq!(dead.len(), 60 - 5 * 5, "{}", stdout(&out));
}
