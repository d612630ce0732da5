//! What researchers run: `msma query` (DataFusion) and `msma report`, checked against
//! DuckDB, pyarrow and headless Chromium; `msma schema docs` against the docs.

use crate::util::{Site, msma, ok, python, repo, stderr, stdout};

/// A zone of `events` generated events, ingested.
fn zone(events: u64, seed: u64) -> Site {
    let site = Site::new();
    let input = site.generate(events, seed, 0);
    ok(&site.ingest_args(&input, "research"));
    site
}

fn query(site: &Site, format: &str, sql: &str) -> String {
    stdout(&ok(&["query", "--data", &site.s("research"), "--format", format, sql]))
}

#[test]
fn query_answers_in_every_format_as_duckdb_does() {
    let site = zone(6_000, 11);
    let sql = "SELECT network_id, professional_role, count(*) AS n FROM consultation \
               WHERE NOT no_show GROUP BY 1, 2 ORDER BY 1, 2";
    let ours = query(&site, "csv", sql);
    let duck = python("query.py", &[&site.s("research"), sql]);
    let ours_rows: Vec<&str> = ours.lines().skip(1).collect();
    let duck_rows: Vec<&str> = duck.lines().collect();
    assert!(ours_rows.len() >= 4, "{ours}");
    assert_eq!(ours_rows, duck_rows);

    let table = query(&site, "table", "SELECT count(*) AS n FROM patient_inclusion");
    assert!(table.contains("| n") && table.contains('+'), "{table}");
    let json: serde_json::Value = serde_json::from_str(&query(&site, "json", sql)).unwrap();
    assert_eq!(json.as_array().unwrap().len(), ours_rows.len());
    let empty = query(
        &site,
        "csv",
        "SELECT patient_pseudonym, year FROM consultation WHERE false",
    );
    assert_eq!(empty, "patient_pseudonym,year\n", "an empty result keeps its header");
    let ndjson = query(&site, "ndjson", sql);
    assert_eq!(ndjson.lines().count(), ours_rows.len());
    // Every table is there, empty ones included, with the partition columns.
    let tables = query(
        &site,
        "csv",
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    for t in ["patient_inclusion", "consultation", "forfait_claim", "follow_up_end"] {
        assert!(tables.contains(t), "{tables}");
    }
    let described = query(&site, "csv", "DESCRIBE screening");
    assert!(
        described.contains("network_id") && described.contains("year"),
        "{described}"
    );

    let parquet = site.s("result.parquet");
    let out = ok(&[
        "query",
        "--data",
        &site.s("research"),
        "--format",
        "parquet",
        "--out",
        &parquet,
        sql,
    ]);
    assert!(stderr(&out).contains(&format!("{} rows", ours_rows.len())));
    let read = python(
        "query.py",
        &[&site.s("research"), &format!("SELECT count(*) FROM '{parquet}'")],
    );
    assert_eq!(read.trim(), ours_rows.len().to_string());
}

#[test]
fn query_reads_the_ledger_not_the_folders() {
    let site = Site::new();
    let input = site.generate(4_000, 5, 0);
    ok(&site.ingest_args(&input, "research"));
    let zone = site.s("research");
    let count = |extra: &[&str]| {
        let mut args = vec!["query", "--data", &zone, "--format", "csv"];
        args.extend_from_slice(extra);
        args.push("SELECT count(*) AS n FROM consultation");
        stdout(&ok(&args)).lines().nth(1).unwrap().to_string()
    };
    let before = count(&[]);
    // A stray copy of a data file (an unrecorded file, as a crashed writer of an old
    // version could leave) is not part of the datasets.
    let part = msma_audit::data_files(&site.path("research"))
        .unwrap()
        .into_iter()
        .find(|p| p.starts_with("consultation/") && p.ends_with(".parquet"))
        .map(|p| site.path("research").join(p))
        .unwrap();
    std::fs::copy(&part, part.with_file_name("part-stray.parquet")).unwrap();
    assert_eq!(count(&[]), before);
    // A second ingest appends a commit; --as-of 1 still sees the first.
    let more = site.s("identified/more.ndjson");
    ok(&["generate", "--events", "2000", "--seed", "6", "--out", &more]);
    ok(&site.ingest_args(&more, "research"));
    assert!(count(&[]).parse::<u64>().unwrap() > before.parse::<u64>().unwrap());
    assert_eq!(count(&["--as-of", "1"]), before);
    let beyond = msma()
        .args(["query", "--data", &zone, "--as-of", "99", "SELECT 1"])
        .output()
        .unwrap();
    assert!(!beyond.status.success());
    assert!(stderr(&beyond).contains("--as-of 99"), "{}", stderr(&beyond));
}

#[test]
fn query_errors_name_the_problem() {
    let site = zone(500, 3);
    let zone = site.s("research");
    for (sql, says) in [
        ("SELEC 1", "SELEC"),
        ("SELECT nope FROM consultation", "nope"),
        ("SELECT * FROM no_such_table", "no_such_table"),
        ("CREATE TABLE t AS SELECT 1", "DDL"),
    ] {
        let out = msma().args(["query", "--data", &zone, sql]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{sql}");
        assert!(stderr(&out).contains(says), "{sql}: {}", stderr(&out));
    }
    let out = msma()
        .args(["query", "--data", &site.s("identified"), "SELECT 1"])
        .output()
        .unwrap();
    assert!(stderr(&out).contains("not a research zone"), "{}", stderr(&out));
}

fn report(site: &Site, kind: &str, out: &str, extra: &[&str]) -> serde_json::Value {
    let zone = site.s("research");
    let mut args = vec!["report", kind, "--data", &zone];
    let path = site.s(out);
    args.extend_from_slice(&["--out", &path]);
    args.extend_from_slice(extra);
    let run = ok(&args);
    assert!(stderr(&run).contains("tables"), "{}", stderr(&run));
    if out.ends_with(".json") {
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    } else {
        serde_json::Value::Null
    }
}

fn check_with_duckdb(site: &Site, filter: &[&str], threshold: &str) -> String {
    let mut extra = filter.to_vec();
    extra.extend_from_slice(&["--threshold", threshold]);
    report(site, "gender", "gender.json", &extra);
    let mut activity = extra.clone();
    activity.extend_from_slice(&["--flat-rate-eur", "529"]);
    report(site, "activity", "activity.json", &activity);
    let mut args = vec![
        site.s("research"),
        site.s("gender.json"),
        site.s("activity.json"),
        threshold.to_string(),
        "529".to_string(),
    ];
    args.extend(filter.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    python("reports.py", &args)
}

#[test]
fn every_report_figure_equals_duckdb_and_small_cells_are_protected() {
    let site = zone(60_000, 21);
    let all = check_with_duckdb(&site, &[], "11");
    assert!(all.contains("reports ok"), "{all}");
    // One network and one region of residence: smaller cells, more masks.
    let one = check_with_duckdb(&site, &["--network", "RMS-ALSACE", "--region", "44"], "11");
    assert!(one.contains("reports ok"), "{one}");
    // A higher threshold masks more, and still holds.
    let strict = check_with_duckdb(&site, &["--network", "RMS-PACA"], "50");
    assert!(strict.contains("reports ok"), "{strict}");
    let g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(site.path("gender.json")).unwrap()).unwrap();
    assert!(g["suppressed"]["small"].as_u64().unwrap() > 0, "{}", g["suppressed"]);
}

#[test]
fn a_small_dataset_is_mostly_masked_and_masks_show_nothing() {
    let site = zone(900, 8);
    let checked = check_with_duckdb(&site, &[], "11");
    assert!(checked.contains("reports ok"), "{checked}");
    let g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(site.path("gender.json")).unwrap()).unwrap();
    let s = &g["suppressed"];
    assert!(s["small"].as_u64().unwrap() >= 10, "{s}");
    assert!(s["derived"].as_u64().unwrap() >= 1, "{s}");
    // Masked cells carry no value in any format, only the one mark.
    report(&site, "gender", "gender.csv", &[]);
    let csv = std::fs::read_to_string(site.path("gender.csv")).unwrap();
    let masked: Vec<&str> = csv
        .lines()
        .filter(|l| l.ends_with(",small") || l.ends_with(",derived"))
        .collect();
    assert!(masked.len() >= 10, "{csv}");
    for line in masked {
        assert!(line.contains(",[c],"), "{line}");
    }
    report(&site, "gender", "gender.html", &[]);
    let html = std::fs::read_to_string(site.path("gender.html")).unwrap();
    assert!(html.contains(">[c]<") && !html.contains("&lt;11"));
}

#[test]
fn the_html_report_renders_its_charts_in_chromium() {
    let site = zone(30_000, 4);
    report(&site, "gender", "gender.html", &[]);
    let html = std::fs::read_to_string(site.path("gender.html")).unwrap();
    for outside in ["<script", "<link", "src=", "href=\"http", "url(http"] {
        assert!(!html.contains(outside), "the page fetches nothing: {outside}");
    }
    assert_eq!(html.matches("<svg").count(), 7, "one chart per table but the mean ages");
    let shot = python("screenshot.py", &[&site.s("gender.html"), &site.s("gender.png")]);
    assert!(shot.contains("screenshot ok"), "{shot}");
    report(&site, "activity", "activity.html", &[]);
    // The first networks' colours: the active file by network.
    let shot = python(
        "screenshot.py",
        &[&site.s("activity.html"), &site.s("activity.png"), "#009E73", "#E69F00"],
    );
    assert!(shot.contains("screenshot ok"), "{shot}");
}

#[test]
fn reports_are_reproducible_and_refuse_bad_settings() {
    let site = zone(3_000, 9);
    report(&site, "gender", "a.html", &[]);
    report(&site, "gender", "b.html", &[]);
    assert_eq!(
        std::fs::read(site.path("a.html")).unwrap(),
        std::fs::read(site.path("b.html")).unwrap()
    );
    let out = msma()
        .args([
            "report",
            "gender",
            "--data",
            &site.s("research"),
            "--region",
            "Grand Est",
            "--out",
            "-",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("two-digit INSEE region code"), "{}", stderr(&out));
}

#[test]
fn the_data_dictionary_in_docs_is_the_one_msma_prints() {
    let printed = stdout(&ok(&["schema", "docs"]));
    let docs = std::fs::read_to_string(repo().join("docs/DATA-DICTIONARY.md")).unwrap();
    assert_eq!(
        printed, docs,
        "regenerate with: msma schema docs > docs/DATA-DICTIONARY.md"
    );
    for column in [
        "patient_pseudonym",
        "main_income",
        "`rsa`",
        "professional_pseudonym",
        "network_id",
    ] {
        assert!(printed.contains(column), "{column}");
    }
}
