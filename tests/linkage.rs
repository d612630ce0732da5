//! Linkage through structure rather than values: two studies made from one input, and a
//! zone and its rotation, must not be linkable by file names, row order, file pairing or
//! ledger values, and nothing may date events more finely than the study publishes them.

use crate::util::{Site, msma, ok, python, zone_contains};
use msma_pseudo::{MasterKey, Pseudonymiser, StudyId};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// An identified export whose name, as networks name them, holds a name and a NIR.
const EXPORT: &str = "identified/export_SANTONI_Jean_176051330326187.ndjson";

fn export(site: &Site, events: u64, seed: u64) -> String {
    let generated = site.generate(events, seed, 0);
    std::fs::rename(&generated, site.path(EXPORT)).unwrap();
    site.s(EXPORT)
}

fn ingest(site: &Site, input: &str, zone: &str, study: &str) {
    let mut args = site.ingest_args(input, zone);
    let at = args.iter().position(|a| a == "--study").unwrap();
    args[at + 1] = study.to_owned();
    ok(&args);
}

/// Each patient's pseudonym in study `a` → theirs in study `b`, under keys `ka`, `kb`.
fn truth(input: &str, (ka, a): (&str, &str), (kb, b): (&str, &str)) -> HashMap<String, String> {
    let pseudo = |key: &str, study: &str| {
        let key = MasterKey::load(Path::new(key)).unwrap();
        Pseudonymiser::new(&key.study_key(&StudyId::new(study).unwrap()))
    };
    let (pa, pb) = (pseudo(ka, a), pseudo(kb, b));
    let text = std::fs::read_to_string(input).unwrap();
    text.lines()
        .filter_map(|l| msma_schema::decode(l.as_bytes()).ok())
        .map(|ev| {
            let (n, l) = (&ev.network_id, &ev.patient.local_id);
            (pa.patient(n, l).to_string(), pb.patient(n, l).to_string())
        })
        .collect()
}

/// What the pairing attack of tests/py/link.py achieves.
struct Pairing {
    shared_file_names: u64,
    files: usize,
    unsorted_files: usize,
    /// Rows paired in files of 20 rows or more, and how many of them rightly.
    rows: usize,
    right: usize,
    /// Patients of the first zone whose most frequent partner is their own pseudonym in
    /// the second (a patient alone in a small partition is linked by the values anyway).
    linked: usize,
    patients: usize,
}

impl Pairing {
    /// Rows paired rightly no more often than chance (about one in the patients of a
    /// file: 1-1.5% seen with random keys; arrival order paired 100%), over at least
    /// `rows` rows of large files.
    fn no_better_than_chance(&self, rows: usize) {
        eprintln!(
            "row pairing: {} of {} rows paired rightly; {} of {} patients linked",
            self.right, self.rows, self.linked, self.patients
        );
        assert!(self.rows > rows, "{} rows in large files", self.rows);
        assert!(
            self.right * 33 <= self.rows,
            "paired {} of {} rows rightly",
            self.right,
            self.rows
        );
    }
}

fn pair(a: &Path, b: &Path, truth: &HashMap<String, String>) -> Pairing {
    let out = python("link.py", &[a.to_str().unwrap(), b.to_str().unwrap()]);
    let (mut files, mut unsorted, mut rows, mut right, mut shared) = (0, 0, 0, 0, 0);
    let mut partners: HashMap<String, HashMap<String, u64>> = HashMap::new();
    let mut large = false;
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(n) = v.get("shared_file_names") {
            shared = n.as_u64().unwrap();
        } else if let Some(sorted) = v.get("sorted") {
            files += 1;
            unsorted += usize::from(!sorted.as_bool().unwrap());
            large = v["rows"].as_u64().unwrap() >= 20;
        } else {
            let (x, y) = (v[1].as_str().unwrap(), v[2].as_str().unwrap());
            let is_right = truth.get(x).is_some_and(|t| t == y);
            if large {
                rows += 1;
                right += usize::from(is_right);
            }
            *partners
                .entry(x.to_owned())
                .or_default()
                .entry(y.to_owned())
                .or_default() += 1;
        }
    }
    let linked = (partners.iter())
        .filter(|(x, ys)| ys.iter().max_by_key(|(_, n)| **n).map(|(y, _)| y) == truth.get(*x))
        .count();
    Pairing {
        shared_file_names: shared,
        files,
        unsorted_files: unsorted,
        rows,
        right,
        linked,
        patients: partners.len(),
    }
}

/// The ledger's digests and file paths (values that differ by construction between
/// unrelated zones).
fn ledger_digests(zone: &Path) -> HashSet<String> {
    let mut out = HashSet::new();
    for e in std::fs::read_dir(zone.join("_msma/log")).unwrap() {
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
        for f in r["files"].as_array().unwrap() {
            out.insert(f["sha256"].as_str().unwrap().to_owned());
            out.insert(f["path"].as_str().unwrap().to_owned());
        }
        for (k, v) in r["source"].as_object().unwrap() {
            if k.contains("sha256") {
                out.insert(v.as_str().unwrap().to_owned());
            }
        }
    }
    out
}

fn committed_at(zone: &Path) -> Vec<String> {
    (std::fs::read_dir(zone.join("_msma/log")).unwrap())
        .map(|e| {
            let r: serde_json::Value = serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
            r["committed_at"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn two_studies_made_from_one_input_cannot_be_linked_by_their_structure() {
    let site = Site::new();
    let input = export(&site, 20_000, 5);
    for study in ["s1", "s2"] {
        ingest(&site, &input, study, study);
    }
    let (s1, s2) = (site.path("s1"), site.path("s2"));
    let key = site.key();
    let p = pair(&s1, &s2, &truth(&input, (&key, "s1"), (&key, "s2")));
    assert!(
        p.patients > 1_000 && p.files > 40,
        "{} patients, {} files",
        p.patients,
        p.files
    );
    assert_eq!(p.shared_file_names, 0, "file names differ between studies");
    assert_eq!(
        p.unsorted_files, 0,
        "rows are in an order that depends on the rows alone"
    );
    p.no_better_than_chance(15_000);

    let shared: Vec<_> = ledger_digests(&s1)
        .intersection(&ledger_digests(&s2))
        .cloned()
        .collect();
    assert!(shared.is_empty(), "ledger values in both zones: {shared:?}");
    for zone in [&s1, &s2] {
        for needle in ["SANTONI", "176051330326187", "export_", "identified"] {
            assert!(
                !zone_contains(zone, needle),
                "the input's name is not in {}",
                zone.display()
            );
        }
        let today = chrono::Utc::now().format("%Y-%m-01T00:00:00Z").to_string();
        assert!(
            committed_at(zone).iter().all(|t| *t == today),
            "commit times are the month: {:?}",
            committed_at(zone)
        );
    }
    // Still exactly once: a rerun finds every segment by its keyed digest.
    let records = committed_at(&s1).len();
    ingest(&site, &input, "s1", "s1");
    assert_eq!(committed_at(&s1).len(), records, "a rerun commits nothing");
}

#[test]
fn a_zone_cannot_be_linked_to_its_rotation_by_row_order() {
    let site = Site::new();
    let input = export(&site, 8_000, 9);
    ingest(&site, &input, "research", "test-study");
    let new_key = site.s("custodian/new.key");
    ok(&["keys", "init", "--out", &new_key]);
    let crosswalk = site.s("custodian/crosswalk.csv");
    let rotate = msma()
        .args(["keys", "rotate", "--keys", &site.key(), "--new-keys", &new_key])
        .args([
            "--study",
            "test-study",
            "--data",
            &site.s("research"),
            "--input",
            &input,
        ])
        .args(["--out", &site.s("research-v2"), "--crosswalk", &crosswalk])
        .args(["--dead-letter", &site.s("identified/rotate-dead.ndjson")])
        .output()
        .unwrap();
    assert!(rotate.status.success(), "{}", crate::util::stderr(&rotate));
    let truth = truth(&input, (&site.key(), "test-study"), (&new_key, "test-study"));
    let p = pair(&site.path("research"), &site.path("research-v2"), &truth);
    assert!(p.patients > 1_000, "{} patients", p.patients);
    assert_eq!(p.shared_file_names, 0);
    p.no_better_than_chance(5_000);
}

#[test]
fn a_kafka_zone_names_no_topic_or_partition_and_mixes_partitions_in_row_order() {
    let site = Site::new();
    let broker = crate::kafka::Broker::start();
    let _input = broker.load(&site, 6_000, 13);
    let mut args = crate::kafka::worker_args(&site, &broker.1, &site.s("kafka"));
    args.extend(["--stop-when-idle-ms".into(), "3000".into()]);
    ok(&args);
    let zone = site.path("kafka");
    let names: Vec<String> = ledger_digests(&zone)
        .into_iter()
        .filter(|v| v.ends_with(".parquet"))
        .map(|p| p.rsplit('/').next().unwrap().to_owned())
        .collect();
    assert!(names.len() > 10, "{names:?}");
    for name in &names {
        let digest = (name.strip_prefix("part-v"))
            .and_then(|n| n.strip_suffix(".parquet"))
            .and_then(|n| n.split_once('-'));
        assert!(
            digest.is_some_and(|(v, d)| {
                v.parse::<u16>().is_ok() && d.len() == 32 && d.bytes().all(|b| b.is_ascii_hexdigit())
            }),
            "a file name is a digest, not the topic, partition and offsets: {name}"
        );
    }
    // Paired with itself, the zone's files show their row order.
    let p = pair(&zone, &zone, &HashMap::new());
    assert!(p.files > 10);
    assert_eq!(
        p.unsorted_files, 0,
        "rows of several partitions in one order, not in blocks"
    );
}
