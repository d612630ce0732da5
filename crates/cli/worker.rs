//! `msma ingest --brokers ...`: an ingest worker of a consumer group.

use anyhow::Result;
use msma_config::{Ingest, Worker};
use msma_ingest::{Study, Transform};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

pub fn run(a: &Ingest, w: &Worker) -> Result<ExitCode> {
    let mut cfg = w.config.clone();
    if let Some(path) = &w.properties {
        cfg.properties = msma_kafka::ClientProperties::load(path)?;
    }
    let Study { zone, pseudo, policy } = crate::ingest::open_study(a)?;
    // Served once the key, policy and zone are open: /ready then only waits for partitions.
    let _server = match &w.metrics_listen {
        Some(addr) => Some(crate::serve::start(addr, cfg.metrics.clone(), cfg.topic.clone())?),
        None => None,
    };
    let shutdown = Arc::new(AtomicBool::new(false));
    watch_signals(shutdown.clone())?;
    tracing::info!(topic = %cfg.topic, group = %cfg.group, out = %a.study.out, "worker started");
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
    crate::ingest::print_duplicates(r.duplicates);
    println!(
        "{} commit(s), {} file(s) in {}; {} buffered events dropped on rebalance or refused commit (read again)",
        r.commits, r.files, a.study.out, r.dropped
    );
    if r.missing == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    // Everything read was committed, but not everything sent was read: scripts must tell.
    eprintln!(
        "msma: {} offset(s) of topic {} were gone from the broker (retention or deleted records) \
         before this worker read them: their events were never ingested; the log names the partitions",
        r.missing, cfg.topic
    );
    Ok(ExitCode::from(1))
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
