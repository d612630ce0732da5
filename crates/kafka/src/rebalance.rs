//! Partition assignment with offsets from the datasets' own commit log: when partitions
//! are assigned, each one starts right after the last offset a commit record holds for
//! it, whatever Kafka's committed offsets say. Revoked partitions are reported to the
//! worker loop, which drops their uncommitted work (the next owner starts from the log),
//! once the worker's commit in flight is over.

use msma_sink::Zone;
use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaRespErr;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// Changes of assignment since the worker loop last looked.
#[derive(Default)]
pub struct Changes {
    pub assigned: BTreeSet<i32>,
    pub revoked: BTreeSet<i32>,
    pub error: Option<RebalanceError>,
}

/// What went wrong while following an assignment change: the worker stops on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RebalanceError {
    #[error("reading the commit log: {0}")]
    Log(#[source] msma_sink::Error),
    #[error("setting the offset of partition {0}: {1}")]
    Offset(i32, #[source] KafkaError),
    #[error("assigning partitions: {0}")]
    Assign(#[source] KafkaError),
    #[error("unassigning partitions: {0}")]
    Unassign(#[source] KafkaError),
}

pub struct Rebalancer {
    pub topic: String,
    pub zone: Arc<Mutex<Zone>>,
    pub changes: Mutex<Changes>,
    pub metrics: Arc<crate::Metrics>,
    pub voice: crate::client::Voice,
    /// Assigned partition → the offset it resumed from (`None`: its beginning), the lag's
    /// base until Kafka holds an offset this worker committed.
    pub starts: Mutex<BTreeMap<i32, Option<i64>>>,
}

/// The offset to resume `partition` of `topic` from: after the last committed one.
pub fn resume_offset(zone: &Zone, topic: &str, partition: i32) -> Offset {
    let last = zone.state().last_offset(topic, partition);
    last.map_or(Offset::Beginning, |o| Offset::Offset(o + 1))
}

impl ClientContext for Rebalancer {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        self.voice.log(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.voice.error(&error, reason);
    }

    /// librdkafka's statistics, every `statistics.interval.ms`: keeps the lag of the
    /// assigned partitions, from the high watermark to what is committed. librdkafka's
    /// own `consumer_lag` stays unknown until this worker commits an offset to Kafka (the
    /// log, not Kafka, gave the start), so the lag is measured from the resume offset
    /// (or the partition's low watermark) until then.
    fn stats(&self, statistics: rdkafka::Statistics) {
        let Some(topic) = statistics.topics.get(&self.topic) else {
            return;
        };
        let starts = self.starts.lock().expect("not poisoned");
        let lag = starts
            .iter()
            .filter_map(|(p, start)| {
                let s = topic.partitions.get(p)?;
                let done = s.committed_offset.max(start.unwrap_or(s.lo_offset));
                (s.hi_offset >= 0 && done >= 0).then(|| (*p, (s.hi_offset - done).max(0)))
            })
            .collect();
        self.metrics.lag(lag);
    }
}

impl ConsumerContext for Rebalancer {
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        let mut changes = self.changes.lock().expect("not poisoned");
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let mut zone = self.zone.lock().expect("not poisoned");
                if let Err(e) = zone.refresh() {
                    changes.error = Some(RebalanceError::Log(e));
                }
                let partitions: Vec<i32> = tpl
                    .elements_for_topic(&self.topic)
                    .iter()
                    .map(|e| e.partition())
                    .collect();
                for p in partitions {
                    let offset = resume_offset(&zone, &self.topic, p);
                    if let Err(e) = tpl.set_partition_offset(&self.topic, p, offset) {
                        changes.error = Some(RebalanceError::Offset(p, e));
                    }
                    tracing::info!(partition = p, offset = ?offset, "partition assigned");
                    let start = match offset {
                        Offset::Offset(o) => Some(o),
                        _ => None,
                    };
                    self.starts.lock().expect("not poisoned").insert(p, start);
                    changes.assigned.insert(p);
                    changes.revoked.remove(&p);
                }
                if let Err(e) = consumer.assign(tpl) {
                    changes.error = Some(RebalanceError::Assign(e));
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                // A commit in flight holds the zone: the partitions go once its record is
                // durable (or it failed), so that their next owner resumes after it.
                let _committed = self.zone.lock().expect("not poisoned");
                for e in tpl.elements_for_topic(&self.topic) {
                    tracing::info!(partition = e.partition(), "partition revoked");
                    self.starts.lock().expect("not poisoned").remove(&e.partition());
                    changes.revoked.insert(e.partition());
                    changes.assigned.remove(&e.partition());
                }
                if let Err(e) = consumer.unassign() {
                    changes.error = Some(RebalanceError::Unassign(e));
                }
            }
            other => tracing::warn!(error = ?other, "rebalance error"),
        }
    }
}
