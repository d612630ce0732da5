//! msma's ingest: reads events, validates them against their schema, pseudonymises and
//! generalises them ([`Transform`]), and commits them to a research zone exactly once;
//! rejected events go to dead letters, in the identified zone, with their reason. A
//! study is opened here ([`Study::open`]), and rewritten under a new key ([`rotate()`]).

mod block;
mod buffer;
mod commit;
mod deadletter;
mod error;
mod file;
mod lines;
mod options;
mod pipeline;
mod rotate;
mod sniff;
mod study;
mod transform;
mod withdraw;

pub use buffer::{DecodeError, RowBuffer};
pub use commit::{Batch, Outcome, Report, commit, compact_after_commits};
pub use deadletter::{DeadLetterError, DeadLetterSink, DeadLetters, create_private_parents};
pub use error::IngestError;
pub use file::ingest;
pub use lines::{Input, LineReader, Position};
pub use options::{MAX_PARTITIONS, Options};
pub use rotate::{RotateError, Rotated, Rotation, rotate};
pub use study::{Study, StudyError, StudySettings};
pub use transform::{PartitionCap, PushError, Pushed, Transform};
pub use withdraw::{WithdrawError, Withdrawal, withdraw};
