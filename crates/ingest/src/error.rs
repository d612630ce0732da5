//! Why a file ingest stopped.

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("reading the input: {0}")]
    Input(std::io::Error),
    #[error("writing dead letters: {0}")]
    DeadLetters(std::io::Error),
    #[error(
        "the zone holds file segments recorded by msma 0.1 (with the input's name and an unkeyed digest), \
         which this version cannot recognise: its data stays readable; ingest files into a new zone, \
         or rewrite this one with `msma keys rotate`"
    )]
    LegacySegments,
    #[error(
        "another writer committed some of the same events meanwhile (record {0}), and standard input cannot be \
         read again: nothing of this segment was written; run the ingest again"
    )]
    CommittedMeanwhile(u64),
    #[error(
        "the input {input} is not NDJSON: {not_json} of its first {lines} lines are not JSON{hint}; \
         ingest reads one JSON event per line, in UTF-8: give it the events export itself, \
         not an archive, a binary or a spreadsheet (nothing was written)"
    )]
    NotNdjson {
        input: String,
        lines: usize,
        not_json: usize,
        hint: &'static str,
    },
    #[error(transparent)]
    Sink(#[from] msma_sink::Error),
}
