//! The benchmark's references (benches/compare) write what msma writes: the same
//! datasets, columns, types, rows and pseudonyms, so that timing them against msma
//! compares like with like.

use crate::util::{Site, ok, python_at, repo};

fn script(name: &str, args: &[&str]) -> String {
    python_at(&repo().join("benches/compare").join(name), args)
}

#[test]
fn the_python_and_duckdb_references_write_the_same_datasets_as_msma() {
    let site = Site::new();
    // Broken events too: the references must reject what msma rejects.
    let input = site.generate(30_000, 7, 5_000);
    ok(&site.ingest_args(&input, "research"));
    for (tool, out) in [("reference.py", "python"), ("duckdb_ingest.py", "duckdb")] {
        let dir = site.s(out);
        script(
            tool,
            &[&input, &dir, "--key-file", &site.key(), "--study", "test-study"],
        );
        let same = script("same_output.py", &[&site.s("research"), &dir]);
        assert!(same.starts_with("same output:"), "{tool}: {same}");
    }
}

#[test]
fn duckdb_without_validation_writes_the_same_rows_for_valid_events_and_what_msma_rejects_too() {
    let site = Site::new();
    // DuckDB's output beside msma's zone, against it.
    let unchecked = |input: &str, zone: &str| {
        let dir = site.s(&format!("{zone}-duckdb"));
        let args = [
            input,
            &dir,
            "--key-file",
            &site.key(),
            "--study",
            "test-study",
            "--no-validation",
        ];
        script("duckdb_ingest.py", &args);
        script_status("same_output.py", &[&site.s(zone), &dir])
    };
    let valid = site.generate(20_000, 3, 0);
    ok(&site.ingest_args(&valid, "valid"));
    let (same, found) = unchecked(&valid, "valid");
    assert!(same && found.starts_with("same output:"), "{found}");

    // Broken events: written as they come, but the lines that are not JSON.
    let broken = site.generate(30_000, 7, 5_000);
    ok(&site.ingest_args(&broken, "broken"));
    let dead = std::fs::read_to_string(site.path("identified/broken-dead.ndjson")).expect("dead letters");
    let parsed = (dead.lines())
        .filter(|l| !l.contains(r#""reason":"malformed_json""#))
        .count();
    let (same, found) = unchecked(&broken, "broken");
    assert!(!same && found.starts_with("different output:"), "{found}");
    let mut extra = 0;
    for line in found.lines().skip(1) {
        let (_, counts) = line.split_once("; ").expect("a dataset's row counts");
        let only_other = counts.strip_prefix("0 only in msma, ").expect("every row msma wrote");
        extra += only_other
            .split(' ')
            .next()
            .and_then(|n| n.parse::<usize>().ok())
            .expect("a count");
    }
    assert!(
        parsed > 0 && extra == parsed,
        "{extra} rows only in DuckDB's output, {parsed} parsed lines rejected"
    );
}

/// Runs a script of benches/compare: whether it succeeded, and its output.
fn script_status(name: &str, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("python3")
        .arg(repo().join("benches/compare").join(name))
        .args(args)
        .output()
        .expect("python3 runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}
