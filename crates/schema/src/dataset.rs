//! The dataset contract: the columns of each event type's dataset, in order, and its
//! Hive partitions. Ingest writes them, query reads them, the data dictionary shows them.

use crate::codes::Sex;
use crate::payload::EventType;

/// The type of a dataset column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// A code from a closed list (stored as a dictionary-encoded string).
    Code(&'static [&'static str]),
    /// A list of codes from a closed list.
    CodeList(&'static [&'static str]),
    /// Free-form text produced by msma itself (pseudonyms, age bands, geography).
    Text,
    Bool,
    Int16,
    Int32,
    Int64,
    /// A calendar date.
    Date,
}

impl ColumnType {
    /// The type as the data dictionary names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Code(_) => "code",
            Self::CodeList(_) => "list of codes",
            Self::Text => "text",
            Self::Bool => "boolean",
            Self::Int16 => "int16",
            Self::Int32 => "int32",
            Self::Int64 => "int64",
            Self::Date => "date",
        }
    }
}

/// One column of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
    pub doc: &'static str,
}

const fn column(name: &'static str, ty: ColumnType, nullable: bool, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        nullable,
        doc,
    }
}

/// Receives the cells of one row, in column order.
pub trait CellSink {
    fn code(&mut self, v: Option<&'static str>);
    fn codes(&mut self, v: &mut dyn Iterator<Item = &'static str>);
    fn text(&mut self, v: Option<&str>);
    fn bool(&mut self, v: Option<bool>);
    fn int(&mut self, v: Option<i64>);
    /// Days since 1970-01-01.
    fn date(&mut self, v: Option<i32>);
}

/// The first columns of every dataset.
pub const COMMON: &[Column] = &[
    column(
        "patient_pseudonym",
        ColumnType::Text,
        false,
        "HMAC-SHA256 pseudonym of the patient (docs/PSEUDONYMISATION.md)",
    ),
    column(
        "microstructure_pseudonym",
        ColumnType::Text,
        false,
        "Pseudonym of the microstructure",
    ),
    column(
        "occurred_on",
        ColumnType::Date,
        false,
        "Event date, truncated to the study's date granularity",
    ),
];

/// The generalised patient, after [`COMMON`] in `patient_inclusion` only.
pub const DEMOGRAPHICS: &[Column] = &[
    column(
        "sex",
        ColumnType::Code(Sex::CODES),
        true,
        "Sex (U: unknown or not stated)",
    ),
    column(
        "age_years",
        ColumnType::Int16,
        true,
        "Age at the event, in whole years, top-coded with the band: the policy's age_top_code (default 75) stands for that age or more",
    ),
    column(
        "age_band",
        ColumnType::Text,
        true,
        "Age band at the event (study policy)",
    ),
    column(
        "departement",
        ColumnType::Text,
        true,
        "Département of residence (INSEE code), from the postcode",
    ),
    column(
        "region",
        ColumnType::Text,
        true,
        "Region of residence (INSEE code), from the département",
    ),
];

/// The columns of a dataset's files, in order: common, demographics (patient_inclusion
/// only), then the payload's.
pub fn dataset_columns(event_type: EventType) -> Vec<Column> {
    let mut cols = COMMON.to_vec();
    if event_type == EventType::PatientInclusion {
        cols.extend_from_slice(DEMOGRAPHICS);
    }
    cols.extend_from_slice(event_type.payload_columns());
    cols
}

/// The partition columns of every dataset, after its file columns: the folders
/// `network_id=<network>/year=<year>/` ([`Partition::path`]).
pub const PARTITION_COLUMNS: &[Column] = &[
    column("network_id", ColumnType::Text, false, "The network that sent the event"),
    column(
        "year",
        ColumnType::Int32,
        false,
        "Calendar year of the event, before date generalisation",
    ),
];

/// Where a row goes: a dataset at a schema version, and a Hive partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition {
    pub event_type: EventType,
    pub version: u16,
    network: String,
    year: i32,
}

impl Partition {
    pub fn new(event_type: EventType, version: u16, network: &str, year: i32) -> Self {
        Self {
            event_type,
            version,
            network: network.to_owned(),
            year,
        }
    }

    /// The partition's folder in its dataset, as [`PARTITION_COLUMNS`] name it.
    pub fn path(&self) -> String {
        let [network, year] = [PARTITION_COLUMNS[0].name, PARTITION_COLUMNS[1].name];
        format!("{network}={}/{year}={}", self.network, self.year)
    }
}
