//! End-to-end tests of the real `msma` binary, driven as a user drives it, with readers
//! and validators msma did not write (pyarrow, DuckDB, python-jsonschema).

mod util;

mod audit;
mod checkpoints;
mod cli;
mod compaction;
mod compare;
mod crash;
mod dedup;
mod differencing;
mod faults;
mod hostile;
mod identifiers;
mod interop;
mod kafka;
mod linkage;
mod outage;
mod probes;
mod register;
mod regression;
mod research;
mod schemas;
mod store;
mod tls;
mod withdrawal;
mod zones;
