//! Storage faults under a real file system: the zone on a small tmpfs that fills up, or
//! is remounted read-only, while `msma ingest` writes. Nothing is committed that was not
//! durably written (`audit verify` passes on what is there), the failure is reported, and
//! once space is back the run resumes: the same rows as a clean run, nothing lost or
//! repeated. Mounting needs root, as CI runs.

use crate::kafka::{Broker, http_get, offsets_committed_once, sample, worker_args};
use crate::util::{Site, msma, ok, python, stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: PathBuf, size_kib: u64) -> Self {
        std::fs::create_dir_all(&path).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_kib}k,mode=0700"), "tmpfs"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mounting a tmpfs needs root (CI runs as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self(path)
    }

    fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn verify(zone: &Path) -> serde_json::Value {
    let out = stdout(&ok(&[
        "audit",
        "verify",
        "--format",
        "json",
        "--data",
        zone.to_str().unwrap(),
    ]));
    serde_json::from_str(&out).unwrap()
}

#[test]
fn a_full_then_read_only_disk_stops_file_ingest_cleanly_and_the_rerun_completes_it() {
    let site = Site::new();
    let input = site.generate(40_000, 31, 500);
    ok(&site.ingest_args(&input, "clean"));

    let disk = Tmpfs::mount(site.path("full"), 600);
    std::fs::create_dir_all(site.path("identified/full")).unwrap();
    let mut args = site.ingest_args(&input, "full/zone");
    args.extend(["--commit-lines".to_owned(), "2000".to_owned()]);
    let failed = msma().args(&args).output().unwrap();
    assert!(!failed.status.success(), "ingest into a full disk must fail");
    let message = stderr(&failed);
    assert!(message.contains("No space left on device"), "{message}");
    assert!(!message.contains("panicked"), "{message}");
    let partial = verify(&site.path("full/zone"));
    assert_eq!(partial["ok"], true, "{partial}");
    let committed = partial["summary"]["records"].as_u64().unwrap();
    assert!(committed >= 1, "some commits fit before the disk filled: {partial}");

    disk.remount("ro");
    let read_only = msma().args(&args).output().unwrap();
    assert!(!read_only.status.success());
    assert!(
        stderr(&read_only).contains("Read-only file system"),
        "{}",
        stderr(&read_only)
    );

    disk.remount("rw,size=64m");
    let resumed = stdout(&ok(&args));
    assert!(resumed.contains("already committed"), "{resumed}");
    let same = python("same_rows.py", &[&site.s("clean"), &site.s("full/zone")]);
    assert!(same.contains("same rows"), "{same}");
    assert_eq!(verify(&site.path("full/zone"))["ok"], true);
    eprintln!("{committed} commits before the disk filled; resumed: {same}");
}

#[test]
fn a_worker_on_a_full_disk_stops_advancing_reports_it_and_resumes_when_space_is_back() {
    let site = Site::new();
    let broker = Broker::start();
    broker.load(&site, 40_000, 37);

    let disk = Tmpfs::mount(site.path("full"), 400);
    let port = crate::util::free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut args = worker_args(&site, &broker.1, &site.s("full/zone"));
    args.extend(["--stop-when-idle-ms", "8000", "--metrics-listen", &addr].map(String::from));
    let worker = msma()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Wait for a failed commit, seen from outside: the counter and /ready.
    let started = Instant::now();
    let (failures, ready) = loop {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no commit failure reported"
        );
        std::thread::sleep(Duration::from_millis(300));
        let Some((_, metrics)) = http_get(&addr, "/metrics") else {
            continue;
        };
        let failures = sample(&metrics, "msma_commit_failures_total").unwrap_or(0.0);
        if failures > 0.0 {
            break (failures, http_get(&addr, "/ready").unwrap_or_default());
        }
    };
    assert!(
        ready.0.contains(" 503 ") && ready.1.contains("commit failed"),
        "{ready:?}"
    );
    let stuck = verify(&site.path("full/zone"));
    assert_eq!(stuck["ok"], true, "{stuck}");

    disk.remount("rw,size=64m");
    let out = worker.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the worker failed after space came back:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("commit failed; nothing committed, will retry"), "{log}");

    let (offsets, ranges) = offsets_committed_once(&site.path("full/zone"));
    let same = python("same_rows.py", &[&site.s("clean"), &site.s("full/zone")]);
    assert!(same.contains("same rows"), "{same}");
    assert_eq!(verify(&site.path("full/zone"))["ok"], true);
    eprintln!(
        "{failures}+ failed commits while full; {} commits before; then {offsets} offsets in {ranges} ranges once each; {same}",
        stuck["summary"]["records"]
    );
}

#[test]
fn a_truncated_or_corrupted_parquet_file_is_named_never_read_as_data() {
    let site = Site::new();
    let input = site.generate(5_000, 41, 0);
    ok(&site.ingest_args(&input, "research"));
    let zone = site.path("research");
    let files = msma_audit::data_files(&zone).unwrap();
    let (victim, bystander) = (zone.join(&files[0]), zone.join(&files[1]));
    let dataset = files[0].split('/').next().unwrap().to_owned();

    // A stray half-written file, as an old version's crash would leave: not in the
    // ledger, so queries never read it, and verify names it.
    let stray = bystander.with_file_name("part-crashed.parquet");
    let bytes = std::fs::read(&bystander).unwrap();
    std::fs::write(&stray, &bytes[..bytes.len() / 2]).unwrap();
    let count = |zone: &Path| {
        msma()
            .args(["query", "--data", zone.to_str().unwrap(), "--format", "csv"])
            .arg(format!("SELECT count(*) FROM {dataset}"))
            .output()
            .unwrap()
    };
    assert!(count(&zone).status.success(), "{}", stderr(&count(&zone)));
    let report = verify_text(&zone);
    assert!(
        report.contains("part-crashed.parquet") && report.contains("in no record"),
        "{report}"
    );
    std::fs::remove_file(&stray).unwrap();

    // A committed file cut short: verify names it; a query refuses it, naming the file,
    // without a panic; ingest goes on.
    let original = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &original[..original.len() - 100]).unwrap();
    let report = verify_text(&zone);
    assert!(report.contains(&files[0]) && report.contains("modified"), "{report}");
    let query = count(&zone);
    let text = stderr(&query);
    assert!(
        !query.status.success() && text.contains("damaged after its commit"),
        "{text}"
    );
    // Bytes flipped inside a page: verify names it; readers may not notice (Parquet pages
    // carry no checksum), so a query reading every value must at worst fail cleanly.
    let mut flipped = original.clone();
    let mid = flipped.len() / 2;
    flipped[mid..mid + 64].iter_mut().for_each(|x| *x ^= 0xA5);
    std::fs::write(&victim, &flipped).unwrap();
    let report = verify_text(&zone);
    assert!(report.contains(&files[0]) && report.contains("modified"), "{report}");
    let all = msma()
        .args(["query", "--data", zone.to_str().unwrap(), "--format", "csv"])
        .arg(format!("SELECT * FROM {dataset}"))
        .output()
        .unwrap();
    assert!(!stderr(&all).contains("panicked"), "{}", stderr(&all));
    ok(&site.ingest_args(&site.generate(500, 43, 0), "research"));
    std::fs::write(&victim, &original).unwrap();
    assert!(verify_text(&zone).starts_with("ok:"));
}

fn verify_text(zone: &Path) -> String {
    stdout(
        &msma()
            .args(["audit", "verify", "--data", zone.to_str().unwrap()])
            .output()
            .unwrap(),
    )
}
