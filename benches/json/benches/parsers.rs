//! serde_json, sonic-rs and simd-json on 20,000 of msma's generated events, each through
//! serde, on one thread: the syntax alone (`IgnoredAny`), then the envelope with msma's
//! own `Patient` type and the payload skipped (what a typed decoder needs of a parser).
//! The events are `msma generate`'s, from `msma-synth`'s default seed.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::borrow::Cow;
use std::hint::black_box;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read by black_box only
struct Envelope<'a> {
    #[serde(borrow)]
    event_id: Cow<'a, str>,
    #[serde(borrow)]
    event_type: Cow<'a, str>,
    schema_version: u16,
    #[serde(borrow)]
    network_id: Cow<'a, str>,
    #[serde(borrow)]
    microstructure_id: Cow<'a, str>,
    #[serde(borrow)]
    occurred_at: Cow<'a, str>,
    #[serde(borrow)]
    patient: msma_schema::Patient<'a>,
    payload: IgnoredAny,
}

fn parsers(c: &mut Criterion) {
    let spec = msma_synth::Spec {
        events: 20_000,
        ..msma_synth::Spec::default()
    };
    let lines = msma_synth::lines(&spec).expect("generated events");
    let mut g = c.benchmark_group("json");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.sample_size(20);
    // simd-json parses in place: each iteration copies the line first, as a decoder
    // reading blocks it must not change would.
    let mut scratch = Vec::with_capacity(1 << 16);

    g.bench_function("scan/serde_json", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(serde_json::from_slice::<IgnoredAny>(l).unwrap());
            }
        })
    });
    g.bench_function("scan/sonic_rs", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(sonic_rs::from_slice::<IgnoredAny>(l).unwrap());
            }
        })
    });
    g.bench_function("scan/simd_json", |b| {
        b.iter(|| {
            for l in &lines {
                scratch.clear();
                scratch.extend_from_slice(l);
                black_box(simd_json::serde::from_slice::<IgnoredAny>(&mut scratch).unwrap());
            }
        })
    });
    g.bench_function("envelope/serde_json", |b| {
        b.iter(|| {
            lines
                .iter()
                .for_each(|l| drop(black_box(serde_json::from_slice::<Envelope>(l).unwrap())))
        })
    });
    g.bench_function("envelope/sonic_rs", |b| {
        b.iter(|| {
            lines
                .iter()
                .for_each(|l| drop(black_box(sonic_rs::from_slice::<Envelope>(l).unwrap())))
        })
    });
    g.bench_function("envelope/simd_json", |b| {
        b.iter(|| {
            for l in &lines {
                scratch.clear();
                scratch.extend_from_slice(l);
                drop(black_box(
                    simd_json::serde::from_slice::<Envelope>(&mut scratch).unwrap(),
                ));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, parsers);
criterion_main!(benches);
