//! Event → research row: pseudonyms in place of identifiers, generalised
//! quasi-identifiers, coded payload columns; everything else is dropped. Rows gather
//! in Arrow builders per dataset and Hive partition until they are handed to the sink.

use arrow_array::RecordBatch;
use msma_model::{CellSink, Column, ColumnType, Event, EventType, Linkable};
use msma_pseudo::{Domain, Policy, Pseudonymiser, departement, region_of};
use msma_sink::{BatchBuilder, RowGroup, Txn};
use std::collections::HashMap;

const COMMON: &[Column] = &[
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

const DEMOGRAPHICS: &[Column] = &[
    column(
        "sex",
        ColumnType::Code(msma_model::Sex::CODES),
        true,
        "Sex (U: unknown or not stated)",
    ),
    column("age_years", ColumnType::Int16, true, "Age at the event, in whole years"),
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

const fn column(name: &'static str, ty: ColumnType, nullable: bool, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        nullable,
        doc,
    }
}

/// The columns of a dataset, in order: common, demographics (patient_inclusion only),
/// then the payload's.
pub fn dataset_columns(event_type: EventType) -> Vec<Column> {
    let mut cols = COMMON.to_vec();
    if event_type == EventType::PatientInclusion {
        cols.extend_from_slice(DEMOGRAPHICS);
    }
    cols.extend_from_slice(event_type.payload_columns());
    cols
}

/// Where a row goes: a dataset at a schema version, and a Hive partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition {
    pub event_type: EventType,
    pub version: u16,
    network: String,
    year: i32,
}

impl Partition {
    pub fn path(&self) -> String {
        format!("network_id={}/year={}", self.network, self.year)
    }

    /// `batches` as a row group of this partition's file.
    pub fn row_group(&self, batches: Vec<RecordBatch>) -> RowGroup {
        RowGroup {
            dataset: self.event_type.as_str().to_owned(),
            schema_version: self.version,
            partition: self.path(),
            batches,
        }
    }
}

pub struct Transform {
    pseudo: Pseudonymiser,
    policy: Policy,
    builders: HashMap<Partition, BatchBuilder>,
}

impl Transform {
    pub fn new(pseudo: Pseudonymiser, policy: Policy) -> Self {
        Self {
            pseudo,
            policy,
            builders: HashMap::new(),
        }
    }

    /// A digest of input lines for the commit log, keyed under the study key.
    pub fn segment_digest(&self) -> msma_pseudo::SegmentDigest {
        self.pseudo.segment_digest()
    }

    /// Adds one event's row to the buffers.
    pub fn push(&mut self, ev: &Event) {
        let local_date = ev.occurred_at.date_naive();
        let key = Partition {
            event_type: ev.event_type,
            version: ev.schema_version,
            network: ev.network_id.to_string(),
            year: chrono::Datelike::year(&local_date),
        };
        let b = self
            .builders
            .entry(key)
            .or_insert_with_key(|k| BatchBuilder::new(&dataset_columns(k.event_type)));
        let network = ev.network_id.as_ref();
        b.text(Some(self.pseudo.patient(network, &ev.patient.local_id).as_str()));
        b.text(Some(
            self.pseudo
                .linked(Domain::Microstructure, network, &ev.microstructure_id)
                .as_str(),
        ));
        b.date(Some(days(self.policy.date_granularity.truncate(local_date))));
        if ev.event_type == EventType::PatientInclusion {
            let age = ev.birth_date.and_then(|birth| self.policy.age(birth, local_date));
            let dep = ev.patient.postcode.as_deref().and_then(departement);
            b.code(ev.patient.sex.map(|s| s.as_str()));
            b.int(age.filter(|_| self.policy.keep_age_years).map(i64::from));
            b.text(age.map(|a| self.policy.age_band(a)).as_deref());
            b.text(dep);
            b.text(dep.and_then(region_of));
        }
        let pseudo = &self.pseudo;
        ev.payload.write_cells(b, &mut |value| {
            let (domain, v) = match value {
                Linkable::Professional(v) => (Domain::Professional, v),
                Linkable::Meeting(v) => (Domain::Meeting, v),
            };
            pseudo.linked(domain, network, v).to_string()
        });
        b.end_row();
    }

    /// A transform with the same key and policy, holding no rows (for another thread).
    pub fn fresh(&self) -> Self {
        Self::new(self.pseudo.clone(), self.policy.clone())
    }

    /// Every buffered row, as one batch per partition in partition order.
    pub fn take(&mut self) -> Vec<(Partition, RecordBatch)> {
        // Builders are dropped, not kept: an idle partition's builders would hold memory.
        let mut batches: Vec<_> = self.builders.drain().map(|(k, mut b)| (k, b.finish())).collect();
        batches.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        batches
    }

    /// Hands every buffered row to `txn`, a row group per partition.
    pub fn flush(&mut self, txn: &mut Txn) -> msma_sink::Result<()> {
        let groups = self.take().into_iter().map(|(key, batch)| key.row_group(vec![batch]));
        txn.write_all(groups.collect())
    }
}

fn days(date: chrono::NaiveDate) -> i32 {
    (date - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}
