//! librdkafka settings for the deployment's broker (TLS, SASL, tuning), from a
//! properties file of `key=value` lines as Kafka's own tools take them
//! (`--command-config`). The file may hold passwords: errors name keys and lines, never
//! values, and librdkafka's own messages are told with the file's values masked.
//! Settings that msma's exactly-once promise rests on are refused.

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaConfRes;
use std::path::{Path, PathBuf};

/// Set by msma, never by the file: where to resume, how offsets are committed and how
/// dead letters are acknowledged are part of the delivery guarantee.
const RESERVED: &[&str] = &[
    "bootstrap.servers",
    "metadata.broker.list",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.offset.reset",
    "isolation.level",
    "enable.partition.eof",
    "enable.idempotence",
    "acks",
    "request.required.acks",
    "transactional.id",
];

/// Properties whose values are words of librdkafka's, never secrets.
const VOCABULARY: &[&str] = &[
    "security.protocol",
    "sasl.mechanism",
    "sasl.mechanisms",
    "ssl.endpoint.identification.algorithm",
    "compression.type",
    "compression.codec",
    "broker.address.family",
];

/// Why a properties file was refused: the line and the rule, never the value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PropertiesError {
    #[error("{}: cannot read the Kafka client properties: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: line {line}: {rule}", path.display())]
    Line { path: PathBuf, line: usize, rule: String },
}

/// librdkafka settings applied to every consumer and producer msma creates.
#[derive(Debug, Clone, Default)]
pub struct ClientProperties(Vec<(String, String)>);

impl ClientProperties {
    pub fn load(path: &Path) -> Result<Self, PropertiesError> {
        let text = std::fs::read_to_string(path).map_err(|source| PropertiesError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|(line, rule)| PropertiesError::Line {
            path: path.to_owned(),
            line,
            rule,
        })
    }

    /// `key=value` (or `key: value`) lines; blank lines and `#` or `!` comments skipped.
    /// Each setting is checked by librdkafka here, so that its refusal names the line.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut props = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let n = n + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let Some((key, value)) = line.split_once(['=', ':']) else {
                return Err((n, "expected key=value".into()));
            };
            let (key, value) = (key.trim(), value.trim());
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_') {
                return Err((n, "expected a librdkafka property name before '='".into()));
            }
            if RESERVED.contains(&key) {
                return Err((
                    n,
                    format!("{key} is set by msma (exactly-once delivery depends on it); remove it"),
                ));
            }
            // librdkafka's own message quotes the value: only its verdict is kept.
            match ClientConfig::new().set(key, value).create_native_config() {
                Err(KafkaError::ClientConfig(RDKafkaConfRes::RD_KAFKA_CONF_UNKNOWN, ..)) => {
                    return Err((
                        n,
                        format!("{key} is not a librdkafka property (see librdkafka's CONFIGURATION.md)"),
                    ));
                }
                Err(_) => {
                    return Err((
                        n,
                        format!("{key}: librdkafka refuses this value (see librdkafka's CONFIGURATION.md)"),
                    ));
                }
                Ok(_) => props.push((key.to_owned(), value.to_owned())),
            }
        }
        Ok(Self(props))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn apply(&self, cfg: &mut ClientConfig) {
        for (k, v) in &self.0 {
            cfg.set(k, v);
        }
    }

    /// `text` (a librdkafka message) with each of the file's values replaced by its key.
    /// Left as they are: values of one or two characters (`0`, `1`), and those of
    /// properties that take one of librdkafka's words (`SSL`, `SCRAM-SHA-512`): masking
    /// them would garble the message and hide nothing.
    pub(crate) fn mask(&self, text: &str) -> String {
        let mut values: Vec<_> = self
            .0
            .iter()
            .filter(|(k, v)| v.len() > 2 && !VOCABULARY.contains(&k.as_str()))
            .collect();
        // Longest first, so that a value holding another is masked whole.
        values.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        values
            .into_iter()
            .fold(text.to_owned(), |t, (k, v)| t.replace(v.as_str(), &format!("<{k}>")))
    }

    /// A client error with the file's values masked.
    pub(crate) fn mask_error(&self, e: KafkaError) -> KafkaError {
        match e {
            KafkaError::ClientConfig(res, desc, key, value) => {
                KafkaError::ClientConfig(res, self.mask(&desc), key, self.mask(&value))
            }
            KafkaError::ClientCreation(why) => KafkaError::ClientCreation(self.mask(&why)),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_properties_and_refuses_what_msma_sets() {
        let p = ClientProperties::parse("# tuning\nlinger.ms = 5\n\n! more\nclient.id: x\n").unwrap();
        assert_eq!(
            p.0,
            [("linger.ms".into(), "5".into()), ("client.id".into(), "x".into())]
        );
        let e = ClientProperties::parse("sasl.password=hunter2\nenable.auto.commit=true\n").unwrap_err();
        assert_eq!(e.0, 2);
        assert!(e.1.contains("enable.auto.commit is set by msma"), "{e:?}");
        let e = ClientProperties::parse("sasl.password hunter2\n").unwrap_err();
        assert_eq!(e, (1, "expected key=value".into()));
        let e = ClientProperties::parse("sasl password=hunter2\n").unwrap_err();
        assert!(!e.1.contains("hunter2"), "{e:?}");
    }

    #[test]
    fn librdkafka_refusals_name_the_key_and_line_not_the_value() {
        let e = ClientProperties::parse("# creds\nsasl.pasword=SuperSecret123\n").unwrap_err();
        assert_eq!(e.0, 2);
        assert!(e.1.contains("sasl.pasword is not a librdkafka property"), "{e:?}");
        let e = ClientProperties::parse("security.protocol=SuperSecret123\n").unwrap_err();
        assert!(
            e.1.contains("security.protocol: librdkafka refuses this value"),
            "{e:?}"
        );
        assert!(!e.1.contains("SuperSecret123"), "{e:?}");
    }

    #[test]
    fn masks_the_files_values_in_librdkafka_messages() {
        let p = ClientProperties::parse(
            "sasl.username=msma\nsasl.password=msma-secret\nlinger.ms=5\nsecurity.protocol=SASL_SSL\n",
        )
        .unwrap();
        assert_eq!(
            p.mask("SASL_SSL failed for msma with msma-secret after 5 ms"),
            "SASL_SSL failed for <sasl.username> with <sasl.password> after 5 ms"
        );
    }
}
