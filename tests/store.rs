//! Zones in an object store, against a real S3-compatible server on loopback (moto, from
//! PyPI, in a process of its own). Writers are SIGKILLed again and again; the zone must
//! then hold every row exactly once, read in place by pyarrow's own S3 client, and a
//! mirror of the bucket must pass `msma audit verify` (every file recorded, none missing,
//! none unrecorded outside `_msma/`).

use crate::kafka::{Broker, offsets_committed_once, worker_args};
use crate::util::{Site, msma, ok, python, stdout};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const BUCKET: &str = "research";

pub(crate) struct S3 {
    server: Child,
    pub(crate) endpoint: String,
    /// The server's log, a line per request.
    log: tempfile::NamedTempFile,
}

impl S3 {
    pub(crate) fn start() -> Self {
        let port = crate::util::free_port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let server = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("python3 -m moto.server (tests/run installs moto)");
        let s3 = Self {
            server,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "moto did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        python("s3.py", &["mkbucket", &s3.endpoint, BUCKET]);
        s3
    }

    /// The requests the server logged so far, a line each.
    pub(crate) fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.log.path())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// `msma` with the environment any S3 client reads.
    pub(crate) fn msma(&self) -> Command {
        let mut cmd = msma();
        cmd.envs([
            ("AWS_ENDPOINT", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_ACCESS_KEY_ID", "msma-test"),
            ("AWS_SECRET_ACCESS_KEY", "msma-test"),
            ("AWS_REGION", "us-east-1"),
        ]);
        cmd
    }

    pub(crate) fn ok(&self, args: &[String]) -> String {
        let out = self.msma().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "msma {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout(&out)
    }

    /// Copies the zone under `prefix` to a local folder, `_msma/` included.
    pub(crate) fn mirror(&self, site: &Site, prefix: &str) -> String {
        let dir = site.s(&format!("mirror-{prefix}"));
        python("s3.py", &["mirror", &self.endpoint, BUCKET, prefix, &dir]);
        dir
    }

    /// Rows per dataset as pyarrow reads them from the store, and the total.
    fn read(&self, prefix: &str) -> (String, u64) {
        let out = python("s3.py", &["read", &self.endpoint, BUCKET, prefix]);
        let total = out
            .lines()
            .find_map(|l| l.strip_prefix("total "))
            .and_then(|n| n.parse().ok())
            .expect("a total line");
        (out, total)
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// What `msma audit verify` says of a zone, which must pass.
fn verified(zone: &str) -> serde_json::Value {
    let out = stdout(&ok(&["audit", "verify", "--format", "json", "--data", zone]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true, "{out}");
    v
}

fn written(verify: &serde_json::Value) -> u64 {
    verify["summary"]["rows_written"].as_u64().unwrap()
}

#[test]
fn a_file_ingest_into_s3_killed_again_and_again_writes_every_row_once() {
    let site = Site::new();
    let s3 = S3::start();
    let input = site.generate(60_000, 23, 1_000);
    ok(&site.ingest_args(&input, "clean"));

    let mut args = site.ingest_args(&input, "unused");
    args[4] = format!("s3://{BUCKET}/zone");
    args.extend(["--commit-lines".to_owned(), "3000".to_owned()]);
    let mut kills = 0;
    let started = Instant::now();
    loop {
        let mut child = s3.msma().args(&args).stdout(Stdio::null()).spawn().unwrap();
        // A commit of 3,000 lines (about 45 files) takes about 0.8 s against moto.
        std::thread::sleep(Duration::from_millis(400 + (kills * 173) % 1_400));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        assert!(started.elapsed() < Duration::from_secs(600), "ingest never finished");
    }
    let last = s3.ok(&args);
    assert!(kills >= 3, "the test killed ingest only {kills} times");

    let (by_dataset, total) = s3.read("zone");
    let clean = verified(&site.s("clean"));
    assert_eq!(
        total,
        written(&clean),
        "pyarrow reads from S3 what a local ingest wrote:\n{by_dataset}"
    );
    let mirror = s3.mirror(&site, "zone");
    let audit = verified(&mirror);
    assert_eq!(written(&audit), total, "{audit}");
    // The steward's check in place: every object hashed in the store, the same head.
    let in_place: serde_json::Value = serde_json::from_str(&s3.ok(&[
        "audit".into(),
        "verify".into(),
        "--format".into(),
        "json".into(),
        "--data".into(),
        format!("s3://{BUCKET}/zone"),
    ]))
    .unwrap();
    assert_eq!(in_place["summary"], audit["summary"]);
    let same = python("same_rows.py", &[&site.s("clean"), &mirror]);
    assert!(same.contains("same rows"), "{same}");
    // msma's own readers take the zone from the store too.
    let sql = "SELECT network_id, year, count(*) AS n, count(DISTINCT patient_pseudonym) AS p \
               FROM consultation GROUP BY network_id, year ORDER BY network_id, year";
    let query = |zone: String| {
        s3.ok(&[
            "query".into(),
            "--data".into(),
            zone,
            "--format".into(),
            "csv".into(),
            sql.into(),
        ])
    };
    let (local, remote) = (query(site.s("clean")), query(format!("s3://{BUCKET}/zone")));
    assert!(local.lines().count() > 2, "{local}");
    assert_eq!(local, remote);
    // And the steward's scan and risk read the store as they read a folder.
    for check in [
        &["scan", "--format", "json"][..],
        &["risk", "--dataset", "patient_inclusion", "--k", "2", "--format", "json"][..],
    ] {
        let audit = |zone: String| {
            let mut args: Vec<String> = vec!["audit".into()];
            args.extend(check.iter().map(|a| a.to_string()));
            args.extend(["--data".into(), zone]);
            s3.msma().args(&args).output().unwrap()
        };
        let (local, remote) = (audit(mirror.clone()), audit(format!("s3://{BUCKET}/zone")));
        assert!(
            !local.stdout.is_empty(),
            "{check:?}: {}",
            String::from_utf8_lossy(&local.stderr)
        );
        assert_eq!(
            (local.status.code(), String::from_utf8_lossy(&local.stdout)),
            (remote.status.code(), String::from_utf8_lossy(&remote.stdout)),
            "{check:?}: {}",
            String::from_utf8_lossy(&remote.stderr)
        );
    }
    // Run again: every line is already committed, nothing is written twice.
    let again = s3.ok(&args);
    assert!(again.contains("already committed"), "{again}");
    assert_eq!(s3.read("zone").1, total);
    // The same events in a file of another name: the dedup index, read from the store,
    // knows them all.
    let resent = site.s("identified/resent.ndjson");
    let text = std::fs::read_to_string(&input).unwrap();
    std::fs::write(&resent, text.lines().take(5_000).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    let mut resend = args.clone();
    resend[2] = resent;
    let out = s3.ok(&resend);
    assert!(out.contains(": 0 written"), "{out}");
    assert!(out.contains(" duplicate(s)"), "{out}");
    assert_eq!(s3.read("zone").1, total);
    eprintln!("survived {kills} kills; last run: {last}; {same}");
}

#[test]
fn kafka_workers_share_one_s3_zone_through_kills() {
    let site = Site::new();
    let s3 = S3::start();
    let broker = Broker::start();
    broker.load(&site, 60_000, 29);

    let args = worker_args(&site, &broker.1, &format!("s3://{BUCKET}/kafka"));
    let mut kills = 0;
    for round in 0..3u64 {
        let mut workers: Vec<Child> = (0..2)
            .map(|_| s3.msma().args(&args).stderr(Stdio::null()).spawn().unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(2_500 + round * 900));
        for w in &mut workers {
            w.kill().unwrap();
            w.wait().unwrap();
            kills += 1;
        }
    }
    let mut drain = args.clone();
    drain.extend(["--stop-when-idle-ms".to_owned(), "8000".to_owned()]);
    let workers: Vec<Child> = (0..2)
        .map(|_| s3.msma().args(&drain).stdout(Stdio::null()).spawn().unwrap())
        .collect();
    for w in workers {
        assert!(
            w.wait_with_output().unwrap().status.success(),
            "a draining worker failed"
        );
    }

    let mirror = s3.mirror(&site, "kafka");
    let (_, commits) = offsets_committed_once(std::path::Path::new(&mirror));
    verified(&mirror);
    let same = python("same_rows.py", &[&site.s("clean"), &mirror]);
    assert!(same.contains("same rows"), "{same}");
    let (_, total) = s3.read("kafka");
    assert_eq!(total, written(&verified(&site.s("clean"))));
    eprintln!("two workers on one S3 zone survived {kills} kills, {commits} partition ranges committed; {same}");
}
