//! Researchers' reports: figures computed with SQL over one ledger snapshot, protected
//! by disclosure control ([`sdc`]), written as one self-contained HTML page with SVG
//! charts, or as CSV or JSON tables for scripts.
//!
//! A report is a pure function of the snapshot and the settings: it carries the ledger
//! head it was computed on and no clock, so the same data give the same bytes.

pub mod activity;
mod escape;
mod export;
mod frame;
pub mod gender;
mod html;
mod labels;
pub mod scope;
pub mod sdc;
mod svg;
pub mod table;

pub use scope::Filter;

use msma_query::{Catalog, Head};
use sdc::Suppressed;
use table::{Count, MARK, Table};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Query(#[from] msma_query::Error),
    /// Nothing to report on: a network, region or year without patients.
    #[error("empty scope: {0}; no report written")]
    EmptyScope(&'static str),
}

impl From<msma_query::datafusion::error::DataFusionError> for Error {
    fn from(e: msma_query::datafusion::error::DataFusionError) -> Self {
        Self::Query(e.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub struct Settings {
    pub filter: Filter,
    /// The year of the one-year views; the latest year with data when `None`.
    pub year: Option<i32>,
    /// Counts below this, before or after perturbation, are masked.
    pub threshold: u64,
    /// Yearly flat rate per eligible patient (activity report).
    pub flat_rate_eur: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            filter: Filter::default(),
            year: None,
            threshold: 11,
            flat_rate_eur: 528.0,
        }
    }
}

/// A computed and protected report.
#[derive(Debug, Clone)]
pub struct Report {
    pub kind: &'static str,
    pub title: String,
    pub head: Option<Head>,
    pub study_id: Option<String>,
    pub settings: Settings,
    /// The year of the one-year views.
    pub year: Option<i64>,
    /// Patients of unknown sex (or without an inclusion) in that year, left out of the
    /// tables by sex.
    pub unknown_sex: Option<Count>,
    pub tables: Vec<Table>,
    pub suppressed: Suppressed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Csv,
    Json,
}

impl Format {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "html" => Self::Html,
            "csv" => Self::Csv,
            "json" => Self::Json,
            _ => return None,
        })
    }
}

impl Report {
    fn new(kind: &'static str, title: &str, catalog: &Catalog, settings: &Settings) -> Self {
        Self {
            kind,
            title: title.into(),
            head: catalog.snapshot.head.clone(),
            study_id: catalog.snapshot.identity.as_ref().map(|i| i.study_id.clone()),
            settings: settings.clone(),
            year: None,
            unknown_sex: None,
            tables: Vec::new(),
            suppressed: Suppressed::default(),
        }
    }

    /// Applies disclosure control to every table. The cell keys make a count that two
    /// tables or two scopes publish come out the same in both, masked or not.
    fn finish(mut self, settings: &Settings) -> Self {
        for table in &mut self.tables {
            sdc::protect(table, settings.threshold);
            self.suppressed.add(table);
        }
        self
    }

    /// The unknown-sex count as published.
    pub fn unknown_sex_display(&self) -> Option<String> {
        self.unknown_sex
            .map(|c| sdc::publish(c, self.settings.threshold).map_or_else(|| MARK.to_string(), |n| n.to_string()))
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Html => html::render(self),
            Format::Csv => export::csv(self),
            Format::Json => export::json(self),
        }
    }
}
