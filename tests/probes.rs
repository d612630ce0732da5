//! The worker's metrics endpoint under attack, with the real binary against
//! `msma dev-broker`: a slowloris client trickling one byte every 1.5 s, and a client
//! sending hundreds of MiB without a newline. `/ready` must still answer, and the
//! worker's memory stay bounded. The answer time is reported, not asserted.

use crate::kafka::{Broker, worker_args};
use crate::util::{Site, msma, ok};
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// GET `path`, waiting at most `timeout` for the whole answer: the status line, or None.
fn probe(addr: &str, path: &str, timeout: Duration) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    Some(text.lines().next()?.to_owned())
}

/// The peak resident memory of process `pid`, in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    kib / 1024
}

#[test]
fn slow_and_endless_clients_hold_neither_the_probes_nor_the_memory() {
    let site = Site::new();
    let broker = Broker::start();
    let input = site.generate(2_000, 61, 0);
    ok(&["push", "--brokers", &broker.1, "--topic", "events", &input]);
    let mut args = worker_args(&site, &broker.1, &site.s("kafka"));
    args.extend(["--metrics-listen".into(), "127.0.0.1:0".into()]);
    let mut worker = Killed(
        msma()
            .args(&args)
            .env("MSMA_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let worker = &mut worker.0;
    // The bound port is in the start-up log; the rest of the log is drained.
    let (tx, rx) = std::sync::mpsc::channel();
    let log = std::io::BufReader::new(worker.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in log.lines().map_while(Result::ok) {
            if let Some(addr) = line
                .contains("serving /metrics")
                .then(|| line.split("addr=").nth(1))
                .flatten()
            {
                let _ = tx.send(addr.split_whitespace().next().unwrap_or_default().to_owned());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the metrics address is logged");
    let deadline = Instant::now() + Duration::from_secs(60);
    while probe(&addr, "/ready", Duration::from_secs(5)).is_none_or(|s| !s.contains("200")) {
        assert!(Instant::now() < deadline, "the worker never got ready");
        std::thread::sleep(Duration::from_millis(300));
    }

    // Slowloris: one byte every 1.5 s, for 24 s.
    let slow_addr = addr.clone();
    let slow = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(&slow_addr).unwrap();
        for b in b"GET /ready HTTP/1.1" {
            std::thread::sleep(Duration::from_millis(1500));
            if stream.write_all(&[*b]).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(2000));
    let started = Instant::now();
    let ready = probe(&addr, "/ready", Duration::from_secs(10));
    let slow_answer = started.elapsed();
    eprintln!("/ready beside a slowloris client: {ready:?} in {slow_answer:?}");
    let ready_beside_slow = ready.is_some_and(|s| s.contains("200"));
    slow.join().unwrap();

    // 300 MiB without a newline, as fast as the server takes them.
    let endless_addr = addr.clone();
    let endless = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(&endless_addr).unwrap();
        let chunk = vec![b'a'; 1 << 20];
        let mut sent = 0u64;
        if stream.write_all(b"GET /ready HTTP/1.1\r\nX-Endless: ").is_ok() {
            for _ in 0..300 {
                if stream.write_all(&chunk).is_err() {
                    break;
                }
                sent += chunk.len() as u64;
            }
        }
        sent
    });
    let started = Instant::now();
    let ready = probe(&addr, "/ready", Duration::from_secs(10));
    eprintln!("/ready beside an endless request: {ready:?} in {:?}", started.elapsed());
    let sent = endless.join().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let peak = peak_rss_mib(worker.id());
    eprintln!("endless client sent {} MiB; worker peak RSS {peak} MiB", sent >> 20);
    // Asserted once all is measured, so that a failure gives every figure.
    assert!(
        ready_beside_slow,
        "/ready did not answer within 10 s beside a slow client"
    );
    assert!(
        ready.is_some_and(|s| s.contains("200")),
        "/ready beside an endless request"
    );
    assert!(peak < 200, "the worker's memory grew to {peak} MiB");
    assert!(probe(&addr, "/health", Duration::from_secs(10)).is_some_and(|s| s.contains("200")));
}

/// A child killed when the test ends, failed or not.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
