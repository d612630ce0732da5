//! The broker killed and restarted under a running worker. The broker is tansu, a
//! Kafka-compatible broker that keeps its topics in SQLite, so they outlive its process
//! (librdkafka's mock cluster keeps them in memory). The worker is never restarted: it
//! must ride out the outages, then commit every event exactly once.
//!
//! tansu 0.6 answers a fetch that starts inside a record batch with the next batch
//! (docs/HARDENING.md), so the producers here send one record per batch: every offset
//! is then the start of a batch, and the test judges msma, not that defect.

use crate::kafka::offsets_committed_once;
use crate::util::{Site, free_port, msma, ok, python};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Tansu {
    child: Child,
    db: PathBuf,
    port: u16,
}

impl Tansu {
    fn start(db: &Path, port: u16) -> Self {
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(tansu())
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            // tansu reads the URL's path as relative to its working folder.
            .arg("--storage-engine")
            .arg(format!("sqlite://{}", db.file_name().unwrap().to_str().unwrap()))
            .current_dir(db.parent().unwrap())
            .stdout(Stdio::null())
            .stderr(log(db))
            .spawn()
            .expect("tansu runs (tests/run installs it)");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let log = std::fs::read_to_string(db.with_extension("log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "tansu did not listen on {port}:\n{log}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            db: db.to_owned(),
            port,
        }
    }

    fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn create_topic(&self, name: &str, partitions: u32) {
        let out = Command::new(tansu())
            .args(["topic", "create", name, "--partitions", &partitions.to_string()])
            .arg("--broker")
            .arg(format!("tcp://{}", self.bootstrap()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    /// SIGKILL, as a crash or an OOM kill would.
    fn kill(mut self) -> (PathBuf, u16) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        (self.db.clone(), self.port)
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The broker's log, kept across restarts beside its database.
fn log(db: &Path) -> std::fs::File {
    let path = db.with_extension("log");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
}

fn tansu() -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    let installed = cargo_home.join("bin/tansu");
    if installed.exists() { installed } else { "tansu".into() }
}

/// Commit records in the zone so far.
fn commits(zone: &Path) -> usize {
    std::fs::read_dir(zone.join("_msma/log"))
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
            })
            .count()
        })
        .unwrap_or(0)
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Pushes `input`; the number of events sent (all acknowledged).
fn push(bootstrap: &str, input: &str, props: &str) -> u64 {
    let out = crate::kafka::pushed_all(
        &msma()
            .args([
                "push",
                "--brokers",
                bootstrap,
                "--topic",
                "events",
                "--kafka-properties",
                props,
                input,
            ])
            .output()
            .unwrap(),
    );
    out.split(" sent")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_worker_rides_out_broker_crashes_and_loses_or_repeats_nothing() {
    let site = Site::new();
    let props = site.path("identified/kafka.properties");
    std::fs::write(
        &props,
        "# one record per batch (see the module comment)\nbatch.num.messages=1\n",
    )
    .unwrap();
    let props = props.display().to_string();
    // The reference: a file ingest of all events; the broker gets them in two parts.
    let all = site.generate(32_000, 41, 500);
    ok(&site.ingest_args(&all, "clean"));
    let text = std::fs::read_to_string(&all).unwrap();
    let cut = text.match_indices('\n').nth(23_999).unwrap().0 + 1;
    let (first, second) = (site.s("identified/first.ndjson"), site.s("identified/second.ndjson"));
    std::fs::write(&first, &text[..cut]).unwrap();
    std::fs::write(&second, &text[cut..]).unwrap();

    let db = site.path("identified/tansu.db");
    let mut broker = Tansu::start(&db, free_port());
    broker.create_topic("events", 4);
    broker.create_topic("events.dead-letters", 1);
    let mut sent = push(&broker.bootstrap(), &first, &props);

    let zone = site.path("kafka");
    let mut args = crate::kafka::worker_args(&site, &broker.bootstrap(), &site.s("kafka"));
    args.extend(["--kafka-properties".to_owned(), props.clone()]);
    let mut worker = msma()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // Kill the broker twice while the worker consumes, each time after the worker has
    // committed more; leave it down for a few seconds, then restart it on the same data.
    let mut outages = 0;
    for down_ms in [3_000, 6_000] {
        let before = commits(&zone);
        wait_for("a commit", Duration::from_secs(120), || commits(&zone) > before);
        let (db, port) = broker.kill();
        outages += 1;
        std::thread::sleep(Duration::from_millis(down_ms));
        assert!(
            worker.try_wait().unwrap().is_none(),
            "the worker exited while the broker was down"
        );
        broker = Tansu::start(&db, port);
    }
    // Events produced after the restarts reach the same worker too.
    sent += push(&broker.bootstrap(), &second, &props);
    wait_for("every offset committed", Duration::from_secs(300), || {
        crate::kafka::log_offsets(&zone) == sent as i64
    });
    terminate(&worker);
    let out = worker.wait_with_output().unwrap();
    assert!(out.status.success(), "the worker failed after the outages");

    let (offsets, ranges) = offsets_committed_once(&zone);
    assert_eq!(offsets, sent as i64);
    let report = python("same_rows.py", &[&site.s("clean"), &site.s("kafka")]);
    assert!(report.contains("same rows"), "{report}");
    eprintln!(
        "{outages} broker kills survived; {sent} events sent, {offsets} offsets committed once each in {ranges} ranges; {report}"
    );
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}
