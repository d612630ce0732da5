//! `msma ingest`'s settings, each declared once (`settings`): from its flags, over
//! `MSMA_<SECTION>_<KEY>` environment variables, over the configuration file (`--config`,
//! TOML), over its default; then resolved for the engines (`resolve`). Parsing is
//! strict: an unknown key, section or `MSMA_` variable is an error that names it.
//! Secrets are only ever paths to files. deploy/msma.example.toml documents every key.

mod arg;
mod resolve;
mod settings;

pub use arg::{LocationArg, ZoneArg};
pub use resolve::{Ingest, Source, Worker};
pub use settings::{Config, File, Kafka, Log, Metrics, Output, Study};

use serde::Deserialize;
use settings::{KEYS, Kind};
use std::path::Path;

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
    #[error(
        "missing {what}: give {flag}, or set {key} in the configuration file (--config) or MSMA_{}",
        key.replace('.', "_").to_uppercase()
    )]
    Missing {
        what: &'static str,
        flag: &'static str,
        key: &'static str,
    },
    /// The zone's text, from the file or a variable (flags are checked by [`ZoneArg`]).
    #[error("output.zone: {0}")]
    Zone(msma_sink::BadLocation),
    #[error("give an input file or Kafka brokers, not both")]
    TwoSources,
    #[error(
        "nothing to read: give --input and --dead-letter (a file), or --brokers, --topic and --group (Kafka), \
         or set them in the configuration file"
    )]
    NoSource,
    #[error("a worker needs --brokers, --topic and --group")]
    IncompleteWorker,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `log.format`, and msma's `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The variable that names the configuration file, as `--config` does.
pub const CONFIG_VARIABLE: &str = "MSMA_CONFIG";

/// `MSMA_` variables that are not configuration keys.
pub const OTHER_VARIABLES: &[&str] = &["MSMA_LOG", CONFIG_VARIABLE];

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
    use msma_ingest::Options;

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
    fn every_flag_shows_its_key_and_every_default_is_in_force() {
        let cmd = <Config as clap::Args>::augment_args(clap::Command::new("ingest"));
        let flags: Vec<_> = cmd.get_arguments().filter(|a| a.get_long().is_some()).collect();
        // Every key has a flag but log.format and log.level (msma's --log-format).
        assert_eq!(flags.len(), KEYS.len() - 2);
        for (section, key, _) in KEYS.iter().filter(|(s, _, _)| *s != "log") {
            let shown = format!("[{section}.{key}");
            assert!(
                flags
                    .iter()
                    .any(|a| a.get_help().is_some_and(|h| h.to_string().contains(&shown))),
                "no flag shows {section}.{key}"
            );
        }
        let help = cmd.clone().render_help().to_string();
        assert!(
            help.contains(&format!("[file.commit_lines; default {}]", Options::COMMIT_LINES)),
            "{help}"
        );
        assert!(help.contains("[kafka.flush_latency_ms; default 30000]"), "{help}");

        // Nothing given: the declared defaults, which are the engines'.
        let cfg = Config::default();
        assert_eq!(cfg.file.commit_lines(), Options::default().commit_lines);
        assert_eq!(cfg.file.max_line_bytes(), Options::default().max_line_bytes);
        assert_eq!(
            cfg.output.max_partitions_per_commit(),
            Options::default().max_partitions
        );
        assert_eq!(cfg.kafka.flush_rows(), msma_kafka::WorkerConfig::FLUSH_ROWS);
        // Flags over the rest.
        let flags = Config::from_text(None, &vars(&[("MSMA_FILE_COMMIT_LINES", "5")])).unwrap();
        let file = Config::from_text(Some(("c.toml", "[file]\ncommit_lines = 7\nthreads = 3\n")), &[]).unwrap();
        let cfg = flags.over(file);
        assert_eq!((cfg.file.commit_lines(), cfg.file.threads()), (5, 3));
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
            assert!(cfg.study.study.is_some() && cfg.kafka.topic.is_some(), "{name}");
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
