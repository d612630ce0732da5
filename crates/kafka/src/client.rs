//! What msma's Kafka clients share: librdkafka's logs and errors told through tracing
//! with the properties file's values masked, and TLS or authentication failures kept.
//! A client that has never worked stops on one rather than retry what retrying does not
//! mend (a broker that does not speak TLS, a certificate that does not verify, a
//! refused password); one that has worked rides it out as an outage.

use crate::ClientProperties;
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, FromClientConfigAndContext, RDKafkaLogLevel};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use std::sync::Mutex;

#[derive(Default)]
pub struct Voice {
    properties: ClientProperties,
    refused: Mutex<Option<String>>,
}

impl Voice {
    pub fn new(properties: &ClientProperties) -> Self {
        Self {
            properties: properties.clone(),
            refused: Mutex::default(),
        }
    }

    pub fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        let message = self.properties.mask(message);
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                tracing::error!(facility, "librdkafka: {message}")
            }
            RDKafkaLogLevel::Warning | RDKafkaLogLevel::Notice => tracing::warn!(facility, "librdkafka: {message}"),
            RDKafkaLogLevel::Info | RDKafkaLogLevel::Debug => tracing::debug!(facility, "librdkafka: {message}"),
        }
    }

    pub fn error(&self, error: &KafkaError, reason: &str) {
        let reason = self.properties.mask(reason);
        // The end of a partition comes this way too; it is no error.
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::PartitionEOF) {
            return tracing::debug!("librdkafka: {reason}");
        }
        tracing::warn!(error = %error, "librdkafka: {reason}");
        // librdkafka reports a plaintext listener's reset during the handshake as a
        // transport failure; its reason still says what it is.
        if matches!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::SSL | RDKafkaErrorCode::Authentication)
        ) || reason.contains("SSL handshake failed")
        {
            self.refused.lock().expect("not poisoned").get_or_insert(reason);
        }
    }

    /// The first TLS or authentication failure, if any.
    pub fn refused(&self) -> Option<String> {
        self.refused.lock().expect("not poisoned").clone()
    }
}

/// Creates a client from `cfg`, librdkafka's refusal told with the file's values masked.
pub fn create<C: ClientContext, T: FromClientConfigAndContext<C>>(
    cfg: &ClientConfig,
    properties: &ClientProperties,
    context: C,
) -> Result<T, KafkaError> {
    cfg.create_with_context(context).map_err(|e| properties.mask_error(e))
}
