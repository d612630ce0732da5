//! The worker's dead letters: a topic. Each rejected event goes there as it was, with
//! the reason and its source position in headers, and is acknowledged by the broker
//! before the commit that covers it.

use crate::ClientProperties;
use crate::producer::AckedProducer;
use msma_ingest::DeadLetterSink;
use msma_schema::Rejection;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::BaseRecord;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeadLetterTopicError {
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("dead letters not acknowledged by the broker")]
    NotAcknowledged,
}

pub struct DeadLetterTopic {
    producer: AckedProducer,
    /// Where dead letters go.
    topic: String,
    /// Where the events came from, named in each dead letter's headers.
    source_topic: String,
}

impl DeadLetterTopic {
    pub fn new(
        brokers: &str,
        properties: &ClientProperties,
        topic: &str,
        source_topic: &str,
    ) -> Result<Self, KafkaError> {
        Ok(Self {
            producer: AckedProducer::new(brokers, properties)?,
            topic: topic.to_owned(),
            source_topic: source_topic.to_owned(),
        })
    }

    /// Why the broker refused the producer (TLS, authentication), if it did.
    pub fn refused(&self) -> Option<String> {
        self.producer.refused()
    }
}

impl DeadLetterSink for DeadLetterTopic {
    /// The partition and offset.
    type At = (i32, i64);
    type Error = DeadLetterTopicError;

    fn reject(
        &mut self,
        (partition, offset): (i32, i64),
        event: &[u8],
        _oversized: Option<u64>,
        why: &Rejection,
    ) -> Result<(), DeadLetterTopicError> {
        let (partition, offset) = (partition.to_string(), offset.to_string());
        let headers = [
            ("msma.reason", why.kind.as_str()),
            ("msma.detail", why.detail.as_str()),
            ("msma.source.topic", self.source_topic.as_str()),
            ("msma.source.partition", partition.as_str()),
            ("msma.source.offset", offset.as_str()),
        ]
        .into_iter()
        .fold(OwnedHeaders::new(), |headers, (key, value)| {
            headers.insert(Header {
                key,
                value: Some(value),
            })
        });
        // A full queue empties as dead letters are acknowledged or time out.
        self.producer
            .send(BaseRecord::to(&self.topic).payload(event).headers(headers), |_| Ok(()))
    }

    /// Waits up to 10 s for the broker to acknowledge every dead letter sent.
    fn settle(&mut self) -> Result<bool, DeadLetterTopicError> {
        let failed = self.producer.failed();
        if self.producer.flush(Duration::from_secs(10)).is_err() {
            tracing::warn!("dead letters not yet acknowledged; commit postponed");
            return Ok(false);
        }
        if self.producer.failed() > failed {
            return Err(DeadLetterTopicError::NotAcknowledged);
        }
        Ok(true)
    }

    /// A topic cannot take back what it sent: the events, read again, are dead-lettered
    /// again (at least once).
    fn forget(&mut self) -> Result<(), DeadLetterTopicError> {
        Ok(())
    }
}
