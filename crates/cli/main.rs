//! The `msma` command: one module per subcommand, each a thin layer over the crates.

mod audit;
mod compact;
mod config;
mod demo;
mod dev_broker;
mod generate;
mod ingest;
mod keys;
mod progress;
mod pseudonymise;
mod push;
mod query;
mod report;
mod rotate;
mod schema;
mod serve;
mod summary;
mod vacuum;
mod validate;
mod withdraw;
mod worker;

use clap::{Parser, Subcommand};
pub(crate) use msma_config::LocationArg;
use std::process::ExitCode;

/// Pseudonymised research datasets from the activity of addiction-care microstructures.
#[derive(Parser)]
#[command(name = "msma", version, about, propagate_version = true)]
struct Cli {
    /// Log format on standard error [default: text, or log.format of the configuration].
    #[arg(long, global = true, value_enum)]
    log_format: Option<msma_config::LogFormat>,
    /// Only warnings and errors in the log.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole pipeline on a generated year of one network, in ./msma-demo.
    Demo(demo::Args),
    /// Generate realistic synthetic events (NDJSON).
    Generate(generate::Args),
    /// Create or inspect key files.
    #[command(subcommand)]
    Keys(keys::Command),
    /// Validate, pseudonymise and write events to Parquet datasets, exactly once, from a
    /// file (--input) or as a Kafka worker (--brokers --topic --group).
    Ingest(Box<ingest::Args>),
    /// Validate events locally and send the valid ones to a Kafka topic.
    Push(push::Args),
    /// One patient pseudonym, on a request whose legal basis is recorded in a register.
    Pseudonymise(pseudonymise::Args),
    /// A patient's withdrawal from a study: their rows removed, their later events kept
    /// out, recorded in the register beside the key.
    Withdraw(withdraw::Args),
    /// For data stewards: verify the ledger, scan for identifiers, measure disclosure risk.
    #[command(subcommand)]
    Audit(audit::Command),
    /// Run an in-memory Kafka broker for trials and tests (not for production).
    DevBroker(dev_broker::Args),
    /// Rewrite the small files of each partition of a research zone into large ones, in
    /// one commit (workers do it on their own, see compact.min_files).
    Compact(compact::Args),
    /// Check events against their schemas without writing anything.
    Validate(validate::Args),
    /// SQL over the research datasets (Apache DataFusion), each a table named after its
    /// event type.
    Query(Box<query::Args>),
    /// Reports for researchers, with small-cell suppression: HTML with charts, CSV, JSON.
    #[command(subcommand)]
    Report(report::Command),
    /// The datasets' data dictionary.
    #[command(subcommand)]
    Schema(schema::Command),
    /// Check a configuration file without starting anything.
    #[command(subcommand)]
    Config(config::Command),
    /// Delete the files records retired (compaction, withdrawal) older than a number of
    /// days.
    Vacuum(vacuum::Args),
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    // Keys and identified events are in this process's memory: no core dump of it, and
    // no debugger of another user attached to it.
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable) {
        eprintln!("msma: warning: could not disable core dumps: {e}");
    }
    let cli = Cli::parse();
    // The worker's configuration also sets its logs: read it first.
    let config = match &cli.command {
        Command::Ingest(f) => match msma_config::Config::load(f.config.as_deref()) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("msma: error: {}", describe(&e.into()));
                return ExitCode::from(2);
            }
        },
        _ => None,
    };
    let log = config.as_ref().map(|c| &c.log);
    let format = cli
        .log_format
        .or(log.and_then(|l| l.format))
        .unwrap_or(msma_config::LogFormat::Text);
    // Progress logs matter for long-running work; elsewhere they would drown the output.
    let verbose = matches!(cli.command, Command::Ingest(_)) && !cli.quiet;
    let level = log.and_then(|l| l.level.clone()).filter(|_| !cli.quiet);
    init_logs(format, verbose, level);
    let result = match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Keys(c) => keys::run(c),
        Command::Ingest(f) => ingest::run(*f, config.unwrap_or_default()),
        Command::Config(c) => config::run(c),
        Command::Validate(a) => validate::run(a),
        Command::Compact(a) => compact::run(a),
        Command::Push(a) => push::run(a),
        Command::Audit(c) => audit::run(c),
        Command::Pseudonymise(a) => pseudonymise::run(a),
        Command::Withdraw(a) => withdraw::run(a),
        Command::DevBroker(a) => dev_broker::run(a),
        Command::Query(a) => query::run(*a),
        Command::Report(c) => report::run(c),
        Command::Schema(c) => schema::run(c),
        Command::Vacuum(a) => vacuum::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::from(141)
        }
        Err(e) => {
            eprintln!("msma: error: {}", describe(&e));
            ExitCode::from(2)
        }
    }
}

/// Logs at MSMA_LOG's level, else the configuration's, else info for long-running work
/// and warnings elsewhere.
fn init_logs(format: msma_config::LogFormat, verbose: bool, level: Option<String>) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let default = level.unwrap_or_else(|| if verbose { "info" } else { "warn" }.into());
    let filter = EnvFilter::try_from_env("MSMA_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| progress::LogWriter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    match format {
        msma_config::LogFormat::Text => builder.init(),
        msma_config::LogFormat::Json => builder.json().init(),
    }
}

/// `msma ... | head` closes our standard output early: end quietly, as a Unix tool does
/// on SIGPIPE, instead of reporting a panic.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// [`msma_ingest::create_private_parents`], the folder named in its error.
pub(crate) fn create_parents(path: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    msma_ingest::create_private_parents(path).with_context(|| format!("creating the folders of {}", path.display()))
}

/// An error and its causes on one line, each cause once: many errors already end with
/// the message of their source.
pub(crate) fn describe(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}
