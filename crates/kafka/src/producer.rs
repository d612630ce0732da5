//! An idempotent producer that counts acknowledgements: what `msma push` and the dead
//! letters of the workers need to know before they report or commit.

use crate::ClientProperties;
use crate::client::{Voice, create};
use rdkafka::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
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
    pub voice: Voice,
}

impl ClientContext for Acks {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.voice.log(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.voice.error(&error, reason);
    }
}

impl ProducerContext for Acks {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.acked.fetch_add(1, Ordering::Relaxed),
            Err((e, _)) => {
                // Purged: msma stopped the producer, and says why once.
                if e.rdkafka_error_code() != Some(RDKafkaErrorCode::PurgeQueue) {
                    tracing::warn!(error = %e, "a message was not acknowledged");
                }
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
        // Tuning, which the deployment's properties may change.
        cfg.set("compression.type", "lz4")
            .set("linger.ms", "20")
            .set("message.timeout.ms", "120000");
        properties.apply(&mut cfg);
        cfg.set("bootstrap.servers", brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all");
        let acks = Acks {
            voice: Voice::new(properties),
            ..Acks::default()
        };
        let inner = create(&cfg, properties, acks)?;
        Ok(Self { inner, sent: 0 })
    }

    /// The broker's TLS or authentication failure, if the producer met one: retrying
    /// would not mend it.
    pub fn refused(&self) -> Option<String> {
        self.inner.context().voice.refused()
    }

    /// Queues one message, waiting while librdkafka's queue is full; `waiting` is asked,
    /// while it waits, whether to give up.
    pub fn send<E: From<KafkaError>>(
        &mut self,
        record: BaseRecord<'_, [u8], [u8]>,
        mut waiting: impl FnMut(&Self) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut record = record;
        loop {
            match self.inner.send(record) {
                Ok(()) => {
                    self.sent += 1;
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    waiting(self)?;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
    }

    pub fn client(&self) -> &rdkafka::client::Client<Acks> {
        self.inner.client()
    }

    pub fn voice(&self) -> &Voice {
        &self.inner.context().voice
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
