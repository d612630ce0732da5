//! msma's Kafka clients against a broker that requires TLS, and SASL SCRAM: the dev
//! broker behind a TLS-terminating proxy (tests/py/kafka_tls_proxy.py), since
//! librdkafka's mock cluster speaks plaintext only. A throwaway CA and server
//! certificate are made at test time with the openssl command. Also: a configuration
//! that asks for TLS never falls back to plaintext, and the properties file's values
//! (passwords) appear in no error.

use crate::kafka::{Broker, worker_args};
use crate::util::{Site, msma, ok, python, repo, stderr, stdout};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The broker's address for clients over TLS: the dev broker's port on another loopback
/// address, where the proxy listens (it rewrites the broker's advertised address, of
/// the same length).
const TLS_HOST: &str = "127.0.0.2";
const PASSWORD: &str = "Scram-Test-Passw0rd";

struct Secured {
    _broker: Broker,
    proxy: Child,
    bootstrap: String,
    ca: PathBuf,
}

impl Drop for Secured {
    fn drop(&mut self) {
        let _ = self.proxy.kill();
        let _ = self.proxy.wait();
    }
}

/// A CA, and a certificate it signed for [`TLS_HOST`]: (CA certificate, certificate, key).
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs (.ci/run installs it)");
        assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
    };
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    let sh = |line: String| run(&line.split(' ').collect::<Vec<_>>());
    sh(format!(
        "req -x509 {ec} -days 2 -subj /CN=msma-test-ca -addext basicConstraints=critical,CA:TRUE -keyout ca.key -out ca.pem"
    ));
    sh(format!(
        "req {ec} -subj /CN={TLS_HOST} -keyout server.key -out server.csr"
    ));
    std::fs::write(dir.join("san.ext"), format!("subjectAltName=IP:{TLS_HOST}\n")).unwrap();
    sh(
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem"
            .into(),
    );
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}

impl Secured {
    /// The dev broker behind the TLS proxy; with `scram`, the proxy also requires SASL
    /// SCRAM-SHA-512 as user msma-ingest with [`PASSWORD`].
    fn start(site: &Site, scram: bool) -> Self {
        let broker = Broker::start();
        let port = broker.1.rsplit(':').next().unwrap().to_owned();
        let upstream = broker.1.rsplit_once(':').unwrap().0.to_owned();
        let dir = site.path("tls");
        std::fs::create_dir_all(&dir).unwrap();
        let (ca, cert, key) = certificates(&dir);
        let mut proxy = Command::new("python3");
        proxy
            .arg(repo().join("tests/py/kafka_tls_proxy.py"))
            .args([TLS_HOST, &upstream, &port])
            .arg(&cert)
            .arg(&key);
        if scram {
            proxy.args(["--scram", "SCRAM-SHA-512", "msma-ingest", PASSWORD]);
        }
        let mut proxy = proxy.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(proxy.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "listening", "the proxy started");
        Self {
            _broker: broker,
            proxy,
            bootstrap: format!("{TLS_HOST}:{port}"),
            ca,
        }
    }
}

fn properties(site: &Site, name: &str, text: &str) -> String {
    let path = site.path(&format!("identified/{name}.properties"));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn push(bootstrap: &str, props: &str, input: &str) -> Output {
    msma()
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
        .unwrap()
}

/// A worker of a fresh group that drains topic `events` into `zone` and exits.
fn drain(site: &Site, bootstrap: &str, props: Option<&str>, zone: &str) -> Output {
    let mut args = worker_args(site, bootstrap, &site.s(zone));
    args.extend(["--stop-when-idle-ms".into(), "4000".into()]);
    if let Some(p) = props {
        args.extend(["--kafka-properties".into(), p.into()]);
    }
    msma().args(&args).output().unwrap()
}

fn commits(zone: &Path) -> usize {
    std::fs::read_dir(zone.join("_msma/log")).map_or(0, |d| d.count())
}

#[test]
fn push_and_worker_over_tls_ingest_every_event_and_plaintext_is_refused() {
    let site = Site::new();
    let tls = Secured::start(&site, false);
    let input = site.generate(3_000, 51, 500);
    ok(&site.ingest_args(&input, "clean"));
    let props = properties(
        &site,
        "tls",
        &format!("security.protocol=SSL\nssl.ca.location={}\n", tls.ca.display()),
    );

    // A plaintext client gets nothing through the TLS port.
    let plain = properties(&site, "plain", "message.timeout.ms=5000\n");
    let out = push(&tls.bootstrap, &plain, &input);
    assert!(!out.status.success(), "plaintext to a TLS port: {}", stdout(&out));
    assert!(stdout(&out).contains(" 0 acknowledged"), "{}", stdout(&out));
    // A TLS client that does not trust the broker's CA stops on the certificate.
    let untrusted = properties(&site, "untrusted", "security.protocol=SSL\n");
    let out = push(&tls.bootstrap, &untrusted, &input);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("certificate"), "{}", stderr(&out));

    crate::kafka::pushed_all(&push(&tls.bootstrap, &props, &input));
    let out = drain(&site, &tls.bootstrap, Some(&props), "kafka");
    assert!(out.status.success(), "{}", stderr(&out));
    let report = python("same_rows.py", &[&site.s("clean"), &site.s("kafka")]);
    assert!(report.contains("same rows"), "{report}");
    eprintln!("over TLS: {}", stdout(&out).lines().next().unwrap_or_default());
}

#[test]
fn tls_asked_of_a_plaintext_broker_fails_and_sends_or_writes_nothing() {
    let site = Site::new();
    let broker = Broker::start();
    let input = site.generate(500, 52, 0);
    let props = properties(&site, "tls", "security.protocol=SSL\n");
    let out = push(&broker.1, &props, &input);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("failed on TLS") && stderr(&out).contains("SSL handshake failed"),
        "{}",
        stderr(&out)
    );
    let out = drain(&site, &broker.1, Some(&props), "tls-zone");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("failed on TLS"), "{}", stderr(&out));
    assert_eq!(commits(&site.path("tls-zone")), 0, "a refused worker writes nothing");
    // Nothing reached the topic in plaintext.
    let out = drain(&site, &broker.1, None, "plain-zone");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("read 0 events"), "{}", stdout(&out));
}

/// The secured example of docs/OPERATIONS.md, with this test's password and CA.
fn operations_example(ca: &Path, password: &str) -> String {
    let doc = std::fs::read_to_string(repo().join("docs/OPERATIONS.md")).unwrap();
    let block = doc
        .split("```properties\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a properties block");
    let keys: Vec<_> = block
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        keys,
        [
            "security.protocol",
            "sasl.mechanism",
            "sasl.username",
            "sasl.password",
            "ssl.ca.location"
        ]
    );
    block
        .replace("sasl.password=...", &format!("sasl.password={password}"))
        .replace("/etc/msma/kafka-ca.pem", &ca.display().to_string())
}

#[test]
fn scram_over_tls_as_the_operations_guide_writes_it() {
    let site = Site::new();
    let tls = Secured::start(&site, true);
    let input = site.generate(2_000, 53, 500);
    ok(&site.ingest_args(&input, "clean"));
    let props = properties(&site, "scram", &operations_example(&tls.ca, PASSWORD));

    let wrong = "Not-The-Passw0rd";
    let bad = properties(&site, "bad", &operations_example(&tls.ca, wrong));
    let out = push(&tls.bootstrap, &bad, &input);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("Authentication failed"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(wrong), "{}", stderr(&out));

    crate::kafka::pushed_all(&push(&tls.bootstrap, &props, &input));
    let out = drain(&site, &tls.bootstrap, Some(&props), "kafka");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains(PASSWORD));
    let report = python("same_rows.py", &[&site.s("clean"), &site.s("kafka")]);
    assert!(report.contains("same rows"), "{report}");
}

#[test]
fn a_properties_file_error_names_the_key_and_line_never_the_value() {
    let site = Site::new();
    let secret = "SuperSecret123";
    for (text, line, key) in [
        (
            format!("# broker\nsasl.username=msma\nsasl.pasword={secret}\n"),
            3,
            "sasl.pasword",
        ),
        (format!("security.protocol={secret}\n"), 1, "security.protocol"),
        (
            format!("linger.ms=5\nssl.ca.location=/nonexistent/{secret}.pem\nsecurity.protocol=SSL\n"),
            0,
            "ssl.ca.location",
        ),
    ] {
        let props = properties(&site, "typo", &text);
        let push = msma()
            .args([
                "push",
                "--brokers",
                "127.0.0.1:9",
                "--topic",
                "events",
                "--kafka-properties",
                &props,
                "-",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let mut worker = worker_args(&site, "127.0.0.1:9", &site.s("zone"));
        worker.extend(["--kafka-properties".into(), props.clone()]);
        let worker = msma().args(&worker).output().unwrap();
        for out in [push, worker] {
            let err = stderr(&out);
            assert!(!out.status.success(), "{text}");
            assert!(!err.contains(secret), "the value is echoed: {err}");
            assert!(err.contains(key), "{err}");
            if line > 0 {
                assert!(err.contains(&format!("line {line}: ")), "{err}");
            }
        }
    }
}
