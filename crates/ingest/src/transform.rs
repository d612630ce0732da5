//! Event → research row: pseudonyms in place of identifiers, generalised
//! quasi-identifiers, coded payload columns; everything else is dropped. Rows gather
//! in Arrow builders per dataset and Hive partition until they are handed to the sink.

use arrow_array::RecordBatch;
use msma_pseudo::{Domain, Policy, Pseudonymiser, departement, region_of};
use msma_schema::{CellSink, Event, EventType, Partition, RejectKind, Rejection, dataset_columns};
use msma_sink::Withdrawn;
use msma_sink::dedup::{Index, Pending, Seen};
use msma_sink::{BatchBuilder, RowGroup, Txn};
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

/// The events a zone holds and those of the commit being filled: an event sent again
/// is not written again.
struct Dedup {
    index: Arc<Index>,
    pending: Pending,
}

/// What became of an event pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Its row joined the buffers.
    Row,
    /// The zone or the commit already holds it, byte for byte.
    Duplicate,
}

/// Why an event pushed is not a row.
#[derive(Debug)]
pub enum PushError {
    Rejected(Rejection),
    /// The dedup index could not be read: nothing can be decided.
    Index(msma_sink::Error),
}

impl From<Rejection> for PushError {
    fn from(r: Rejection) -> Self {
        Self::Rejected(r)
    }
}

pub struct Transform {
    pseudo: Pseudonymiser,
    policy: Policy,
    /// The event years accepted, from the policy and the year of the run.
    years: RangeInclusive<i32>,
    cap: Option<Arc<PartitionCap>>,
    dedup: Option<Arc<Dedup>>,
    /// The patients who withdrew, by their withdrawal tags ([`Pseudonymiser::withdrawal_tag`]).
    withdrawn: Arc<Withdrawn>,
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
            dedup: None,
            withdrawn: Arc::default(),
            builders: HashMap::new(),
        }
    }

    /// A fresh transform for `zone`: it writes only the events the zone does not hold
    /// ([`Transform::deduplicated`]) and keeps out those of patients who withdrew, as the
    /// zone learns of them.
    pub fn for_zone(&self, zone: &msma_sink::Zone) -> Self {
        Self {
            withdrawn: zone.withdrawn(),
            ..self.deduplicated(zone.dedup())
        }
    }

    /// How many withdrawals this transform knows: give it to the transaction of the
    /// events read from now on ([`msma_sink::Txn::set_withdrawn_seen`]).
    pub fn withdrawn_seen(&self) -> usize {
        self.withdrawn.len()
    }

    /// A fresh transform that writes only the events `index` does not hold, and
    /// gathers those it writes for the commit's dedup run ([`Transform::take_events`]).
    pub fn deduplicated(&self, index: Arc<Index>) -> Self {
        Self {
            dedup: Some(Arc::new(Dedup {
                index,
                pending: Pending::default(),
            })),
            ..self.fresh()
        }
    }

    /// The events written since the last call, for the commit's dedup run.
    pub fn take_events(&self) -> Vec<msma_sink::dedup::Entry> {
        self.dedup.as_ref().map(|d| d.pending.take()).unwrap_or_default()
    }

    /// Forgets the events written under `tag`, whose rows are dropped.
    pub(crate) fn forget_events(&self, tag: u64) {
        if let Some(d) = &self.dedup {
            d.pending.forget(tag);
        }
    }

    /// A digest of input lines for the commit log, keyed under the study key.
    pub fn segment_digest(&self) -> msma_pseudo::SegmentDigest {
        self.pseudo.segment_digest()
    }

    /// Adds the row of one event (`line`, the bytes it was decoded from, under `tag`, its
    /// block) to the buffers, or says why not: a network the study does not declare, a
    /// year outside its window, a partition past the cap, an event the zone or the
    /// commit already holds (a duplicate, or a conflicting one with other content).
    pub fn push(&mut self, ev: &Event, line: &[u8], tag: u64) -> Result<Pushed, PushError> {
        if !self.policy.declares(&ev.network_id) {
            return Err(Rejection::new(
                RejectKind::NetworkNotDeclared,
                "network_id: not a network of the study (policy key networks)",
            )
            .into());
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
            )
            .into());
        }
        let key = Partition::new(ev.event_type, ev.schema_version, &ev.network_id, year);
        if !self.builders.contains_key(&key)
            && let Some(cap) = self.cap.as_ref().filter(|cap| !cap.admit(&key))
        {
            return Err(Rejection::new(
                RejectKind::PartitionCap,
                format!(
                    "more than {} partitions (dataset, network_id, year) in one commit; ingest it again from the dead letters",
                    cap.max
                ),
            )
            .into());
        }
        let network = ev.network_id.as_ref();
        let patient = self.pseudo.patient(network, &ev.patient.local_id);
        if !self.withdrawn.is_empty() && self.withdrawn.contains(&self.pseudo.withdrawal_tag(&patient)) {
            return Err(Rejection::new(
                RejectKind::Withdrawn,
                "patient: withdrew from the study; the event is kept out (docs/STEWARDS.md, withdrawal)",
            )
            .into());
        }
        if let Some(dedup) = &self.dedup {
            let entry = msma_sink::dedup::Entry {
                key: self.pseudo.event_key(network, &ev.event_id),
                content: self.pseudo.content_digest(line),
            };
            match dedup
                .pending
                .admit(&dedup.index, entry, tag)
                .map_err(PushError::Index)?
            {
                Seen::New => {}
                Seen::Duplicate => return Ok(Pushed::Duplicate),
                Seen::Conflicting => {
                    return Err(Rejection::new(
                        RejectKind::ConflictingDuplicate,
                        "event_id: already written with other content (docs/OPERATIONS.md, corrections)",
                    )
                    .into());
                }
            }
        }
        let b = (self.builders.entry(key)).or_insert_with_key(|k| BatchBuilder::new(&dataset_columns(k.event_type)));
        b.text(Some(patient.as_str()));
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
        Ok(Pushed::Row)
    }

    /// A transform with the same key and policy, holding no rows (for another thread).
    pub fn fresh(&self) -> Self {
        Self {
            pseudo: self.pseudo.clone(),
            policy: self.policy.clone(),
            years: self.years.clone(),
            cap: None,
            dedup: self.dedup.clone(),
            withdrawn: self.withdrawn.clone(),
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
