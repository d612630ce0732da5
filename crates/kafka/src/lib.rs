//! msma on Kafka. Network pipelines [`push`] events to a topic; ingest [`worker`]s in a
//! consumer group validate, pseudonymise and commit them to a research zone exactly
//! once, the zone's commit log being the truth for where each partition resumes;
//! [`DevBroker`] hosts librdkafka's in-memory mock cluster for trials and tests.

mod broker;
mod client;
mod config;
mod deadletter;
mod inflight;
pub mod metrics;
mod producer;
mod properties;
mod push;
mod rebalance;
pub mod worker;

pub use broker::DevBroker;
pub use client::{CONNECT_TIMEOUT, Unreachable};
pub use config::WorkerConfig;
pub use deadletter::DeadLetterTopicError;
pub use metrics::Metrics;
pub use properties::{ClientProperties, PropertiesError};
pub use push::{PushError, PushReport, push};
pub use rebalance::RebalanceError;
pub use worker::{WorkerError, run as run_worker};
