//! Helpers: run the binary, make keys and inputs, call the Python checks.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn msma() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_msma"));
    c.env("MSMA_LOG", "warn");
    c
}

/// Runs msma and returns its output, failing the test with stderr on a non-zero exit.
pub fn ok<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> Output {
    let out = msma().args(args).output().expect("msma runs");
    assert!(
        out.status.success(),
        "msma {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch folder laid out as a deployment: identified input and dead letters,
/// custodian key, research zone.
pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["identified", "custodian"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Self { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn s(&self, rel: &str) -> String {
        self.path(rel).display().to_string()
    }

    pub fn key(&self) -> String {
        let k = self.s("custodian/master.key");
        if !Path::new(&k).exists() {
            ok(&["keys", "init", "--out", &k]);
        }
        k
    }

    pub fn generate(&self, events: u64, seed: u64, invalid_per_million: u32) -> String {
        let out = self.s("identified/events.ndjson");
        ok(&[
            "generate",
            "--events",
            &events.to_string(),
            "--seed",
            &seed.to_string(),
            "--invalid-per-million",
            &invalid_per_million.to_string(),
            "--out",
            &out,
        ]);
        out
    }

    /// The arguments of `msma ingest` into `zone` with dead letters beside the input.
    pub fn ingest_args(&self, input: &str, zone: &str) -> Vec<String> {
        [
            "ingest",
            "--input",
            input,
            "--out",
            &self.s(zone),
            "--keys",
            &self.key(),
            "--study",
            "test-study",
            "--dead-letter",
            &self.s(&format!("identified/{zone}-dead.ndjson")),
        ]
        .map(String::from)
        .to_vec()
    }
}

/// A loopback port free at the time of the call, for a server a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs a Python script of tests/py, failing with its output.
pub fn python(script: &str, args: &[&str]) -> String {
    python_at(&repo().join("tests/py").join(script), args)
}

/// Runs the Python script at `script`, failing with its output.
pub fn python_at(script: &Path, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs (tests/run installs the Python packages)");
    assert!(
        out.status.success(),
        "{} failed:\n{}\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether any file of the zone holds `needle` verbatim.
pub fn zone_contains(zone: &Path, needle: &str) -> bool {
    let mut stack = vec![zone.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
            {
                return true;
            }
        }
    }
    false
}
