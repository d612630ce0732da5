//! A broker for trials and tests: librdkafka's mock cluster, in memory, on a loopback
//! port. It speaks the Kafka protocol (producers, consumer groups, offset commits) but
//! keeps nothing on disk, keeps only the last ~5 MiB of messages of each partition
//! (librdkafka's fixed limit: older ones are dropped), and is not for production.

use rdkafka::error::KafkaResult;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

pub struct DevBroker {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl DevBroker {
    /// Starts one mock broker and creates `topics`, each with `partitions` partitions.
    pub fn start(topics: &[String], partitions: i32) -> KafkaResult<Self> {
        let cluster = MockCluster::new(1)?;
        for topic in topics {
            cluster.create_topic(topic, partitions, 1)?;
        }
        Ok(Self { cluster })
    }

    /// `host:port` to give clients as bootstrap servers.
    pub fn bootstrap(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    pub fn cluster(&self) -> &MockCluster<'static, DefaultProducerContext> {
        &self.cluster
    }
}
