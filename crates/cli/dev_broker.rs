//! `msma dev-broker`: a Kafka broker for trials and tests, with nothing installed.

use anyhow::Result;
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Partitions of each topic created.
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Topics to create (repeatable); others are created on first use.
    #[arg(long = "topic")]
    topics: Vec<String>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let broker = msma_kafka::DevBroker::start(&a.topics, a.partitions)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "bootstrap: {}", broker.bootstrap())?;
    out.flush()?;
    drop(out);
    eprintln!(
        "librdkafka's mock cluster: everything is kept in memory and lost when it stops, and each \
         partition keeps only its last ~5 MiB of (compressed) messages; for trials and tests, not \
         for production. Stop it with Ctrl-C or SIGTERM."
    );
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(crate::worker::wait_for_signal())?;
    drop(broker);
    Ok(ExitCode::SUCCESS)
}
