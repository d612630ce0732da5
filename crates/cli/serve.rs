//! The worker's HTTP endpoints: `/metrics` (Prometheus text), `/health` (the process
//! answers) and `/ready` (partitions assigned). A few scrapes a minute: one thread,
//! one connection at a time, no HTTP library.

use anyhow::{Context, Result};
use msma_kafka::Metrics;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// Binds `addr` (failing start-up if it cannot) and serves in a background thread.
pub fn start(addr: &str, metrics: Arc<Metrics>, topic: String) -> Result<()> {
    let listener = TcpListener::bind(addr).with_context(|| format!("metrics.listen {addr}: cannot listen"))?;
    tracing::info!(addr = %listener.local_addr()?, "serving /metrics, /health and /ready");
    std::thread::Builder::new().name("metrics".into()).spawn(move || {
        for stream in listener.incoming().flatten() {
            if let Err(e) = answer(stream, &metrics, &topic) {
                tracing::debug!(error = %e, "metrics request");
            }
        }
    })?;
    Ok(())
}

fn answer(stream: TcpStream, metrics: &Metrics, topic: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // Headers are read and ignored, so that the client sees a clean close.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let path = request.split_whitespace().nth(1).unwrap_or("");
    let (status, content_type, body) = match (request.split_whitespace().next(), path) {
        (Some("GET"), "/metrics") => ("200 OK", "text/plain; version=0.0.4", metrics.render(topic)),
        (Some("GET"), "/health") => ("200 OK", "text/plain", "ok\n".to_string()),
        (Some("GET"), "/ready") => match metrics.not_ready_because() {
            None => ("200 OK", "text/plain", "ready\n".to_string()),
            Some(why) => ("503 Service Unavailable", "text/plain", format!("not ready: {why}\n")),
        },
        _ => (
            "404 Not Found",
            "text/plain",
            "try /metrics, /health or /ready\n".to_string(),
        ),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}
