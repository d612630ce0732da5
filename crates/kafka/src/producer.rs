//! An idempotent producer that counts acknowledgements: what `msma push` and the dead
//! letters of the workers need to know before they report or commit.

use crate::ClientProperties;
use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counts deliveries as the broker acknowledges or refuses them.
#[derive(Default)]
pub struct Acks {
    pub acked: AtomicU64,
    pub failed: AtomicU64,
}

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.acked.fetch_add(1, Ordering::Relaxed),
            Err((e, _)) => {
                tracing::warn!(error = %e, "a message was not acknowledged");
                self.failed.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
}

pub struct AckedProducer {
    inner: ThreadedProducer<Acks>,
    sent: u64,
}

impl AckedProducer {
    /// An idempotent producer (acks from all in-sync replicas, no duplicates on retry).
    pub fn new(brokers: &str, properties: &ClientProperties) -> Result<Self, KafkaError> {
        let mut cfg = ClientConfig::new();
        properties.apply(&mut cfg);
        let inner = cfg
            .set("bootstrap.servers", brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", "lz4")
            .set("linger.ms", "20")
            .set("message.timeout.ms", "120000")
            .create_with_context(Acks::default())?;
        Ok(Self { inner, sent: 0 })
    }

    /// Queues one message, waiting while librdkafka's queue is full.
    pub fn send(&mut self, record: BaseRecord<'_, [u8], [u8]>) -> Result<(), KafkaError> {
        let mut record = record;
        loop {
            match self.inner.send(record) {
                Ok(()) => {
                    self.sent += 1;
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// Waits until every queued message is acknowledged or has failed.
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.inner.flush(timeout)
    }

    pub fn sent(&self) -> u64 {
        self.sent
    }

    pub fn acked(&self) -> u64 {
        self.inner.context().acked.load(Ordering::Relaxed)
    }

    pub fn failed(&self) -> u64 {
        self.inner.context().failed.load(Ordering::Relaxed)
    }
}
