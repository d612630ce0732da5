//! `msma audit`: what a data steward runs, trusting nothing but the zone's own files.

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum Command {
    /// Re-hash every file and record of the ledger; fail, naming the culprit, on any
    /// modified, missing or unrecorded file or edited, removed or reordered record.
    Verify {
        /// The research zone: a folder, or s3://bucket/prefix (credentials from AWS_*
        /// variables).
        #[arg(long, value_parser = crate::LocationArg)]
        data: msma_sink::Location,
        /// The head hash printed by an earlier verify, kept outside the zone: detects
        /// a removed or edited last record.
        #[arg(long)]
        expect_head: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Read every value of every column, every folder and file name and every ledger
    /// record, and report what looks like a direct identifier.
    Scan {
        /// The research zone: a folder, or s3://bucket/prefix.
        #[arg(long, value_parser = crate::LocationArg)]
        data: msma_sink::Location,
        /// Raw identifiers from the source system, one per line, to search for verbatim.
        #[arg(long)]
        known: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Check and list the register of re-identification requests (`msma pseudonymise`):
    /// its lines are coded under the master key, which verification needs.
    Requests {
        /// The master key file the register is kept with.
        #[arg(long)]
        keys: PathBuf,
        /// The register [default: beside the key file, KEY.requests.ndjson].
        #[arg(long)]
        register: Option<PathBuf>,
        /// The head printed by an earlier check, kept elsewhere: detects a removed last
        /// line.
        #[arg(long)]
        expect_head: Option<String>,
        /// Anchor lines written by an earlier msma (unkeyed) with a keyed line, after
        /// checking them against a copy kept elsewhere.
        #[arg(long)]
        seal: bool,
    },
    /// k-anonymity over the quasi-identifiers (in patients), l-diversity of sensitive
    /// attributes, and the generalisations that would reach k.
    Risk {
        /// The research zone: a folder, or s3://bucket/prefix.
        #[arg(long, value_parser = crate::LocationArg)]
        data: msma_sink::Location,
        /// The dataset (event type).
        #[arg(long)]
        dataset: String,
        /// The smallest class size wanted.
        #[arg(long, default_value_t = 11)]
        k: u64,
        /// Quasi-identifier columns, comma-separated [default: those of sex, age_band,
        /// departement, region, microstructure_pseudonym, network_id in the dataset].
        #[arg(long, value_delimiter = ',')]
        quasi: Option<Vec<String>>,
        /// Sensitive columns, comma-separated, for l-diversity.
        #[arg(long, value_delimiter = ',')]
        sensitive: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Requests {
            keys,
            register,
            expect_head,
            seal,
        } => requests(&keys, register, expect_head.as_deref(), seal),
        Command::Risk {
            data,
            dataset,
            k,
            quasi,
            sensitive,
            format,
        } => risk(&data, &dataset, k, quasi, sensitive, format),
        Command::Verify {
            data,
            expect_head,
            format,
        } => verify(&data, expect_head.as_deref(), format),
        Command::Scan { data, known, format } => scan(&data, known, format),
    }
}

/// Seals the register if asked, then checks it and lists its lines.
fn requests(keys: &Path, register: Option<PathBuf>, expect_head: Option<&str>, seal: bool) -> Result<ExitCode> {
    let key = msma_pseudo::MasterKey::load(keys)?;
    let register = register.unwrap_or_else(|| msma_audit::requests::beside(keys));
    if seal {
        let entry = msma_audit::requests::Entry::new(msma_audit::requests::Kind::Seal);
        let s = msma_audit::requests::append(&register, &key, entry)?;
        println!("sealed: line {} anchors the lines before it", s.seq);
    }
    match msma_audit::requests::verify(&register, &key, expect_head) {
        Ok(lines) => {
            print_requests(&lines);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("FAILED: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Measures the disclosure risk of one dataset; fails when k is not reached.
fn risk(
    data: &msma_sink::Location,
    dataset: &str,
    k: u64,
    quasi: Option<Vec<String>>,
    sensitive: Vec<String>,
    format: Format,
) -> Result<ExitCode> {
    let r = msma_audit::risk(data, dataset, k, quasi, sensitive)?;
    if format == Format::Json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        print_risk(&r);
    }
    Ok(if r.smallest_class >= k {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Verifies the zone's ledger and files; fails, naming the problem, on any difference.
fn verify(data: &msma_sink::Location, expect_head: Option<&str>, format: Format) -> Result<ExitCode> {
    match msma_audit::verify(data, expect_head) {
        Ok(s) => {
            if format == Format::Json {
                println!("{}", serde_json::json!({ "ok": true, "summary": s }));
            } else {
                print_summary(&s);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(problem) => {
            if format == Format::Json {
                println!("{}", serde_json::json!({ "ok": false, "problem": problem.to_string() }));
            } else {
                println!("FAILED: {problem}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// Scans the zone for what looks like a direct identifier; fails on any finding.
fn scan(data: &msma_sink::Location, known: Option<PathBuf>, format: Format) -> Result<ExitCode> {
    let known = read_known(known)?;
    let r = msma_audit::scan(data, &known)?;
    if format == Format::Json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        print_scan(&r);
    }
    Ok(if r.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The known raw identifiers, one per line, trimmed, blank lines skipped.
fn read_known(known: Option<PathBuf>) -> Result<HashSet<String>> {
    Ok(match known {
        Some(p) => std::fs::read_to_string(&p)
            .with_context(|| format!("reading {}", p.display()))?
            .lines()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect(),
        None => HashSet::new(),
    })
}

/// The verified ledger, as text.
fn print_summary(s: &msma_audit::Summary) {
    let span = format!(
        "{} to {}",
        s.first_commit.as_deref().unwrap_or("-"),
        s.last_commit.as_deref().unwrap_or("-")
    );
    println!(
        "ok: {} records, {} files ({} bytes), {} rows written, {} rejected",
        s.records, s.files, s.bytes, s.rows_written, s.rows_rejected
    );
    if s.dedup_runs > 0 {
        println!(
            "dedup index: {} runs checked; {} events came again and were not written twice",
            s.dedup_runs, s.rows_duplicate
        );
    }
    if s.checkpoints > 0 {
        println!(
            "checkpoints: {} checked against the records they summarise",
            s.checkpoints
        );
    }
    for g in &s.kafka_gaps {
        println!(
            "kafka gap: topic {} partition {} offsets {}-{} were never committed (gone from the broker before a worker read them)",
            g.topic, g.partition, g.first, g.last
        );
    }
    println!("studies: {}; key ids: {}", join(&s.studies), join(&s.key_ids));
    println!("commits: {span}");
    println!(
        "head: {} (keep it elsewhere; check later with --expect-head)",
        s.head_sha256.as_deref().unwrap_or("-")
    );
}

/// The findings and what was read, as text.
fn print_scan(r: &msma_audit::ScanReport) {
    for f in &r.findings {
        println!("{}: {} {} column {} row {}", f.kind, f.dataset, f.file, f.column, f.row);
    }
    println!(
        "{} files, {} values, {} names, {} ledger records read: {} findings",
        r.files,
        r.values,
        r.names,
        r.records,
        r.findings.len()
    );
}

fn print_requests(lines: &[msma_audit::requests::Line]) {
    use msma_audit::requests::Kind;
    for l in lines {
        let e = &l.entry;
        let field = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let what = match e.kind {
            Kind::Request => "request",
            Kind::Override => "request recorded elsewhere",
            Kind::Seal => "seal",
            Kind::Withdrawal => "withdrawal",
        };
        print!("{} {} {what} key {}", e.seq, e.at, e.key_id);
        if e.kind != Kind::Seal {
            print!(
                " study {} network {}: {}",
                field(&e.study_id),
                field(&e.network_id),
                field(&e.reason)
            );
        }
        if let Some(other) = &e.register {
            print!(" (in {other})");
        }
        println!("{}", if l.keyed { "" } else { " [earlier msma, unkeyed]" });
    }
    let count = |kinds: &[Kind]| lines.iter().filter(|l| kinds.contains(&l.entry.kind)).count();
    println!(
        "ok: {} lines, {} requests, {} withdrawals, chain intact and coded under the key",
        lines.len(),
        count(&[Kind::Request, Kind::Override]),
        count(&[Kind::Withdrawal])
    );
    println!(
        "head: {} (keep it elsewhere; check later with --expect-head)",
        lines.last().map_or("-", |l| l.link.as_str())
    );
}

fn join(set: &std::collections::BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

fn print_risk(r: &msma_audit::RiskReport) {
    println!(
        "{}: {} patients in {} classes over {}",
        r.dataset,
        r.patients,
        r.classes,
        r.quasi.join(", ")
    );
    let verdict = if r.smallest_class >= r.k {
        "reached"
    } else {
        "NOT reached"
    };
    println!("k = {} {verdict}: smallest class {} patients", r.k, r.smallest_class);
    println!(
        "{} classes below k, holding {} patients",
        r.classes_below_k, r.patients_in_classes_below_k
    );
    println!("smallest classes:");
    for c in &r.worst_classes {
        let values: Vec<String> = c.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("  {:>6}  {}", c.patients, values.join(" "));
    }
    for (name, l) in &r.l_diversity {
        println!("l-diversity of {name}: {l} (fewest distinct values in a class)");
    }
    println!("generalisations:");
    for g in &r.generalisations {
        let mark = if g.reaches_k { "reaches k" } else { "" };
        println!(
            "  {:<60} smallest {:>5}, {:>6} patients below k  {mark}",
            g.change, g.smallest_class, g.patients_in_classes_below_k
        );
    }
}
