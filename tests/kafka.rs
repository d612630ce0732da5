//! The Kafka path as an operator drives it: `msma dev-broker` in a process of its own,
//! `msma push`, two `msma ingest` workers in one group, SIGKILLed again and again at
//! varied moments and restarted, then drained, while part of the input is pushed again.
//! Every valid event must be in the datasets exactly once: the rows equal a file ingest
//! of the same events, and the commit log covers each partition's offsets without gap
//! or overlap.

use crate::util::{Site, msma, ok, python, stderr, stdout};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::{Child, Output, Stdio};
use std::time::Duration;

pub struct Broker(Child, pub String);

impl Broker {
    pub fn start() -> Self {
        Self::with_partitions(4)
    }

    pub fn with_partitions(partitions: u32) -> Self {
        let mut child = msma()
            .args([
                "dev-broker",
                "--partitions",
                &partitions.to_string(),
                "--topic",
                "events",
                "--topic",
                "events.dead-letters",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let bootstrap = first
            .trim()
            .strip_prefix("bootstrap: ")
            .expect("bootstrap line first")
            .to_owned();
        Self(child, bootstrap)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Broker {
    /// Generates `events` events, pushes them to topic `events` (all acknowledged), and
    /// ingests the same file into the zone `clean` of `site`, to compare with. Returns the
    /// input file.
    pub fn load(&self, site: &Site, events: u64, seed: u64) -> String {
        let input = site.generate(events, seed, 500);
        pushed_all(
            &msma()
                .args(["push", "--brokers", &self.1, "--topic", "events", &input])
                .output()
                .unwrap(),
        );
        ok(&site.ingest_args(&input, "clean"));
        input
    }
}

/// The summary of a push that sent every valid event, all acknowledged; it exits 0 only
/// if no line was invalid.
pub fn pushed_all(out: &Output) -> String {
    let text = stdout(out);
    assert!(text.contains(" 0 not acknowledged"), "{text}{}", stderr(out));
    let clean = text.ends_with(" 0 invalid (not sent)\n");
    assert_eq!(
        out.status.code(),
        Some(if clean { 0 } else { 1 }),
        "{text}{}",
        stderr(out)
    );
    text
}

/// A worker of group `workers` on topic `events`, writing into `out`.
pub fn worker_args(site: &Site, bootstrap: &str, out: &str) -> Vec<String> {
    [
        "ingest",
        "--brokers",
        bootstrap,
        "--topic",
        "events",
        "--group",
        "workers",
        "--out",
        out,
        "--keys",
        &site.key(),
        "--study",
        "test-study",
        "--flush-rows",
        "4000",
        "--flush-latency-ms",
        "1500",
        "--session-timeout-ms",
        "6000",
    ]
    .map(String::from)
    .to_vec()
}

/// Checks that the commit log covers each of the 4 partitions from offset 0 without gap
/// or overlap; returns the offsets covered and the number of ranges.
pub fn offsets_committed_once(zone: &std::path::Path) -> (i64, usize) {
    let ranges = log_ranges(zone);
    assert_eq!(ranges.len(), 4, "four partitions committed");
    let (mut offsets, mut count) = (0, 0);
    for (p, r) in &ranges {
        assert_eq!(r[0].0, 0, "partition {p} starts at 0");
        for w in r.windows(2) {
            assert_eq!(
                w[1].0,
                w[0].1 + 1,
                "partition {p}: gap or overlap between {:?} and {:?}",
                w[0],
                w[1]
            );
        }
        offsets += r.last().unwrap().1 + 1;
        count += r.len();
    }
    (offsets, count)
}

/// Offsets covered by the commit log, all partitions together.
pub fn log_offsets(zone: &std::path::Path) -> i64 {
    if !zone.join("_msma/log").exists() {
        return 0;
    }
    log_ranges(zone)
        .values()
        .flatten()
        .map(|(first, last)| last - first + 1)
        .sum()
}

/// Partition → sorted offset ranges, from the commit log.
fn log_ranges(zone: &std::path::Path) -> BTreeMap<i64, Vec<(i64, i64)>> {
    let mut ranges: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    let mut names: Vec<_> = std::fs::read_dir(zone.join("_msma/log"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names.iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let record: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        // A rewrite's record (a compaction, a withdrawal) covers no offset.
        let Some(covered) = record["source"]["ranges"].as_array() else {
            let kind = &record["source"]["kind"];
            assert!(kind == "compaction" || kind == "withdrawal", "{record}");
            continue;
        };
        for r in covered {
            let range = (r["first_offset"].as_i64().unwrap(), r["last_offset"].as_i64().unwrap());
            ranges.entry(r["partition"].as_i64().unwrap()).or_default().push(range);
        }
    }
    ranges.values_mut().for_each(|r| r.sort());
    ranges
}

#[test]
fn two_workers_killed_again_and_again_leave_every_event_exactly_once() {
    let site = Site::new();
    let broker = Broker::start();
    // The dev broker keeps about 5 MiB per partition (some 50,000 events): the input and
    // its re-sent part stay within it, or the oldest events would be gone before a
    // stalled group read them (the draining workers would say so, and fail).
    let input = broker.load(&site, 160_000, 17);
    // A producer that restarts re-sends: 16,000 events of the input, pushed again while
    // the workers are killed and restarted.
    let resent = site.s("identified/resent.ndjson");
    let text = std::fs::read_to_string(&input).unwrap();
    std::fs::write(
        &resent,
        text.lines().skip(40_000).take(16_000).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();

    let args = worker_args(&site, &broker.1, &site.s("kafka"));
    let mut rng: u64 = 0x9e3779b97f4a7c15;
    let mut next = |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut kills = 0;
    for round in 0..6 {
        if round == 2 {
            pushed_all(
                &msma()
                    .args(["push", "--brokers", &broker.1, "--topic", "events", &resent])
                    .output()
                    .unwrap(),
            );
        }
        let mut workers: Vec<Child> = (0..2)
            .map(|_| msma().args(&args).stderr(Stdio::null()).spawn().unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(2_000 + next(4_000)));
        // Kill one worker or both, at a moment that varies from round to round.
        let victims = if next(2) == 0 { 1 } else { 2 };
        for w in workers.iter_mut().take(victims) {
            w.kill().unwrap();
            w.wait().unwrap();
            kills += 1;
        }
        std::thread::sleep(Duration::from_millis(next(1_500)));
        for mut w in workers.drain(victims..) {
            w.kill().unwrap();
            w.wait().unwrap();
            kills += 1;
        }
    }

    let before_drain: usize = log_ranges(&site.path("kafka")).values().map(Vec::len).sum();
    assert!(
        before_drain >= 4,
        "the killed workers committed only {before_drain} times"
    );

    // Drain: two workers that stop once the topic is idle, and exit cleanly.
    let mut drain = args.clone();
    drain.extend(["--stop-when-idle-ms".to_owned(), "8000".to_owned()]);
    let workers: Vec<Child> = (0..2)
        .map(|_| {
            msma()
                .args(&drain)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for w in workers {
        let out = w.wait_with_output().unwrap();
        let log = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        assert!(out.status.success(), "a draining worker failed: {tail:#?}");
    }

    let (offsets, _) = offsets_committed_once(&site.path("kafka"));
    let report = python("same_rows.py", &[&site.s("clean"), &site.s("kafka")]);
    assert!(report.contains("same rows"), "{report}");
    eprintln!(
        "survived {kills} kills ({before_drain} commits before the drain); {offsets} offsets committed once each; {report}"
    );
}

#[test]
fn a_worker_tells_of_events_the_broker_deleted_before_it_read_them() {
    let site = Site::new();
    // The dev broker keeps about 5 MiB per partition, as a retention limit would: on one
    // partition, the oldest of 80,000 events are gone before any worker reads them.
    let broker = Broker::with_partitions(1);
    let input = site.generate(80_000, 41, 0);
    pushed_all(
        &msma()
            .args(["push", "--brokers", &broker.1, "--topic", "events", &input])
            .output()
            .unwrap(),
    );
    let mut args = worker_args(&site, &broker.1, &site.s("kafka"));
    args.extend(["--stop-when-idle-ms".to_owned(), "3000".to_owned()]);
    let out = msma().args(&args).output().unwrap();
    // What was read is committed, but scripts must tell that not everything was.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let gone: i64 = err
        .lines()
        .find_map(|l| {
            l.strip_prefix("msma: ")?
                .split_once(" offset(s) of topic events were gone")?
                .0
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no verdict: {err}"));
    assert!(gone > 0 && gone < 80_000, "{err}");
    let logged = format!("partition=0 first=0 last={}", gone - 1);
    assert!(err.lines().any(|l| l.contains(&logged)), "{logged} not in {err}");

    let ranges = log_ranges(&site.path("kafka"));
    assert_eq!(ranges[&0][0].0, gone, "the first commit starts where the broker did");
    assert_eq!(log_offsets(&site.path("kafka")), 80_000 - gone);
    let verified = stdout(&ok(&["audit", "verify", "--data", &site.s("kafka")]));
    let gap = format!(
        "kafka gap: topic events partition 0 offsets 0-{} were never committed (gone from the broker before a worker read them)",
        gone - 1
    );
    assert!(verified.lines().any(|l| l == gap), "{verified}");
    assert!(
        verified.contains(&format!(" {} rows written", 80_000 - gone)),
        "{verified}"
    );
}

#[test]
fn push_reports_invalid_lines_and_sigterm_commits_before_exit() {
    let site = Site::new();
    let broker = Broker::start();
    let input = site.generate(5_000, 23, 20_000);
    let out = msma()
        .args(["push", "--brokers", &broker.1, "--topic", "events", &input])
        .output()
        .unwrap();
    // Invalid lines are a failure scripts can tell, and the summary says so.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let invalid: u64 = text
        .split(", ")
        .find_map(|p| p.strip_suffix(" invalid (not sent)\n")?.parse().ok())
        .unwrap();
    assert!(invalid > 50, "{text}");
    let reasons = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(": not sent: "))
        .count();
    assert_eq!(reasons as u64, invalid);
    let verdict = format!("msma: push incomplete: {invalid} invalid line(s) not sent, 0 event(s) not acknowledged");
    assert!(stderr(&out).lines().any(|l| l == verdict), "{}", stderr(&out));

    let mut args = worker_args(&site, &broker.1, &site.s("kafka"));
    let latency = args.iter().position(|a| a == "--flush-latency-ms").unwrap() + 1;
    args[latency] = "600000".to_owned(); // only the shutdown can commit
    let worker = msma()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(8));
    let started = std::time::Instant::now();
    let pid = worker.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = worker.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "SIGTERM exits 0: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    let ranges = log_ranges(&site.path("kafka"));
    let committed: i64 = ranges.values().map(|r| r.last().unwrap().1 + 1).sum();
    assert_eq!(
        committed as u64,
        5_000 - invalid,
        "buffered work committed on SIGTERM: {}",
        stdout(&out)
    );
}

/// GET `path` from the worker's metrics address: (status line, body).
/// The status line and body of `GET path`.
pub fn http_get(addr: &str, path: &str) -> Option<(String, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_owned(), body.to_owned()))
}

/// The value of a metric without labels.
pub fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn a_worker_from_a_config_file_serves_metrics_that_match_what_was_sent() {
    let site = Site::new();
    let broker = Broker::start();
    let input = site.generate(6_000, 31, 0);
    ok(&["push", "--brokers", &broker.1, "--topic", "events", &input]);
    let port = crate::util::free_port();
    let addr = format!("127.0.0.1:{port}");
    let config = site.path("worker.toml");
    std::fs::write(
        &config,
        format!(
            "[study]\nid = \"test-study\"\nkey_file = \"{}\"\n[output]\nzone = \"{}\"\n[kafka]\nbrokers = \"{}\"\n\
             topic = \"events\"\ngroup = \"metrics\"\nflush_rows = 1000\nflush_latency_ms = 1000\n\
             session_timeout_ms = 6000\n[metrics]\nlisten = \"{addr}\"\n[log]\nformat = \"json\"\nlevel = \"info\"\n",
            site.key(),
            site.s("kafka"),
            broker.1
        ),
    )
    .unwrap();
    let worker = msma()
        .args(["ingest", "--config", &config.display().to_string()])
        .env_remove("MSMA_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let mut last = String::new();
    let mut ready = false;
    // Read in full, and each partition's lag seen at zero by librdkafka's statistics.
    while std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        if let Some((status, _)) = http_get(&addr, "/ready") {
            ready |= status.contains("200");
        }
        let Some((_, body)) = http_get(&addr, "/metrics") else {
            continue;
        };
        last = body;
        let lag_zero = (0..4).all(|p| {
            sample(
                &last,
                &format!("msma_consumer_lag_events{{topic=\"events\",partition=\"{p}\"}}"),
            ) == Some(0.0)
        });
        if sample(&last, "msma_events_written_total") == Some(6_000.0) && lag_zero {
            break;
        }
    }
    assert!(ready, "/ready answered 200 once partitions were assigned");
    assert_eq!(http_get(&addr, "/health").unwrap().0, "HTTP/1.1 200 OK");
    assert!(http_get(&addr, "/nope").unwrap().0.contains("404"));
    assert_eq!(sample(&last, "msma_events_read_total"), Some(6_000.0), "{last}");
    assert_eq!(sample(&last, "msma_events_written_total"), Some(6_000.0), "{last}");
    assert_eq!(
        sample(&last, "msma_events_rejected_total{reason=\"schema_violation\"}"),
        Some(0.0)
    );
    assert_eq!(sample(&last, "msma_partitions_assigned"), Some(4.0));
    // Files and bytes agree with the ledger; there was at least one flush per 1,000 events.
    let records: Vec<serde_json::Value> = std::fs::read_dir(site.path("kafka/_msma/log"))
        .unwrap()
        .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    let files: usize = records.iter().map(|r| r["files"].as_array().unwrap().len()).sum();
    let bytes: u64 = records
        .iter()
        .flat_map(|r| r["files"].as_array().unwrap())
        .map(|f| f["bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(sample(&last, "msma_files_written_total"), Some(files as f64));
    assert_eq!(sample(&last, "msma_bytes_written_total"), Some(bytes as f64));
    assert_eq!(sample(&last, "msma_flushes_total"), Some(records.len() as f64));
    assert!(records.len() >= 6);
    assert!(sample(&last, "msma_commit_duration_seconds_total").unwrap() > 0.0);

    let pid = worker.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let out = worker.wait_with_output().unwrap();
    assert!(out.status.success());
    // JSON logs at info, as the configuration asked.
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(
        logs.lines().any(|l| l.starts_with('{') && l.contains("\"committed\"")),
        "{logs}"
    );
}

#[test]
fn the_lag_has_a_sample_per_partition_before_the_first_commit() {
    let site = Site::new();
    let broker = Broker::start();
    let input = site.generate(6_000, 37, 0);
    ok(&["push", "--brokers", &broker.1, "--topic", "events", &input]);
    let addr = format!("127.0.0.1:{}", crate::util::free_port());
    let mut args = worker_args(&site, &broker.1, &site.s("kafka"));
    for (flag, value) in [("--flush-rows", "1000000"), ("--flush-latency-ms", "600000")] {
        let at = args.iter().position(|a| a == flag).unwrap() + 1;
        args[at] = value.to_owned(); // only the shutdown can commit
    }
    args.extend(["--metrics-listen".to_owned(), addr.clone()]);
    let worker = msma()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lags = |body: &str| -> Option<Vec<f64>> {
        (0..4)
            .map(|p| {
                sample(
                    body,
                    &format!("msma_consumer_lag_events{{topic=\"events\",partition=\"{p}\"}}"),
                )
            })
            .collect()
    };
    // Statistics come every 5 s; the bound is generous.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        if let Some((_, body)) = http_get(&addr, "/metrics") {
            last = body;
            if lags(&last).is_some_and(|l| l.iter().sum::<f64>() == 6_000.0) {
                break;
            }
        }
    }
    // Stopped before judging, so that a failure leaves no worker behind.
    let pid = worker.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let stopped = worker.wait_with_output().unwrap().status;
    assert_eq!(sample(&last, "msma_events_written_total"), Some(0.0), "{last}");
    let lag = lags(&last).unwrap_or_else(|| panic!("a lag sample for each partition:\n{last}"));
    assert_eq!(lag.iter().sum::<f64>(), 6_000.0, "every event is behind: {lag:?}");
    assert!(stopped.success(), "{stopped:?}");
}

/// Waits for `child`, killing it and failing past `bound`.
fn wait_within(mut child: Child, bound: Duration, what: &str) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + bound;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} was still running after {} s", bound.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn push_and_worker_give_up_on_a_broker_that_is_not_there() {
    let site = Site::new();
    let input = site.generate(500, 53, 0);
    let closed = format!("127.0.0.1:{}", crate::util::free_port());
    let log = |name: &str| std::fs::File::create(site.path(name)).unwrap();
    // The push waits 30 s by default; the worker is told 2 s. Logs go to files: librdkafka
    // repeats its connection failures, which would fill a pipe.
    let push = msma()
        .args(["push", "--brokers", &closed, "--topic", "events", &input])
        .stdout(log("push.out"))
        .stderr(log("push.err"))
        .spawn()
        .unwrap();
    let mut args = worker_args(&site, &closed, &site.s("kafka"));
    args.extend(["--stop-when-idle-ms", "2000", "--connect-timeout-ms", "2000"].map(String::from));
    let worker = msma()
        .args(&args)
        .stdout(log("worker.out"))
        .stderr(log("worker.err"))
        .spawn()
        .unwrap();
    // Three times the default: generous, and short of the push's message timeout (120 s),
    // after which a push that never gives up would exit too.
    let bound = Duration::from_secs(90);
    for (child, name, within) in [(push, "push", "30"), (worker, "worker", "2")] {
        let status = wait_within(child, bound, name);
        let err = std::fs::read_to_string(site.path(&format!("{name}.err"))).unwrap();
        assert!(!status.success(), "{name}: {status:?}");
        let said = format!("msma: error: no Kafka broker answered at {closed} within {within} s");
        assert!(err.lines().any(|l| l.starts_with(&said)), "{name}:\n{err}");
    }
    let records = std::fs::read_dir(site.path("kafka/_msma/log")).map_or(0, |d| d.count());
    assert_eq!(records, 0, "nothing committed");
}
