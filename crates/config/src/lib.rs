//! `msma ingest`'s settings from the configuration file (`--config`, TOML) and
//! `MSMA_<SECTION>_<KEY>` environment variables over it (command-line flags override
//! both, in the CLI). Parsing is strict: an unknown key, section or `MSMA_` variable is an
//! error that names it. Secrets are only ever paths to files. deploy/msma.example.toml
//! documents every key.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// What is wrong with the configuration: the file or variable, the key and the rule,
/// never a value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot read the configuration")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file's text, with the position and rule of toml's error (see `redacted`).
    #[error("{file}: {detail}")]
    Syntax { file: String, detail: String },
    #[error("{name}: no such setting; the MSMA_ variables are MSMA_<SECTION>_<KEY> of deploy/msma.example.toml")]
    UnknownVariable { name: String },
    #[error("{name}: expected a whole number")]
    NotANumber { name: String },
    /// `origin` is the file, the environment, or both.
    #[error("{origin}: `{section}` must be a section ([{section}])")]
    NotASection { origin: String, section: &'static str },
    /// A value of the wrong type or out of range; `key` is `section.key: ` when known.
    #[error("{origin}: {key}{rule}")]
    Invalid { origin: String, key: String, rule: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub study: Study,
    #[serde(default)]
    pub output: Output,
    #[serde(default)]
    pub file: File,
    #[serde(default)]
    pub kafka: Kafka,
    #[serde(default)]
    pub metrics: Metrics,
    #[serde(default)]
    pub log: Log,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    pub listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Study {
    pub id: Option<String>,
    pub key_file: Option<PathBuf>,
    pub policy_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// A folder or an object store URL, parsed by the CLI (msma_sink::Location).
    pub zone: Option<String>,
    pub max_partitions_per_commit: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub input: Option<PathBuf>,
    pub dead_letter_file: Option<PathBuf>,
    pub commit_lines: Option<u64>,
    pub max_line_bytes: Option<usize>,
    pub threads: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kafka {
    pub brokers: Option<String>,
    pub topic: Option<String>,
    pub group: Option<String>,
    pub dead_letter_topic: Option<String>,
    pub flush_rows: Option<usize>,
    pub flush_bytes: Option<usize>,
    pub flush_latency_ms: Option<u64>,
    pub session_timeout_ms: Option<u64>,
    pub stop_when_idle_ms: Option<u64>,
    /// librdkafka settings (TLS, SASL...), `key=value` lines: secrets stay in a file.
    pub client_properties: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    pub format: Option<LogFormat>,
    pub level: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Integer,
}

/// Every key, for `MSMA_<SECTION>_<KEY>`: environment values are all text, and this says
/// which to read as numbers. A test holds it to the structs and to the example file.
const KEYS: &[(&str, &str, Kind)] = &[
    ("study", "id", Kind::Text),
    ("study", "key_file", Kind::Text),
    ("study", "policy_file", Kind::Text),
    ("output", "zone", Kind::Text),
    ("output", "max_partitions_per_commit", Kind::Integer),
    ("file", "input", Kind::Text),
    ("file", "dead_letter_file", Kind::Text),
    ("file", "commit_lines", Kind::Integer),
    ("file", "max_line_bytes", Kind::Integer),
    ("file", "threads", Kind::Integer),
    ("kafka", "brokers", Kind::Text),
    ("kafka", "topic", Kind::Text),
    ("kafka", "group", Kind::Text),
    ("kafka", "dead_letter_topic", Kind::Text),
    ("kafka", "flush_rows", Kind::Integer),
    ("kafka", "flush_bytes", Kind::Integer),
    ("kafka", "flush_latency_ms", Kind::Integer),
    ("kafka", "session_timeout_ms", Kind::Integer),
    ("kafka", "stop_when_idle_ms", Kind::Integer),
    ("kafka", "client_properties", Kind::Text),
    ("metrics", "listen", Kind::Text),
    ("log", "format", Kind::Text),
    ("log", "level", Kind::Text),
];

/// `MSMA_` variables that are not configuration keys.
pub const OTHER_VARIABLES: &[&str] = &["MSMA_LOG", "MSMA_CONFIG"];

impl Config {
    /// The file at `path` (none: only the environment), then the environment over it.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().unwrap_or_default())))
            .collect();
        Self::from_sources(path, &vars)
    }

    pub fn from_sources(path: Option<&Path>, vars: &[(String, String)]) -> Result<Self> {
        let text = match path {
            Some(p) => Some(std::fs::read_to_string(p).map_err(|source| Error::Read {
                path: p.display().to_string(),
                source,
            })?),
            None => None,
        };
        let shown = path.map(|p| p.display().to_string());
        Self::from_text(shown.as_deref().zip(text.as_deref()), vars)
    }

    /// Parses configuration text (with the name to show in errors) and the variables
    /// over it.
    pub fn from_text(file: Option<(&str, &str)>, vars: &[(String, String)]) -> Result<Self> {
        let shown = file.map_or_else(|| "the environment".into(), |(name, _)| name.to_owned());
        let mut table = match file {
            Some((name, text)) => {
                // The file alone first, for errors with its own lines and columns. toml's
                // own message shows the line, value and all: only its position and rule
                // are kept.
                let at = |e: toml::de::Error| Error::Syntax {
                    file: name.to_owned(),
                    detail: redacted(text, &e),
                };
                toml::from_str::<Config>(text).map_err(at)?;
                text.parse::<toml::Table>().map_err(at)?
            }
            None => toml::Table::new(),
        };
        let shown = if vars.iter().any(|(k, _)| k.starts_with("MSMA_")) {
            format!("{shown} with the MSMA_ variables")
        } else {
            shown
        };
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix("MSMA_") else {
                continue;
            };
            if OTHER_VARIABLES.contains(&name.as_str()) {
                continue;
            }
            let Some(&(section, key, kind)) = KEYS
                .iter()
                .find(|(s, k, _)| rest.eq_ignore_ascii_case(&format!("{s}_{k}")))
            else {
                return Err(Error::UnknownVariable { name: name.clone() });
            };
            let value = match kind {
                Kind::Text => toml::Value::String(value.clone()),
                Kind::Integer => toml::Value::Integer(
                    value
                        .trim()
                        .parse()
                        .map_err(|_| Error::NotANumber { name: name.clone() })?,
                ),
            };
            let entry = table
                .entry(section)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => {
                    t.insert(key.to_string(), value);
                }
                _ => return Err(Error::NotASection { origin: shown, section }),
            }
        }
        // The variables' values were put in the table: an error here names the key.
        toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| {
            let key = KEYS.iter().find(|(_, k, _)| e.message().contains(&format!("`{k}`")));
            let key = key.map(|(s, k, _)| format!("{s}.{k}: ")).unwrap_or_default();
            Error::Invalid {
                origin: shown,
                key,
                rule: msma_schema::redact::rule(e.message()),
            }
        })
    }
}

/// A parse error of the configuration text: line, column, the key when it is one of
/// msma's, and the rule; never the text of the line.
fn redacted(text: &str, e: &toml::de::Error) -> String {
    let keys: Vec<&str> = KEYS.iter().map(|(_, k, _)| *k).collect();
    msma_schema::redact::at(text, e.span(), e.message(), &keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_example_sets_every_key_and_nothing_else() {
        let example = include_str!("../../../deploy/msma.example.toml");
        // Every key appears in the example, commented out or not.
        for (section, key, _) in KEYS {
            let line = example
                .lines()
                .skip_while(|l| l.trim() != format!("[{section}]"))
                .take_while(|l| l.trim() == format!("[{section}]") || !l.starts_with('['))
                .any(|l| l.trim_start_matches(['#', ' ']).starts_with(&format!("{key} =")));
            assert!(line, "deploy/msma.example.toml does not document {section}.{key}");
        }
        // Uncommented, it parses: no key the structs do not know.
        let uncommented: String = example
            .lines()
            .map(|l| l.strip_prefix("# ").filter(|r| r.contains(" = ")).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("all.toml");
        std::fs::write(&path, uncommented).unwrap();
        let cfg = Config::from_sources(Some(&path), &[]).unwrap();
        assert!(cfg.kafka.brokers.is_some() && cfg.file.input.is_some() && cfg.log.format.is_some());
    }

    #[test]
    fn the_deployment_files_configurations_parse() {
        let dir = tempfile::tempdir().unwrap();
        let compose = include_str!("../../../deploy/compose/msma.toml");
        let kubernetes: String = include_str!("../../../deploy/kubernetes/msma-ingest.yaml")
            .lines()
            .skip_while(|l| !l.ends_with("msma.toml: |"))
            .skip(1)
            .take_while(|l| l.starts_with("    "))
            .map(|l| format!("{}\n", &l[4..]))
            .collect();
        for (name, text) in [("compose", compose), ("kubernetes", &kubernetes)] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let cfg = Config::from_sources(Some(&path), &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(cfg.study.id.is_some() && cfg.kafka.topic.is_some(), "{name}");
        }
    }

    #[test]
    fn the_environment_overrides_the_file_and_typos_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[kafka]\ntopic = \"a\"\nflush_rows = 5\n").unwrap();
        let cfg = Config::from_sources(
            Some(&path),
            &vars(&[
                ("MSMA_KAFKA_TOPIC", "b"),
                ("MSMA_KAFKA_FLUSH_ROWS", "7"),
                ("MSMA_LOG", "debug"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.kafka.topic.as_deref(), Some("b"));
        assert_eq!(cfg.kafka.flush_rows, Some(7));

        // Unknown keys and sections are named with their line, never their value.
        std::fs::write(&path, "[kafka]\nbrokres = \"x:9092\"\n").unwrap();
        let e = Config::from_sources(Some(&path), &[]).unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("brokres") && e.contains("c.toml"),
            "{e}"
        );
        assert!(!e.contains("x:9092"), "{e}");
        std::fs::write(&path, "[kafak]\n").unwrap();
        let e = Config::from_sources(Some(&path), &[]).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("kafak"), "{e}");
        let e = Config::from_sources(None, &vars(&[("MSMA_KAFKA_BROKRES", "x")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("MSMA_KAFKA_BROKRES"), "{e}");
        let e = Config::from_sources(None, &vars(&[("MSMA_KAFKA_FLUSH_ROWS", "many")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("MSMA_KAFKA_FLUSH_ROWS") && !e.contains("many"), "{e}");
        std::fs::write(&path, "[kafka]\nflush_rows = \"ten\"\n").unwrap();
        let e = Config::from_sources(Some(&path), &[]).unwrap_err().to_string();
        assert!(
            e.contains("flush_rows") && e.contains("line 2") && !e.contains("ten"),
            "{e}"
        );
    }
}
