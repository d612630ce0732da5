//! `msma push`: what a network pipeline runs to send its events. Events are validated
//! locally first (invalid ones are reported and not sent), keyed by network and patient
//! so that one patient's events stay in order in one partition, and sent with the
//! idempotent producer. A push that no broker answers gives up after a timeout.

use crate::client::{FirstContact, Unreachable};
use crate::producer::AckedProducer;
use msma_schema::{decode, trim_local_id};
use rdkafka::error::KafkaError;
use rdkafka::producer::BaseRecord;
use std::io::BufRead;
use std::time::Duration;

/// What a push did.
#[derive(Debug, Default, Clone)]
pub struct PushReport {
    pub lines: u64,
    pub invalid: u64,
    pub sent: u64,
    pub acknowledged: u64,
    pub failed: u64,
}

/// Sends every valid event of `input` to `topic`; `invalid` is told of each invalid line
/// (number and reason) as it is met. Stops if no broker answered within `connect_timeout`.
pub fn push(
    brokers: &str,
    topic: &str,
    properties: &crate::ClientProperties,
    connect_timeout: Duration,
    input: impl BufRead,
    mut invalid: impl FnMut(u64, &msma_schema::Rejection),
) -> Result<PushReport, PushError> {
    let mut producer = AckedProducer::new(brokers, properties)?;
    let mut contact = FirstContact::new(brokers, connect_timeout);
    let mut stop = |p: &AckedProducer| {
        refused(p)?;
        contact.check(p.client(), p.voice(), topic, p.acked() > 0)?;
        Ok::<_, PushError>(())
    };
    let mut report = PushReport::default();
    let mut key = Vec::with_capacity(64);
    for line in input.split(b'\n') {
        let mut line = line.map_err(PushError::Input)?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        report.lines += 1;
        if report.lines % 1024 == 0 {
            stop(&producer)?;
        }
        match decode(&line) {
            Ok(ev) => {
                key.clear();
                key.extend_from_slice(ev.network_id.as_bytes());
                key.push(b':');
                key.extend_from_slice(trim_local_id(&ev.patient.local_id).as_bytes());
                producer.send(BaseRecord::to(topic).key(&key[..]).payload(&line[..]), &mut stop)?;
            }
            Err(why) => {
                report.invalid += 1;
                invalid(report.lines, &why);
            }
        }
    }
    // Until each message is acknowledged or has failed (message.timeout.ms bounds both).
    while producer.flush(Duration::from_millis(100)).is_err() {
        stop(&producer)?;
    }
    refused(&producer)?;
    report.sent = producer.sent();
    report.acknowledged = producer.acked();
    report.failed = producer.failed();
    Ok(report)
}

/// Stops the push on a TLS or authentication failure before any acknowledgement: the
/// configuration or the broker is wrong, and retrying would not mend it.
fn refused(producer: &AckedProducer) -> Result<(), PushError> {
    match producer.refused().filter(|_| producer.acked() == 0) {
        None => Ok(()),
        Some(why) => Err(PushError::Refused {
            why,
            sent: producer.sent(),
            acknowledged: producer.acked(),
        }),
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    #[error("reading the input: {0}")]
    Input(std::io::Error),
    #[error(
        "the broker connection failed on TLS or authentication ({why}); stopped with {acknowledged} of {sent} events acknowledged"
    )]
    Refused { why: String, sent: u64, acknowledged: u64 },
    #[error(transparent)]
    Unreachable(#[from] Unreachable),
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
}
