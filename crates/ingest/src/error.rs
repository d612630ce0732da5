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
    #[error(transparent)]
    Sink(#[from] msma_sink::Error),
}
