//! `msma push`: a network pipeline sends its events to Kafka.

use anyhow::{Context, Result};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// Kafka bootstrap servers (HOST:PORT,...).
    #[arg(long)]
    brokers: String,
    /// The topic the ingest workers consume.
    #[arg(long)]
    topic: String,
    /// librdkafka settings (TLS, SASL, tuning) as key=value lines.
    #[arg(long, value_name = "FILE")]
    kafka_properties: Option<PathBuf>,
    /// Give up when no broker answered this long after the start.
    #[arg(long, value_name = "MS", default_value_t = millis(msma_kafka::CONNECT_TIMEOUT))]
    connect_timeout_ms: u64,
    /// NDJSON events, or - for standard input.
    input: PathBuf,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let input: Box<dyn BufRead> = if a.input.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(&a.input).with_context(|| format!("opening {}", a.input.display()))?;
        Box::new(std::io::BufReader::with_capacity(1 << 20, f))
    };
    let properties = match &a.kafka_properties {
        Some(path) => msma_kafka::ClientProperties::load(path)?,
        None => Default::default(),
    };
    let connect_timeout = Duration::from_millis(a.connect_timeout_ms);
    let r = msma_kafka::push(
        &a.brokers,
        &a.topic,
        &properties,
        connect_timeout,
        input,
        |line, why| eprintln!("line {line}: not sent: {why}"),
    )?;
    println!(
        "{} lines: {} sent, {} acknowledged, {} not acknowledged, {} invalid (not sent)",
        r.lines,
        r.sent,
        r.acknowledged,
        r.sent - r.acknowledged,
        r.invalid
    );
    let unacknowledged = r.sent - r.acknowledged;
    if r.invalid == 0 && unacknowledged == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    // The summary above stays one line that scripts parse; the verdict goes with the errors.
    eprintln!(
        "msma: push incomplete: {} invalid line(s) not sent, {unacknowledged} event(s) not acknowledged",
        r.invalid
    );
    Ok(ExitCode::from(1))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
