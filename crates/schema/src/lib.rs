//! msma's event contract: the envelope every event shares, one payload type per event
//! type and schema version, the code lists (OFDT RECAP / EMCDDA TDI), and a strict
//! decoder that accepts exactly what the JSON Schemas under `schemas/` accept.
//!
//! No I/O here: callers hand in bytes and get typed events or rejections back.

#[macro_use]
mod codes;
mod checks;
mod columns;
mod event;
mod int;
mod payload;
pub mod redact;
mod rejection;
pub mod shapes;
mod strict;

pub use checks::{network_id as is_network_id, phone_tails, trim_local_id};
pub use codes::*;
pub use columns::{CellSink, Column, ColumnType, Linkable};
pub use event::{Event, Patient, decode};
pub use int::Int;
pub use payload::*;
pub use rejection::{RejectKind, Rejection};
