//! The worker's HTTP endpoints: `/metrics` (Prometheus text), `/health` (the process
//! answers) and `/ready` (partitions assigned), served by hyper. No client can hold the
//! probes up or grow the worker's memory: connections are served concurrently, up to a
//! bound, each with a deadline, and a request head larger than a bound is refused.

use anyhow::{Context, Result};
use hyper::header::{CONNECTION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use msma_kafka::Metrics;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};

/// A request line and headers larger than this are refused (hyper's smallest bound).
const MAX_HEAD_BYTES: usize = 8192;
/// The request head must have arrived by then.
const HEAD_DEADLINE: Duration = Duration::from_secs(5);
/// A connection is closed by then, whatever it does (a client slow to read the answer).
const CONNECTION_DEADLINE: Duration = Duration::from_secs(10);
/// Connections served at once; more wait in the listen queue, which costs the worker no
/// file descriptor.
const MAX_CONNECTIONS: usize = 256;

/// The server running in its thread; dropping it stops the server.
pub struct Server {
    _stop: oneshot::Sender<()>,
}

/// Binds `addr` (failing start-up if it cannot) and serves in a background thread.
pub fn start(addr: &str, metrics: Arc<Metrics>, topic: String) -> Result<Server> {
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("metrics.listen {addr}: cannot listen"))?;
    listener.set_nonblocking(true)?;
    tracing::info!(addr = %listener.local_addr()?, "serving /metrics, /health and /ready");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (stop, stopped) = oneshot::channel::<()>();
    std::thread::Builder::new().name("metrics".into()).spawn(move || {
        runtime.block_on(async {
            match TcpListener::from_std(listener) {
                Ok(listener) => run(listener, metrics, topic.into(), async { _ = stopped.await }).await,
                Err(e) => tracing::error!(error = %e, "metrics: cannot serve"),
            }
        })
    })?;
    Ok(Server { _stop: stop })
}

/// Serves `listener` until `shutdown` resolves.
pub async fn run(listener: TcpListener, metrics: Arc<Metrics>, topic: Arc<str>, shutdown: impl Future<Output = ()>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            _ = &mut shutdown => return,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let stream = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::debug!(error = %e, "metrics: accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (metrics, topic) = (metrics.clone(), topic.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let response = answer(&request, &metrics, &topic);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_DEADLINE)
                .max_buf_size(MAX_HEAD_BYTES)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            if let Ok(Err(e)) = tokio::time::timeout(CONNECTION_DEADLINE, connection).await {
                tracing::debug!(error = %e, "metrics request");
            }
            drop(slot);
        });
    }
}

fn answer<B>(request: &Request<B>, metrics: &Metrics, topic: &str) -> Response<String> {
    let (status, content_type, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => (StatusCode::OK, "text/plain; version=0.0.4", metrics.render(topic)),
        (&Method::GET, "/health") => (StatusCode::OK, "text/plain", "ok\n".to_string()),
        (&Method::GET, "/ready") => match metrics.not_ready_because() {
            None => (StatusCode::OK, "text/plain", "ready\n".to_string()),
            Some(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                format!("not ready: {why}\n"),
            ),
        },
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "try /metrics, /health or /ready\n".to_string(),
        ),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
    headers.insert(CONNECTION, hyper::header::HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// What the server answered before it closed (or reset) the connection.
    async fn get(addr: std::net::SocketAddr, request: &[u8]) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _ = stream.write_all(request).await;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    }

    #[tokio::test]
    async fn answers_beside_a_silent_client_and_refuses_an_endless_head() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(run(listener, Arc::default(), "events".into(), async {
            _ = stopped.await;
        }));
        // A client that opens a connection and says nothing holds no one up.
        let _silent = tokio::net::TcpStream::connect(addr).await.unwrap();
        let health = get(addr, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");
        assert!(health.ends_with("\r\n\r\nok\n"), "{health}");
        let ready = get(addr, b"GET /ready HTTP/1.1\r\n\r\n").await;
        assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
        assert!(ready.ends_with("not ready: no partition assigned yet\n"), "{ready}");
        let metrics = get(addr, b"GET /metrics HTTP/1.1\r\n\r\n").await;
        assert!(metrics.contains("content-type: text/plain; version=0.0.4"), "{metrics}");
        assert!(metrics.contains("\nmsma_events_read_total 0\n"), "{metrics}");
        assert!(
            get(addr, b"GET /nope HTTP/1.1\r\n\r\n")
                .await
                .starts_with("HTTP/1.1 404")
        );
        // A head past the bound is refused once the bound is read (431, or a reset when
        // the rest was still unread), and the server goes on.
        let mut endless = b"GET /health HTTP/1.1\r\nX: ".to_vec();
        endless.resize(64 << 10, b'a');
        let answer = get(addr, &endless).await;
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 431"), "{answer}");
        assert!(get(addr, b"GET /health HTTP/1.1\r\n\r\n").await.ends_with("ok\n"));
        stop.send(()).unwrap();
        server.await.unwrap();
    }
}
