//! `msma push`: a network pipeline sends its events to Kafka.

use anyhow::{Context, Result};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

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
    let r = msma_kafka::push(&a.brokers, &a.topic, &properties, input, |line, why| {
        eprintln!("line {line}: not sent: {why}")
    })?;
    println!(
        "{} lines: {} sent, {} acknowledged, {} not acknowledged, {} invalid (not sent)",
        r.lines,
        r.sent,
        r.acknowledged,
        r.sent - r.acknowledged,
        r.invalid
    );
    Ok(if r.acknowledged == r.sent {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
