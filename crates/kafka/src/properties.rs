//! librdkafka settings for the deployment's broker (TLS, SASL, tuning), from a
//! properties file of `key=value` lines as Kafka's own tools take them
//! (`--command-config`). The file may hold passwords: errors name keys and lines, never
//! values. Settings that msma's exactly-once promise rests on are refused.

use rdkafka::config::ClientConfig;
use std::path::Path;

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

/// librdkafka settings applied to every consumer and producer msma creates.
#[derive(Debug, Clone, Default)]
pub struct ClientProperties(Vec<(String, String)>);

impl ClientProperties {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the Kafka client properties: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// `key=value` (or `key: value`) lines; blank lines and `#` or `!` comments skipped.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut props = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let Some((key, value)) = line.split_once(['=', ':']) else {
                return Err(format!("line {}: expected key=value", n + 1));
            };
            let key = key.trim();
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_') {
                return Err(format!(
                    "line {}: expected a librdkafka property name before '='",
                    n + 1
                ));
            }
            if RESERVED.contains(&key) {
                return Err(format!(
                    "line {}: {key} is set by msma (exactly-once delivery depends on it); remove it",
                    n + 1
                ));
            }
            props.push((key.to_owned(), value.trim().to_owned()));
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_properties_and_refuses_what_msma_sets() {
        let p = ClientProperties::parse("# TLS\nsecurity.protocol = SSL\n\n! tuning\nlinger.ms: 5\n").unwrap();
        assert_eq!(
            p.0,
            [
                ("security.protocol".into(), "SSL".into()),
                ("linger.ms".into(), "5".into())
            ]
        );
        let e = ClientProperties::parse("sasl.password=hunter2\nenable.auto.commit=true\n").unwrap_err();
        assert!(e.contains("line 2: enable.auto.commit is set by msma"), "{e}");
        let e = ClientProperties::parse("sasl.password hunter2\n").unwrap_err();
        assert_eq!(e, "line 1: expected key=value");
        let e = ClientProperties::parse("sasl password=hunter2\n").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
