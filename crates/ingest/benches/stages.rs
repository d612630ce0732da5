//! The stages of an ingest, one at a time, on 20,000 generated events: a regression
//! shows where it happens. `cargo bench -p msma-ingest`; the whole pipeline against
//! Python and DuckDB is `benches/compare/run.py` (docs/PERFORMANCE.md).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use msma_ingest::{Input, LineReader, Transform};
use msma_pseudo::{Domain, MasterKey, Policy, Pseudonymiser, StudyId};
use msma_schema::decode;
use msma_sink::{Identity, RowsDigest, Zone};
use serde::de::IgnoredAny;
use std::hint::black_box;

const EVENTS: u64 = 20_000;

fn lines() -> Vec<Vec<u8>> {
    let spec = msma_synth::Spec {
        events: EVENTS,
        ..msma_synth::Spec::default()
    };
    msma_synth::lines(&spec).unwrap()
}

fn pseudonymiser() -> Pseudonymiser {
    let key = MasterKey::from_bytes([7; 32]);
    Pseudonymiser::new(&key.study_key(&StudyId::new("bench").unwrap()))
}

fn stages(c: &mut Criterion) {
    let lines = lines();
    let mut g = c.benchmark_group("stages");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.sample_size(20);

    // Lines cut from the input and fed to the segment's keyed digest, as a file
    // ingest's reader does.
    let input: Vec<u8> = lines.iter().flat_map(|l| l.iter().chain(b"\n")).copied().collect();
    let keyed = pseudonymiser();
    g.bench_function("read_lines", |b| {
        b.iter(|| {
            let stream = Input::Stream(Box::new(std::io::BufReader::new(input.as_slice())));
            let mut reader = LineReader::new(stream, 1 << 20);
            let mut digest = keyed.segment_digest();
            while let Some(line) = reader.next(&mut |b| digest.update(b)).unwrap() {
                black_box(line.bytes);
            }
            black_box(digest.hex())
        })
    });
    // JSON syntax alone, the floor of any parser: the rest of `decode` is validation.
    g.bench_function("json_scan", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(serde_json::from_slice::<IgnoredAny>(l).unwrap());
            }
        })
    });
    g.bench_function("decode_and_validate", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(decode(l).unwrap());
            }
        })
    });
    let events: Vec<_> = lines.iter().map(|l| decode(l).unwrap()).collect();
    let pseudo = pseudonymiser();
    g.bench_function("pseudonymise", |b| {
        b.iter(|| {
            for ev in &events {
                black_box(pseudo.patient(&ev.network_id, &ev.patient.local_id));
                black_box(pseudo.linked(Domain::Microstructure, &ev.network_id, &ev.microstructure_id));
            }
        })
    });
    g.bench_function("transform_to_arrow", |b| {
        b.iter_batched(
            || Transform::new(pseudo.clone(), Policy::default()),
            |mut t| {
                for ev in &events {
                    // Without a dedup index, the line's bytes are not read.
                    t.push(ev, &[], 0).expect("a network and year the policy takes");
                }
                black_box(t.take())
            },
            BatchSize::LargeInput,
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let identity = Identity {
        study_id: "bench".into(),
        key_id: "0000000000000000".into(),
        policy: serde_json::Value::Null,
    };
    let mut zone = Zone::open(dir.path(), identity).unwrap();
    // The same with the zone's dedup index (empty): each event's two keyed digests and
    // its place in the commit's set of events.
    g.bench_function("transform_with_dedup", |b| {
        b.iter_batched(
            || Transform::new(pseudo.clone(), Policy::default()).for_zone(&zone),
            |mut t| {
                for (ev, line) in events.iter().zip(&lines) {
                    t.push(ev, line, 0).expect("a network and year the policy takes");
                }
                black_box((t.take(), t.take_events()))
            },
            BatchSize::LargeInput,
        )
    });
    let mut t = Transform::new(pseudo.clone(), Policy::default());
    events.iter().for_each(|ev| {
        t.push(ev, &[], 0).expect("a network and year the policy takes");
    });
    let batches = t.take();
    // The order-independent digest of every row, which each file's record carries.
    g.bench_function("rows_digest", |b| {
        b.iter(|| {
            for (_, batch) in &batches {
                black_box(RowsDigest::of_batch(batch).unwrap());
            }
        })
    });
    // Rows sorted on every column, as each row group is written; a partition's rows
    // come in several batches, one per block decoded.
    let parts: Vec<Vec<_>> = (batches.iter())
        .map(|(_, batch)| {
            let step = batch.num_rows().div_ceil(4).max(1);
            (0..batch.num_rows())
                .step_by(step)
                .map(|at| batch.slice(at, step.min(batch.num_rows() - at)))
                .collect()
        })
        .collect();
    g.bench_function("canonical_order", |b| {
        b.iter(|| {
            for part in &parts {
                black_box(msma_sink::canonical(part).unwrap());
            }
        })
    });
    g.bench_function("encode_parquet", |b| {
        b.iter(|| {
            let mut txn = zone.begin().unwrap();
            for (part, batch) in &batches {
                txn.write(
                    part.event_type.as_str(),
                    part.version,
                    &part.path(),
                    std::slice::from_ref(batch),
                )
                .unwrap();
            }
            txn.abort().unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
