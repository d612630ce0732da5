//! The Kafka worker's buffer: decoding on several threads gives the rows one thread
//! would give for the same source partitions, each partition's rows in the order they
//! came, and sends the rejected events to the dead letters in order, with their counts.

use arrow_array::{Array, RecordBatch, StringArray};
use msma_ingest::{DeadLetterSink, RowBuffer, Transform};
use msma_pseudo::{MasterKey, Policy, Pseudonymiser, StudyId};
use std::collections::BTreeMap;

fn lines(events: u64) -> Vec<Vec<u8>> {
    let spec = msma_synth::Spec {
        events,
        seed: 3,
        invalid_per_million: 20_000,
        ..msma_synth::Spec::default()
    };
    msma_synth::lines(&spec).unwrap()
}

fn transform() -> Transform {
    let key = MasterKey::from_bytes([3; 32]);
    let pseudo = Pseudonymiser::new(&key.study_key(&StudyId::new("s").unwrap()));
    Transform::new(pseudo, Policy::default())
}

/// Partition path → its rows, one string per row (every column, in order).
fn rows<'a>(groups: impl IntoIterator<Item = (String, &'a RecordBatch)>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, batch) in groups {
        let columns: Vec<_> = (batch.columns().iter()).map(|c| as_text(c.as_ref())).collect();
        for r in 0..batch.num_rows() {
            let row: Vec<&str> = columns.iter().map(|c| c[r].as_str()).collect();
            out.entry(path.clone()).or_default().push(row.join("|"));
        }
    }
    out
}

/// Each value as text (Debug of a one-row slice: enough to compare equal values).
fn as_text(array: &dyn Array) -> Vec<String> {
    if let Some(s) = array.as_any().downcast_ref::<StringArray>() {
        return s.iter().map(|v| format!("{v:?}")).collect();
    }
    (0..array.len()).map(|i| format!("{:?}", array.slice(i, 1))).collect()
}

/// The dead letters a buffer sends: position and reason.
#[derive(Default)]
struct Collected(Vec<(usize, msma_schema::RejectKind)>);

impl DeadLetterSink for Collected {
    type At = usize;
    type Error = std::convert::Infallible;
    fn reject(&mut self, at: usize, _: &[u8], _: Option<u64>, why: &msma_schema::Rejection) -> Result<(), Self::Error> {
        self.0.push((at, why.kind));
        Ok(())
    }
    fn settle(&mut self) -> Result<bool, Self::Error> {
        Ok(true)
    }
    fn forget(&mut self) -> Result<(), Self::Error> {
        self.0.clear();
        Ok(())
    }
}

#[test]
fn threads_give_one_threads_rows_with_each_source_partitions_order() {
    let lines = lines(40_000); // more than two blocks
    let sources = 5u32;
    let threads = 3;
    let mut buffer = RowBuffer::new(&transform(), threads, msma_ingest::MAX_PARTITIONS);
    let mut rejected = Collected::default();
    for (i, line) in lines.iter().enumerate() {
        if buffer.push(i as u32 % sources, i, line) {
            buffer.decode(&mut rejected).unwrap();
        }
    }
    buffer.decode(&mut rejected).unwrap();
    let (groups, counts, by_kind) = buffer.take();
    let rejected = rejected.0;
    assert_eq!(counts.read, lines.len() as u64);
    assert_eq!(
        (counts.rejected, counts.written),
        (rejected.len() as u64, counts.read - counts.rejected)
    );
    assert_eq!(by_kind.values().sum::<u64>(), counts.rejected);
    let got = rows(groups.iter().flat_map(|g| {
        let path = format!("{}/{}", g.dataset, g.partition);
        g.batches.iter().map(move |b| (path.clone(), b))
    }));

    // One thread, taking the sources of each lane in turn, every event in arrival order.
    let mut serial = transform();
    let mut expected_rejected = Vec::new();
    for lane in 0..threads {
        for (i, line) in lines.iter().enumerate() {
            if (i as u32 % sources) as usize % threads != lane {
                continue;
            }
            match msma_schema::decode(line) {
                Ok(ev) => {
                    serial.push(&ev, line, 0).expect("a network and year the policy takes");
                }
                Err(why) => expected_rejected.push((i, why.kind)),
            }
        }
    }
    expected_rejected.sort();
    let taken = serial.take();
    let expected = rows(
        taken
            .iter()
            .map(|(p, b)| (format!("{}/{}", p.event_type.as_str(), p.path()), b)),
    );
    assert!(!expected_rejected.is_empty(), "the input holds broken events");
    assert_eq!(rejected, expected_rejected);
    assert_eq!(got.len(), expected.len());
    assert_eq!(got, expected);
}
