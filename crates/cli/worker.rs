//! `msma ingest --brokers ...`: an ingest worker of a consumer group.

use crate::ingest::{Args, Study, open_study};
use anyhow::Result;
use msma_ingest::Transform;
use msma_kafka::WorkerConfig;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Args, Default)]
pub struct KafkaFlags {
    /// Kafka bootstrap servers (HOST:PORT,...): run as a worker of a consumer group
    /// [kafka.brokers].
    #[arg(long)]
    pub brokers: Option<String>,
    /// The topic to consume [kafka.topic].
    #[arg(long)]
    pub topic: Option<String>,
    /// The consumer group: workers of one group share the partitions, one study per
    /// group [kafka.group].
    #[arg(long)]
    pub group: Option<String>,
    /// Where rejected events go [kafka.dead_letter_topic; default <topic>.dead-letters].
    #[arg(long)]
    pub dead_letter_topic: Option<String>,
    /// Commit once this many events are buffered, all partitions of the worker
    /// [kafka.flush_rows; default 100000].
    #[arg(long)]
    pub flush_rows: Option<usize>,
    /// Commit once the buffered events add up to this many bytes of input
    /// [kafka.flush_bytes; default 67108864].
    #[arg(long)]
    pub flush_bytes: Option<usize>,
    /// Commit once the oldest buffered event of any partition waited this long, idle or
    /// not [kafka.flush_latency_ms; default 30000].
    #[arg(long)]
    pub flush_latency_ms: Option<u64>,
    /// The consumer group session timeout: how soon a dead worker's partitions move
    /// [kafka.session_timeout_ms; default 10000].
    #[arg(long)]
    pub session_timeout_ms: Option<u64>,
    /// Stop after this long with no message, committing what is buffered: drain and
    /// exit [kafka.stop_when_idle_ms].
    #[arg(long)]
    pub stop_when_idle_ms: Option<u64>,
    /// librdkafka settings (TLS, SASL, tuning) as key=value lines
    /// [kafka.client_properties].
    #[arg(long, value_name = "FILE")]
    pub kafka_properties: Option<PathBuf>,
    /// Serve /metrics, /health and /ready on this address, e.g. 127.0.0.1:9464
    /// [metrics.listen].
    #[arg(long)]
    pub metrics_listen: Option<String>,
}

/// The worker's settings, resolved.
pub struct KafkaArgs {
    pub brokers: Option<String>,
    pub topic: Option<String>,
    pub group: Option<String>,
    pub dead_letter_topic: Option<String>,
    pub flush_rows: usize,
    pub flush_bytes: usize,
    pub flush_latency_ms: u64,
    pub session_timeout_ms: u64,
    pub stop_when_idle_ms: Option<u64>,
    pub kafka_properties: Option<PathBuf>,
    pub metrics_listen: Option<String>,
}

impl Default for KafkaArgs {
    fn default() -> Self {
        Self::resolve(KafkaFlags::default(), msma_config::Kafka::default(), None)
    }
}

impl KafkaArgs {
    pub fn resolve(f: KafkaFlags, c: msma_config::Kafka, metrics_listen: Option<String>) -> Self {
        Self {
            brokers: f.brokers.or(c.brokers),
            topic: f.topic.or(c.topic),
            group: f.group.or(c.group),
            dead_letter_topic: f.dead_letter_topic.or(c.dead_letter_topic),
            flush_rows: f.flush_rows.or(c.flush_rows).unwrap_or(100_000),
            flush_bytes: f.flush_bytes.or(c.flush_bytes).unwrap_or(64 << 20),
            flush_latency_ms: f.flush_latency_ms.or(c.flush_latency_ms).unwrap_or(30_000),
            session_timeout_ms: f.session_timeout_ms.or(c.session_timeout_ms).unwrap_or(10_000),
            stop_when_idle_ms: f.stop_when_idle_ms.or(c.stop_when_idle_ms),
            kafka_properties: f.kafka_properties.or(c.client_properties),
            metrics_listen: f.metrics_listen.or(metrics_listen),
        }
    }
}

pub fn run(a: &Args) -> Result<ExitCode> {
    let k = &a.kafka;
    let (Some(brokers), Some(topic), Some(group)) = (&k.brokers, &k.topic, &k.group) else {
        anyhow::bail!("a worker needs --brokers, --topic and --group");
    };
    let mut cfg = WorkerConfig::new(brokers, topic, group);
    if let Some(t) = &k.dead_letter_topic {
        cfg.dead_letter_topic = t.clone();
    }
    cfg.flush_rows = k.flush_rows.max(1);
    cfg.flush_bytes = k.flush_bytes.max(1);
    cfg.flush_latency = Duration::from_millis(k.flush_latency_ms);
    cfg.stop_when_idle = k.stop_when_idle_ms.map(Duration::from_millis);
    cfg.session_timeout = Duration::from_millis(k.session_timeout_ms);
    cfg.threads = a.threads;
    cfg.max_partitions = a.max_partitions;
    if let Some(path) = &k.kafka_properties {
        cfg.properties = msma_kafka::ClientProperties::load(path)?;
    }
    let Study { zone, pseudo, policy } = open_study(a)?;
    // Served once the key, policy and zone are open: /ready then only waits for partitions.
    let _server = match &k.metrics_listen {
        Some(addr) => Some(crate::serve::start(addr, cfg.metrics.clone(), cfg.topic.clone())?),
        None => None,
    };
    let shutdown = Arc::new(AtomicBool::new(false));
    watch_signals(shutdown.clone())?;
    tracing::info!(topic = %cfg.topic, group = %cfg.group, out = %a.out, "worker started");
    let started = Instant::now();
    let r = msma_kafka::run_worker(&cfg, zone, &Transform::new(pseudo, policy), &shutdown)?;
    let secs = started.elapsed().as_secs_f64();
    let rejected: u64 = r.rejected.values().sum();
    println!(
        "read {} events in {secs:.2} s ({:.0} events/s): {} written, {rejected} rejected -> {}",
        r.read,
        r.read as f64 / secs.max(1e-9),
        r.written,
        cfg.dead_letter_topic
    );
    println!(
        "{} commit(s), {} file(s) in {}; {} buffered events dropped on rebalance or refused commit (read again)",
        r.commits, r.files, a.out, r.dropped
    );
    Ok(ExitCode::SUCCESS)
}

/// Sets `flag` on SIGTERM or SIGINT: the worker then commits what it holds and exits.
pub fn watch_signals(flag: Arc<AtomicBool>) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::spawn(move || {
        runtime.block_on(async {
            let _ = wait_for_signal().await;
            tracing::info!("shutting down: committing what is buffered");
            flag.store(true, Ordering::Relaxed);
        })
    });
    Ok(())
}

pub async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
