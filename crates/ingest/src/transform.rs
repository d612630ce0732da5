//! Event → research row: pseudonyms in place of identifiers, generalised
//! quasi-identifiers, coded payload columns; everything else is dropped. Rows gather
//! in Arrow builders per dataset and Hive partition until they are handed to the sink.

use arrow_array::RecordBatch;
use msma_pseudo::{Domain, Policy, Pseudonymiser, departement, region_of};
use msma_schema::{CellSink, Event, EventType, Partition, RejectKind, Rejection, dataset_columns};
use msma_sink::{BatchBuilder, RowGroup, Txn};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};

/// `batches` as a row group of `part`'s file.
pub fn row_group(part: &Partition, batches: Vec<RecordBatch>) -> RowGroup {
    RowGroup {
        dataset: part.event_type.as_str().to_owned(),
        schema_version: part.version,
        partition: part.path(),
        batches,
    }
}

/// The partitions one commit may open: at most `max`, first come first served, shared
/// by the threads that fill the commit. Each partition is a folder and a file, and an
/// entry of the commit record: the cap bounds them whatever the input.
pub struct PartitionCap {
    max: usize,
    admitted: Mutex<HashSet<Partition>>,
}

impl PartitionCap {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            admitted: Mutex::new(HashSet::new()),
        })
    }

    /// Whether rows of `part` may join the commit.
    fn admit(&self, part: &Partition) -> bool {
        let mut admitted = self.admitted.lock().expect("no panic while held");
        admitted.contains(part) || (admitted.len() < self.max && admitted.insert(part.clone()))
    }

    /// Admits all of `parts` if they fit, else none: `false`.
    pub(crate) fn admit_all<'p>(&self, parts: impl Iterator<Item = &'p Partition>) -> bool {
        let mut admitted = self.admitted.lock().expect("no panic while held");
        let new: Vec<&Partition> = parts.filter(|p| !admitted.contains(*p)).collect();
        if admitted.len() + new.len() > self.max {
            return false;
        }
        admitted.extend(new.into_iter().cloned());
        true
    }

    /// Whether the commit holds as many partitions as it may.
    pub fn full(&self) -> bool {
        self.admitted.lock().expect("no panic while held").len() >= self.max
    }

    /// For the next commit.
    pub fn clear(&self) {
        self.admitted.lock().expect("no panic while held").clear();
    }
}

pub struct Transform {
    pseudo: Pseudonymiser,
    policy: Policy,
    /// The event years accepted, from the policy and the year of the run.
    years: RangeInclusive<i32>,
    cap: Option<Arc<PartitionCap>>,
    builders: HashMap<Partition, BatchBuilder>,
}

impl Transform {
    pub fn new(pseudo: Pseudonymiser, policy: Policy) -> Self {
        let years = policy.accepted_years(chrono::Datelike::year(&chrono::Utc::now()));
        Self {
            pseudo,
            policy,
            years,
            cap: None,
            builders: HashMap::new(),
        }
    }

    /// A digest of input lines for the commit log, keyed under the study key.
    pub fn segment_digest(&self) -> msma_pseudo::SegmentDigest {
        self.pseudo.segment_digest()
    }

    /// Adds one event's row to the buffers, or says why the study does not take it: a
    /// network it does not declare, a year outside its window, a partition past the cap.
    pub fn push(&mut self, ev: &Event) -> Result<(), Rejection> {
        if !self.policy.declares(&ev.network_id) {
            return Err(Rejection::new(
                RejectKind::NetworkNotDeclared,
                "network_id: not a network of the study (policy key networks)",
            ));
        }
        let local_date = ev.occurred_at.date_naive();
        let year = chrono::Datelike::year(&local_date);
        if !self.years.contains(&year) {
            return Err(Rejection::new(
                RejectKind::YearOutsideWindow,
                format!(
                    "occurred_at: year outside the years the study takes, {} to {} (policy key years_back)",
                    self.years.start(),
                    self.years.end()
                ),
            ));
        }
        let key = Partition::new(ev.event_type, ev.schema_version, &ev.network_id, year);
        let b = match self.builders.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                if let Some(cap) = self.cap.as_ref().filter(|cap| !cap.admit(e.key())) {
                    return Err(Rejection::new(
                        RejectKind::PartitionCap,
                        format!(
                            "more than {} partitions (dataset, network_id, year) in one commit; ingest it again from the dead letters",
                            cap.max
                        ),
                    ));
                }
                let columns = dataset_columns(e.key().event_type);
                e.insert(BatchBuilder::new(&columns))
            }
        };
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
            let kept = age.filter(|_| self.policy.keep_age_years);
            b.int(kept.map(|a| i64::from(self.policy.age_years(a))));
            b.text(age.map(|a| self.policy.age_band(a)).as_deref());
            b.text(dep);
            b.text(dep.and_then(region_of));
        }
        let pseudo = &self.pseudo;
        ev.payload
            .write_cells(b, &mut |domain, v| pseudo.linked(domain, network, v).to_string());
        b.end_row();
        Ok(())
    }

    /// A transform with the same key and policy, holding no rows (for another thread).
    pub fn fresh(&self) -> Self {
        Self {
            pseudo: self.pseudo.clone(),
            policy: self.policy.clone(),
            years: self.years.clone(),
            cap: None,
            builders: HashMap::new(),
        }
    }

    /// The cap this transform opens partitions under, if any.
    pub fn cap(&self) -> Option<&PartitionCap> {
        self.cap.as_deref()
    }

    /// A fresh transform that opens partitions only as `cap` admits them.
    pub fn with_cap(&self, cap: Arc<PartitionCap>) -> Self {
        Self {
            cap: Some(cap),
            ..self.fresh()
        }
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
        let groups = self.take().into_iter().map(|(key, batch)| row_group(&key, vec![batch]));
        txn.write_all(groups.collect())
    }
}

fn days(date: chrono::NaiveDate) -> i32 {
    (date - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}
