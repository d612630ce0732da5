//! What msma's Kafka clients share: librdkafka's logs and errors told through tracing
//! with the properties file's values masked, and TLS or authentication failures kept.
//! A client that has never worked stops on one rather than retry what retrying does not
//! mend (a broker that does not speak TLS, a certificate that does not verify, a
//! refused password); one that has worked rides it out as an outage. Nor does one that
//! has never worked wait for ever for a broker that is not there ([`FirstContact`]).

use crate::ClientProperties;
use rdkafka::client::{Client, ClientContext};
use rdkafka::config::{ClientConfig, FromClientConfigAndContext, RDKafkaLogLevel};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a client that has not yet had an answer waits for a broker, by default.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct Voice {
    properties: ClientProperties,
    refused: Mutex<Option<String>>,
    /// The last error librdkafka told (a failed connection names the address).
    last_error: Mutex<Option<String>>,
}

impl Voice {
    pub fn new(properties: &ClientProperties) -> Self {
        Self {
            properties: properties.clone(),
            refused: Mutex::default(),
            last_error: Mutex::default(),
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
        // "1/1 brokers are down" follows the failure that says why: the latter is kept.
        if error.rdkafka_error_code() != Some(RDKafkaErrorCode::AllBrokersDown) {
            *self.last_error.lock().expect("not poisoned") = Some(reason.clone());
        }
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

    /// The last error librdkafka told, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().expect("not poisoned").clone()
    }
}

/// A client's wait for its first answer from a broker. Until `timeout` has passed, or
/// once the client has worked, it costs a clock read; then librdkafka is asked for the
/// topic's metadata, and if no broker gives it within [`PROBE`], the client gives up.
pub struct FirstContact {
    brokers: String,
    timeout: Duration,
    deadline: Instant,
    reached: bool,
}

/// The last wait for a metadata answer, once the timeout has passed.
const PROBE: Duration = Duration::from_secs(2);

impl FirstContact {
    pub fn new(brokers: &str, timeout: Duration) -> Self {
        Self {
            brokers: brokers.to_owned(),
            timeout,
            deadline: Instant::now() + timeout,
            reached: false,
        }
    }

    /// `Err` once `timeout` has passed with no broker reached; `worked`: the client has
    /// had an answer already (an acknowledgement, an assignment); `voice`, its context's,
    /// says why.
    pub fn check<C: ClientContext>(
        &mut self,
        client: &Client<C>,
        voice: &Voice,
        topic: &str,
        worked: bool,
    ) -> Result<(), Unreachable> {
        self.reached |= worked;
        if self.reached || Instant::now() < self.deadline {
            return Ok(());
        }
        match client.fetch_metadata(Some(topic), PROBE) {
            Ok(_) => {
                self.reached = true;
                Ok(())
            }
            Err(e) => Err(Unreachable {
                brokers: self.brokers.clone(),
                seconds: self.timeout.as_secs_f64(),
                why: voice.last_error().unwrap_or_else(|| e.to_string()),
            }),
        }
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

/// No broker answered a client that had not yet worked.
#[derive(Debug, thiserror::Error)]
#[error(
    "no Kafka broker answered at {brokers} within {seconds} s (librdkafka: {why}); check the address and that the broker is up"
)]
pub struct Unreachable {
    brokers: String,
    seconds: f64,
    why: String,
}
