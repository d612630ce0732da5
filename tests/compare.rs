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
