//! Tools for data stewards: prove what went into a research zone and that no direct
//! identifier leaked, without trusting the operators.

pub mod requests;
mod risk;
mod scan;
mod verify;

pub use risk::{Class, DEFAULT_QUASI, Generalisation, RiskError, RiskReport, risk};
pub use scan::{Finding, ScanError, ScanReport, classify, scan};
pub use verify::{OffsetGap, Problem, Summary, data_files, verify};
