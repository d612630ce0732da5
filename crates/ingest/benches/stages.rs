//! The stages of an ingest, one at a time, on 20,000 generated events: a regression
//! shows where it happens. `cargo bench -p msma-ingest`; the whole pipeline against
//! Python and DuckDB is `benches/compare/run.py` (docs/PERFORMANCE.md).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use msma_ingest::Transform;
use msma_pseudo::{Domain, MasterKey, Policy, Pseudonymiser, StudyId};
use msma_schema::decode;
use msma_sink::{Identity, Zone};
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
    let mut t = Transform::new(pseudo.clone(), Policy::default());
    events.iter().for_each(|ev| {
        t.push(ev, &[], 0).expect("a network and year the policy takes");
    });
    let batches = t.take();
    let dir = tempfile::tempdir().unwrap();
    let identity = Identity {
        study_id: "bench".into(),
        key_id: "0000000000000000".into(),
        policy: serde_json::Value::Null,
    };
    let mut zone = Zone::open(dir.path(), identity).unwrap();
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
