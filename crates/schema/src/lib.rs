//! msma's event and dataset contract, in one place: the envelope every event shares, one
//! payload type per event type and schema version, the code lists (OFDT RECAP / EMCDDA
//! TDI), which fields identify, link or are generalised, the dataset columns and their
//! partitions, and a strict decoder that accepts exactly what the JSON Schemas accept.
//! The JSON Schemas under `schemas/`, docs/SCHEMAS.md and docs/DATA-DICTIONARY.md are
//! generated from it ([`generate`]).
//!
//! No I/O here: callers hand in bytes and get typed events or rejections back.

#[macro_use]
mod codes;
mod checks;
mod dataset;
mod envelope;
mod event;
mod field;
pub mod generate;
mod int;
mod payload;
mod read;
pub mod redact;
mod rejection;
pub mod shapes;
mod strict;

pub use checks::{network_id as is_network_id, network_id_rule, phone_tails, trim_local_id};
pub use codes::*;
pub use dataset::{COMMON, CellSink, Column, ColumnType, DEMOGRAPHICS, PARTITION_COLUMNS, Partition, dataset_columns};
pub use envelope::{ENVELOPE, Member, PATIENT};
pub use event::{Event, Patient, decode};
pub use field::{Class, Coded, Codes, Domain, Field, Identifies, Meeting, Professional, Rule, Text, Token, Value};
pub use int::Int;
pub use payload::*;
pub use rejection::{RejectKind, Rejection};
