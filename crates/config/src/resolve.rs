//! `msma ingest`'s settings resolved: what to ingest from, into which study, with which
//! engine settings; a setting given nowhere takes its declared default.

use crate::{Config, Error, Result};
use msma_ingest::{Options, StudySettings};
use msma_kafka::WorkerConfig;
use std::path::PathBuf;
use std::time::Duration;

/// `msma ingest`'s settings, resolved.
#[derive(Debug)]
pub struct Ingest {
    pub study: StudySettings,
    /// The other files the settings name (input, dead-letter file), each named by what it
    /// is: kept out of the zone.
    pub apart: Vec<(&'static str, PathBuf)>,
    /// The engine's settings (a Kafka worker's threads and partitions too).
    pub options: Options,
    pub source: Source,
    /// A partition is compacted after a commit once it holds this many files
    /// (`compact.min_files`).
    pub compact_min_files: usize,
}

/// Where the events come from.
#[derive(Debug)]
pub enum Source {
    File { input: PathBuf, dead_letter: PathBuf },
    Kafka(Box<Worker>),
}

/// A Kafka worker's settings, and what the CLI opens for it.
#[derive(Debug)]
pub struct Worker {
    /// Its client properties still to be loaded from `properties`.
    pub config: WorkerConfig,
    pub properties: Option<PathBuf>,
    pub metrics_listen: Option<String>,
}

impl Ingest {
    /// A file ingest of `input`, its dead letters to `dead_letter`.
    pub fn file(study: StudySettings, options: Options, input: PathBuf, dead_letter: PathBuf) -> Self {
        Self {
            study,
            apart: vec![("input", input.clone()), ("dead-letter file", dead_letter.clone())],
            options,
            source: Source::File { input, dead_letter },
            compact_min_files: msma_sink::COMPACT_MIN_FILES,
        }
    }
}

impl Config {
    /// The settings in force: `self` holds flags over `MSMA_` variables over the file
    /// (see [`Config::over`]); the declared defaults fill the rest.
    pub fn resolve(self) -> Result<Ingest> {
        let Self {
            study,
            output,
            file,
            kafka,
            metrics,
            compact,
            log: _,
        } = self;
        let options = Options {
            max_line_bytes: file.max_line_bytes(),
            commit_lines: file.commit_lines(),
            threads: file.threads().max(1),
            max_partitions: output.max_partitions_per_commit().max(1),
            lines_read: Default::default(),
        };
        let checkpoint_every = output.checkpoint_every().max(1);
        let out = match output.out {
            Some(zone) => zone.parse().map_err(Error::Zone)?,
            None => return Err(missing("the research zone", "--out", "output.zone")),
        };
        let study = StudySettings {
            keys: study
                .keys
                .ok_or_else(|| missing("the key file", "--keys", "study.key_file"))?,
            study: study.study.ok_or_else(|| missing("the study", "--study", "study.id"))?,
            policy: study.policy,
            out,
            checkpoint_every,
        };
        let apart = [("input", &file.input), ("dead-letter file", &file.dead_letter)]
            .into_iter()
            .filter_map(|(what, path)| Some((what, path.clone()?)))
            .collect();
        let source = match (file.input, file.dead_letter, &kafka.brokers) {
            (Some(_), _, Some(_)) => return Err(Error::TwoSources),
            (Some(input), Some(dead_letter), None) => Source::File { input, dead_letter },
            (Some(_), None, None) => {
                return Err(missing(
                    "the dead-letter file",
                    "--dead-letter",
                    "file.dead_letter_file",
                ));
            }
            (None, _, None) => return Err(Error::NoSource),
            (None, _, Some(_)) => Source::Kafka(Box::new(worker(
                kafka,
                &options,
                metrics.metrics_listen,
                compact.compact_min_files(),
            )?)),
        };
        Ok(Ingest {
            study,
            apart,
            options,
            source,
            compact_min_files: compact.compact_min_files(),
        })
    }
}

fn worker(
    k: crate::Kafka,
    options: &Options,
    metrics_listen: Option<String>,
    compact_min_files: usize,
) -> Result<Worker> {
    let (Some(brokers), Some(topic), Some(group)) = (&k.brokers, &k.topic, &k.group) else {
        return Err(Error::IncompleteWorker);
    };
    let mut config = WorkerConfig::new(brokers, topic, group);
    if let Some(t) = &k.dead_letter_topic {
        config.dead_letter_topic = t.clone();
    }
    config.flush_rows = k.flush_rows().max(1);
    config.flush_bytes = k.flush_bytes().max(1);
    config.flush_latency = Duration::from_millis(k.flush_latency_ms());
    config.stop_when_idle = k.stop_when_idle_ms.map(Duration::from_millis);
    config.session_timeout = Duration::from_millis(k.session_timeout_ms());
    config.connect_timeout = Duration::from_millis(k.connect_timeout_ms());
    config.threads = options.threads;
    config.max_partitions = options.max_partitions;
    config.compact_min_files = compact_min_files;
    Ok(Worker {
        config,
        properties: k.kafka_properties,
        metrics_listen,
    })
}

fn missing(what: &'static str, flag: &'static str, key: &'static str) -> Error {
    Error::Missing { what, flag, key }
}
