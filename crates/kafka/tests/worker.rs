//! Consumer-loop tests against librdkafka's mock cluster, in process: draining a topic,
//! restarting, two workers with a rebalance in the middle, injected broker errors. The
//! zone's commit log must cover every offset of every partition exactly once.

use msma_ingest::Report;
use msma_ingest::Transform;
use msma_kafka::{DevBroker, WorkerConfig, push, run_worker};
use msma_pseudo::{MasterKey, Policy, Pseudonymiser, StudyId};
use msma_sink::{Identity, Source, Zone};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

const TOPIC: &str = "events";

struct Setup {
    broker: DevBroker,
    dir: tempfile::TempDir,
    valid: u64,
    invalid: u64,
}

fn setup(events: u64, partitions: i32) -> Setup {
    let broker = DevBroker::start(&[TOPIC.to_owned(), format!("{TOPIC}.dead-letters")], partitions).unwrap();
    let spec = msma_synth::Spec {
        events,
        seed: 3,
        invalid_per_million: 5_000,
        ..Default::default()
    };
    let mut text = Vec::new();
    msma_synth::generate(&spec, &mut text).unwrap();
    // Invalid events are sent raw, as a misbehaving pipeline would, to reach dead letters.
    let report = push(
        &broker.bootstrap(),
        TOPIC,
        &Default::default(),
        msma_kafka::CONNECT_TIMEOUT,
        text.as_slice(),
        |_, _| {},
    )
    .unwrap();
    assert_eq!(report.acknowledged, report.sent);
    let mut raw: rdkafka::producer::BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .unwrap();
    send_raw(&mut raw, report.invalid);
    Setup {
        broker,
        dir: tempfile::tempdir().unwrap(),
        valid: report.sent,
        invalid: report.invalid,
    }
}

fn send_raw(p: &mut rdkafka::producer::BaseProducer, n: u64) {
    use rdkafka::producer::{BaseRecord, Producer};
    for i in 0..n {
        let payload = format!("{{\"broken\": {i}");
        p.send(BaseRecord::<[u8], _>::to(TOPIC).payload(&payload)).unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
}

fn worker(s: &Setup, group: &str, zone_dir: &Path) -> Report {
    run(&s.broker.bootstrap(), group, zone_dir, 2_500)
}

fn run(bootstrap: &str, group: &str, zone_dir: &Path, idle_ms: u64) -> Report {
    run_study(bootstrap, group, zone_dir, idle_ms, "k", 2_000)
}

fn run_study(bootstrap: &str, group: &str, zone_dir: &Path, idle_ms: u64, study: &str, flush_rows: usize) -> Report {
    let key = MasterKey::from_bytes([5; 32]);
    let policy = Policy::default();
    let identity = Identity {
        study_id: study.into(),
        key_id: key.id().to_string(),
        policy: serde_json::to_value(&policy).unwrap(),
    };
    let zone = Zone::open(zone_dir, identity).unwrap();
    let pseudo = Pseudonymiser::new(&key.study_key(&StudyId::new(study).unwrap()));
    let mut cfg = WorkerConfig::new(bootstrap, TOPIC, group);
    cfg.flush_rows = flush_rows;
    cfg.stop_when_idle = Some(Duration::from_millis(idle_ms));
    cfg.session_timeout = Duration::from_secs(6);
    let report = run_worker(&cfg, zone, &Transform::new(pseudo, policy), &AtomicBool::new(false)).unwrap();
    check_metrics(&cfg.metrics.render(TOPIC), &report);
    report
}

/// The worker's /metrics counters say what its report says.
fn check_metrics(text: &str, report: &Report) {
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} in\n{text}"))
    };
    assert_eq!(value("msma_events_read_total"), report.read);
    assert_eq!(value("msma_events_written_total"), report.written);
    assert_eq!(value("msma_flushes_total"), report.commits);
    assert_eq!(value("msma_files_written_total"), report.files);
    for kind in msma_schema::RejectKind::ALL {
        let n = report.rejected.get(&kind).copied().unwrap_or(0);
        assert_eq!(
            value(&format!("msma_events_rejected_total{{reason=\"{}\"}}", kind.as_str())),
            n
        );
    }
}

/// Checks that the log covers each partition's offsets 0..end without gap or overlap,
/// and returns the rows written and rejected.
fn check_log(zone_dir: &Path) -> (u64, u64) {
    let records = msma_sink::read_ledger(&msma_sink::Location::Local(zone_dir.to_path_buf())).unwrap();
    let mut ranges: BTreeMap<i32, Vec<(i64, i64)>> = BTreeMap::new();
    let (mut written, mut rejected) = (0, 0);
    for s in &records {
        let Source::Kafka { ranges: covered, .. } = &s.record.source else {
            // Workers compact past compact.min_files: rows committed before, rewritten.
            assert_eq!(s.record.source, Source::Compaction, "a worker wrote a file source");
            continue;
        };
        for r in covered {
            ranges
                .entry(r.partition)
                .or_default()
                .push((r.first_offset, r.last_offset));
        }
        written += s.record.rows.written;
        rejected += s.record.rows.rejected;
    }
    for f in msma_sink::ZoneState::from_records(&records).files.values() {
        assert!(zone_dir.join(&f.path).is_file(), "{} missing", f.path);
    }
    for (p, mut r) in ranges {
        r.sort();
        assert_eq!(r[0].0, 0, "partition {p} starts at 0");
        for w in r.windows(2) {
            assert_eq!(
                w[1].0,
                w[0].1 + 1,
                "partition {p}: gap or overlap between {:?} and {:?}",
                w[0],
                w[1]
            );
        }
    }
    (written, rejected)
}

#[test]
fn drains_exactly_once_and_a_restart_adds_nothing() {
    let s = setup(20_000, 4);
    let zone = s.dir.path().join("zone");
    let first = worker(&s, "g", &zone);
    assert_eq!(first.written, s.valid);
    assert_eq!(first.rejected.values().sum::<u64>(), s.invalid);
    assert_eq!(check_log(&zone), (s.valid, s.invalid));

    // Another group on the same zone resumes from the log, not from Kafka's offsets.
    let second = worker(&s, "other-group", &zone);
    assert_eq!((second.read, second.written), (0, 0));
    assert_eq!(check_log(&zone), (s.valid, s.invalid));

    let dead = read_dead_letters(&s);
    assert_eq!(dead.len() as u64, s.invalid);
    for headers in dead {
        assert!(["malformed_json", "schema_violation"].contains(&headers["msma.reason"].as_str()));
        assert!(!headers["msma.detail"].is_empty());
        assert_eq!(headers["msma.source.topic"], TOPIC);
        assert!(headers["msma.source.offset"].parse::<i64>().is_ok());
    }
}

#[test]
fn two_workers_share_the_partitions_through_a_rebalance() {
    let s = setup(150_000, 4);
    let zone = s.dir.path().join("zone");
    let bootstrap = s.broker.bootstrap();
    let (a, b) = std::thread::scope(|scope| {
        // Small commits keep the first worker busy until the second has joined.
        let a = scope.spawn(|| run_study(&bootstrap, "g", &zone, 2_500, "k", 200));
        std::thread::sleep(Duration::from_millis(3_200));
        let b = scope.spawn(|| run_study(&bootstrap, "g", &zone, 2_500, "k", 200));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(
        a.read > 0 && b.read > 0,
        "both workers took part: {} and {}",
        a.read,
        b.read
    );
    assert_eq!(check_log(&zone), (s.valid, s.invalid));
    assert_eq!(a.written + b.written, s.valid);
}

#[test]
fn survives_injected_fetch_errors() {
    use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
    let s = setup(10_000, 2);
    let errors = [RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION; 6];
    s.broker.cluster().request_errors(RDKafkaApiKey::Fetch, &errors);
    let zone = s.dir.path().join("zone");
    // Errors delay fetches by their back-off: a longer idle time before draining stops.
    let r = run(&s.broker.bootstrap(), "g", &zone, 10_000);
    assert_eq!(r.written, s.valid);
    assert_eq!(check_log(&zone), (s.valid, s.invalid));
}

fn read_dead_letters(s: &Setup) -> Vec<BTreeMap<String, String>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", s.broker.bootstrap())
        .set("group.id", "dead-letter-reader")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[&format!("{TOPIC}.dead-letters")]).unwrap();
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while (out.len() as u64) < s.invalid && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let mut h = BTreeMap::new();
            if let Some(headers) = m.headers() {
                for header in headers.iter() {
                    let v = header
                        .value
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                        .unwrap_or_default();
                    h.insert(header.key.to_owned(), v);
                }
            }
            out.push(h);
        }
    }
    out
}

#[test]
fn a_broker_outage_delays_but_loses_and_duplicates_nothing() {
    let s = setup(20_000, 2);
    let zone = s.dir.path().join("zone");
    let bootstrap = s.broker.bootstrap();
    let r = std::thread::scope(|scope| {
        let w = scope.spawn(|| run(&bootstrap, "g", &zone, 12_000));
        std::thread::sleep(Duration::from_millis(3_600));
        s.broker.cluster().broker_down(1).unwrap();
        std::thread::sleep(Duration::from_secs(4));
        s.broker.cluster().broker_up(1).unwrap();
        w.join().unwrap()
    });
    assert_eq!(r.written, s.valid);
    assert_eq!(check_log(&zone), (s.valid, s.invalid));
}

#[test]
fn two_groups_two_studies_two_zones_unlinkable() {
    let s = setup(3_000, 2);
    let bootstrap = s.broker.bootstrap();
    let (a, b) = (s.dir.path().join("a"), s.dir.path().join("b"));
    run_study(&bootstrap, "study-a", &a, 2_500, "study-a", 2_000);
    run_study(&bootstrap, "study-b", &b, 2_500, "study-b", 2_000);
    assert_eq!(check_log(&a), check_log(&b));
    let (pa, pb) = (pseudonyms(&a), pseudonyms(&b));
    assert!(!pa.is_empty() && pa.len() == pb.len());
    assert!(pa.is_disjoint(&pb), "pseudonyms of two studies must not match");
}

fn pseudonyms(zone: &Path) -> std::collections::HashSet<String> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let mut out = std::collections::HashSet::new();
    for s in msma_sink::read_ledger(&msma_sink::Location::Local(zone.to_path_buf())).unwrap() {
        for f in s.record.files.iter().filter(|f| f.dataset == "patient_inclusion") {
            let file = std::fs::File::open(zone.join(&f.path)).unwrap();
            for batch in ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap() {
                let batch = batch.unwrap();
                let col = batch.column_by_name("patient_pseudonym").unwrap();
                let col = col.as_any().downcast_ref::<arrow_array::StringArray>().unwrap();
                out.extend(col.iter().flatten().map(str::to_owned));
            }
        }
    }
    out
}
