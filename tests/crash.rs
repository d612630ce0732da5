//! SIGKILL during ingest, again and again, then a run to the end: the zone must hold
//! exactly the rows of a clean run, no more, no fewer (compared with DuckDB, EXCEPT ALL
//! both ways), and no uncommitted file.

use crate::util::{Site, msma, ok, python};
use std::time::{Duration, Instant};

#[test]
fn killed_ingest_resumes_exactly_once() {
    let site = Site::new();
    let input = site.generate(60_000, 11, 1_000);
    let clean = site.ingest_args(&input, "clean");
    ok(&clean);

    let mut crashy = site.ingest_args(&input, "crashy");
    crashy.extend(["--commit-lines".to_owned(), "3000".to_owned()]);
    let mut kills = 0;
    let mut delay_ms = 40;
    let started = Instant::now();
    loop {
        let mut child = msma().args(&crashy).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        delay_ms = 40 + (kills * 37) % 160;
        assert!(started.elapsed() < Duration::from_secs(600), "ingest never finished");
    }
    ok(&crashy);
    assert!(kills >= 3, "the test killed ingest only {kills} times");
    let staging = site.path("crashy/_msma/staging");
    assert_eq!(
        std::fs::read_dir(staging).unwrap().count(),
        0,
        "uncommitted files left behind"
    );
    let report = python("same_rows.py", &[&site.s("clean"), &site.s("crashy")]);
    assert!(report.contains("same rows"), "{report}");
    eprintln!("survived {kills} kills: {report}");
}
