//! Datasets written by msma, read by pyarrow and DuckDB, pseudonyms recomputed in
//! Python from the key file, every input identifier searched for in every column.

use crate::util::{Site, ok, python};

#[test]
fn pyarrow_and_duckdb_read_the_zone_and_recompute_pseudonyms() {
    let site = Site::new();
    let input = site.generate(20_000, 7, 5_000);
    let args = site.ingest_args(&input, "research");
    ok(&args);
    let report = python(
        "interop.py",
        &[
            &site.s("research"),
            &input,
            &site.key(),
            "test-study",
            &site.s("identified/research-dead.ndjson"),
        ],
    );
    assert!(report.contains("interop ok"), "{report}");
}
