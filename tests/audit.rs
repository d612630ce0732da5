//! Steward tools: tamper with a zone in each way and see `audit verify` fail naming the
//! culprit; plant identifiers of each kind and see `audit scan` find them all.

use crate::util::{Site, msma, ok, stdout};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn zone_with_two_commits(site: &Site) -> String {
    let input = site.generate(4_000, 31, 0);
    let mut args = site.ingest_args(&input, "research");
    args.extend(["--commit-lines".to_owned(), "2500".to_owned()]);
    ok(&args);
    site.s("research")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

fn verify(zone: &str, extra: &[&str]) -> (bool, String) {
    let out = msma()
        .args(["audit", "verify", "--data", zone])
        .args(extra)
        .output()
        .unwrap();
    (out.status.success(), stdout(&out))
}

fn a_data_file(zone: &Path) -> std::path::PathBuf {
    let rel = msma_audit_first_file(zone);
    zone.join(rel)
}

fn msma_audit_first_file(zone: &Path) -> String {
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(zone.join("_msma/log/00000000000000000001.json")).unwrap()).unwrap();
    record["files"][0]["path"].as_str().unwrap().to_owned()
}

#[test]
fn verify_names_every_kind_of_tampering() {
    let site = Site::new();
    let zone = zone_with_two_commits(&site);
    let (clean, text) = verify(&zone, &[]);
    assert!(clean, "{text}");
    assert!(text.contains("ok: 2 records"), "{text}");
    let head = text
        .lines()
        .find_map(|l| l.strip_prefix("head: "))
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();

    let log = |z: &Path, n: u64| z.join(format!("_msma/log/{n:020}.json"));
    type Tamper = fn(&Path);
    let cases: [(&str, Tamper, &str); 6] = [
        (
            "modified file",
            |z| {
                let f = a_data_file(z);
                let mut bytes = std::fs::read(&f).unwrap();
                bytes[100] ^= 1;
                std::fs::write(f, bytes).unwrap();
            },
            "was modified",
        ),
        (
            "missing file",
            |z| std::fs::remove_file(a_data_file(z)).unwrap(),
            "missing",
        ),
        (
            "unrecorded file",
            |z| {
                let f = a_data_file(z);
                std::fs::copy(&f, f.with_file_name("extra.parquet")).unwrap();
            },
            "in no record",
        ),
        (
            "edited record",
            |z| {
                let p = z.join("_msma/log/00000000000000000001.json");
                let text = std::fs::read_to_string(&p)
                    .unwrap()
                    .replacen("\"rejected\": 0", "\"rejected\": 1", 1);
                std::fs::write(p, text).unwrap();
            },
            "previous-record hash",
        ),
        (
            "removed record",
            |z| std::fs::remove_file(z.join("_msma/log/00000000000000000001.json")).unwrap(),
            "record",
        ),
        (
            "reordered records",
            |z| {
                let (a, b) = (
                    z.join("_msma/log/00000000000000000001.json"),
                    z.join("_msma/log/00000000000000000002.json"),
                );
                let tmp = z.join("_msma/log/tmp");
                std::fs::rename(&a, &tmp).unwrap();
                std::fs::rename(&b, &a).unwrap();
                std::fs::rename(&tmp, &b).unwrap();
            },
            "expected record 1",
        ),
    ];
    for (i, (what, tamper, says)) in cases.iter().enumerate() {
        let copy = site.path(&format!("copy{i}"));
        copy_dir(Path::new(&zone), &copy);
        tamper(&copy);
        let (passed, text) = verify(copy.to_str().unwrap(), &[]);
        assert!(!passed, "{what} went unnoticed");
        assert!(text.contains(says), "{what}: {text}");
    }

    // A removed last record (and its files) is caught against the head kept elsewhere.
    let copy = site.path("copy-head");
    copy_dir(Path::new(&zone), &copy);
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(log(&copy, 2)).unwrap()).unwrap();
    for f in record["files"].as_array().unwrap() {
        std::fs::remove_file(copy.join(f["path"].as_str().unwrap())).unwrap();
    }
    std::fs::remove_file(log(&copy, 2)).unwrap();
    assert!(
        verify(copy.to_str().unwrap(), &[]).0,
        "without the head, a clean truncation looks whole"
    );
    let (passed, text) = verify(copy.to_str().unwrap(), &["--expect-head", &head]);
    assert!(!passed && text.contains("not the expected"), "{text}");
}

#[test]
fn scan_finds_planted_identifiers_of_each_kind() {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    let site = Site::new();
    let zone = zone_with_two_commits(&site);
    assert!(
        msma()
            .args(["audit", "scan", "--data", &zone])
            .status()
            .unwrap()
            .success(),
        "a clean zone"
    );

    let n: u64 = 1850519006084;
    let corsican = format!("185052A006084{:02}", 97 - n % 97);
    let planted = [
        "185057800608491",
        corsican.as_str(),
        "1 85 05 78 006 084 91",
        "rappeler au 06 12 34 56 78",
        "+33612345678",
        "hortense.zorglub@example.fr",
        "10003456786", // valid Luhn key, as RPPS numbers have
        "P-SECRET-42",
    ];
    let values: ArrayRef = std::sync::Arc::new(StringArray::from(planted.to_vec()));
    let batch = RecordBatch::try_from_iter([("note", values)]).unwrap();
    let dir = Path::new(&zone).join("consultation/network_id=RMS-ALSACE/year=2021");
    std::fs::create_dir_all(&dir).unwrap();
    let file = std::fs::File::create(dir.join("planted.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let known = site.s("identified/known.txt");
    std::fs::write(&known, "P-SECRET-42\n").unwrap();

    let out = msma()
        .args(["audit", "scan", "--data", &zone, "--known", &known, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let kinds: Vec<(&str, u64)> = findings
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["row"].as_u64().unwrap()))
        .collect();
    let expected = [
        ("nir", 0),
        ("nir", 1),
        ("nir", 2),
        ("phone", 3),
        ("phone", 4),
        ("email", 5),
        ("rpps", 6),
        ("known_identifier", 7),
    ];
    assert_eq!(kinds, expected);
    assert!(
        findings
            .iter()
            .all(|f| f["column"] == "note" && f["dataset"] == "consultation")
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for value in planted {
        assert!(!text.contains(value), "the scan output repeats an identifier");
    }
    // And verify sees the planted file as unrecorded.
    assert!(!verify(&zone, &[]).0);
}

#[test]
fn risk_agrees_with_k_computed_by_hand() {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    let site = Site::new();
    let zone = site.path("small");
    let dir = zone.join("patient_inclusion/network_id=RMS-TEST/year=2024");
    std::fs::create_dir_all(&dir).unwrap();
    let col = |v: &[&str]| -> ArrayRef { std::sync::Arc::new(StringArray::from(v.to_vec())) };
    // Classes over (sex, age_band, departement): F/40-44/67 has 3 patients (p1 twice
    // counts once), M/40-44/67, M/45-49/67 and M/45-49/68 one each.
    let batch = RecordBatch::try_from_iter([
        ("patient_pseudonym", col(&["p1", "p1", "p2", "p3", "p4", "p5", "p6"])),
        ("sex", col(&["F", "F", "F", "F", "M", "M", "M"])),
        (
            "age_band",
            col(&["40-44", "40-44", "40-44", "40-44", "40-44", "45-49", "45-49"]),
        ),
        ("departement", col(&["67", "67", "67", "67", "67", "67", "68"])),
        (
            "housing",
            col(&[
                "durable",
                "durable",
                "durable",
                "homeless",
                "durable",
                "durable",
                "precarious",
            ]),
        ),
    ])
    .unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(dir.join("a.parquet")).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let z = zone.to_str().unwrap();
    let args = [
        "audit",
        "risk",
        "--data",
        z,
        "--dataset",
        "patient_inclusion",
        "--k",
        "2",
    ];
    let out = msma()
        .args(args)
        .args([
            "--quasi",
            "sex,age_band,departement",
            "--sensitive",
            "housing",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "k = 2 is not reached");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["patients"], 6);
    assert_eq!(r["classes"], 4);
    assert_eq!(r["smallest_class"], 1);
    assert_eq!(r["classes_below_k"], 3);
    assert_eq!(r["patients_in_classes_below_k"], 3);
    assert_eq!(r["l_diversity"]["housing"], 1);
    let reach: Vec<&str> = r["generalisations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["reaches_k"] == true)
        .map(|g| g["change"].as_str().unwrap())
        .collect();
    // Wider bands alone: M/40-49/67 has 2 but M/40-49/68 has 1; région alone: M/40-44 has 1;
    // both: F/40-49 has 3 and M/40-49 has 3.
    assert_eq!(
        reach,
        ["age bands of 10 years + age bands of 20 years + département → region"]
    );
    let text = stdout(&msma().args(args).output().unwrap());
    assert!(text.contains("k = 2 NOT reached"), "{text}");
}

#[test]
fn pseudonymise_answers_a_recorded_request_with_the_dataset_pseudonym() {
    let site = Site::new();
    let key = site.path("custodian/vectors.key");
    let hex: String = (0u8..32).map(|b| format!("{b:02x}")).collect();
    std::fs::write(&key, format!("{hex}\n")).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let key = key.to_str().unwrap();
    let ask = |reason: &str| {
        msma()
            .args([
                "pseudonymise",
                "--keys",
                key,
                "--study",
                "cnrms-femmes-2021",
                "--network",
                "RMS-ALSACE",
            ])
            .args(["--local-id", " P-000123\t", "--reason", reason])
            .output()
            .unwrap()
    };
    let out = ask("requisition judiciaire n° 2026/1234");
    assert!(out.status.success());
    // The test vector of docs/PSEUDONYMISATION.md.
    assert_eq!(
        stdout(&out).trim(),
        "165414417fbfe331f58f39980f7d697c2c6db513d89465f1463de2796e73ad34"
    );
    assert!(!ask("why not").status.success(), "a request needs a stated legal basis");
    assert!(ask("CNIL decision 2026-042, art. 5").status.success());

    let register = format!("{key}.requests.ndjson");
    let text = std::fs::read_to_string(&register).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(!text.contains("P-000123"), "the register never holds the identifier");
    assert!(text.contains("requisition judiciaire") && text.contains("630dcd2966c43366"));
    assert!(ok(&["audit", "requests", "--keys", key]).status.success());
    std::fs::write(&register, text.replacen("2026/1234", "2026/9999", 1)).unwrap();
    let out = msma()
        .args(["audit", "requests", "--keys", key, "--register", &register])
        .output()
        .unwrap();
    assert!(!out.status.success(), "an edited request breaks the chain");
}

fn patient_pseudonyms(zone: &Path) -> std::collections::BTreeSet<String> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let mut out = std::collections::BTreeSet::new();
    let mut stack = vec![zone.join("patient_inclusion")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&p).unwrap()).unwrap();
            for batch in reader.build().unwrap() {
                let batch = batch.unwrap();
                let col = batch.column_by_name("patient_pseudonym").unwrap();
                let col = col.as_any().downcast_ref::<arrow_array::StringArray>().unwrap();
                out.extend(col.iter().flatten().map(str::to_owned));
            }
        }
    }
    out
}

#[test]
fn keys_rotate_rewrites_the_zone_and_keeps_the_crosswalk_with_the_custodian() {
    let site = Site::new();
    let input = site.generate(3_000, 41, 2_000);
    ok(&site.ingest_args(&input, "research"));
    let new_key = site.s("custodian/new.key");
    ok(&["keys", "init", "--out", &new_key]);
    let rotate = |crosswalk: &str, out: &str| {
        msma()
            .args([
                "keys",
                "rotate",
                "--keys",
                &site.key(),
                "--new-keys",
                &new_key,
                "--study",
                "test-study",
            ])
            .args(["--data", &site.s("research"), "--input", &input, "--out", &site.s(out)])
            .args([
                "--crosswalk",
                crosswalk,
                "--dead-letter",
                &site.s("identified/rotate-dead.ndjson"),
            ])
            .output()
            .unwrap()
    };
    let inside = rotate(&site.s("research/crosswalk.csv"), "v2-refused");
    assert!(
        !inside.status.success(),
        "a crosswalk inside a research zone is refused"
    );

    let crosswalk = site.s("custodian/crosswalk.csv");
    let out = rotate(&crosswalk, "research-v2");
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    assert_eq!(
        std::fs::metadata(&crosswalk).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let (old_zone, new_zone) = (site.path("research"), site.path("research-v2"));
    let (old, new) = (patient_pseudonyms(&old_zone), patient_pseudonyms(&new_zone));
    assert_eq!(old.len(), new.len());
    assert!(old.is_disjoint(&new), "new pseudonyms under the new key");
    let pairs: Vec<(String, String)> = std::fs::read_to_string(&crosswalk)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("patient,"))
        .map(|l| {
            let mut parts = l.split(',').skip(1);
            (parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned())
        })
        .collect();
    let mapped: std::collections::BTreeSet<String> = pairs
        .iter()
        .filter(|(o, _)| old.contains(o))
        .map(|(_, n)| n.clone())
        .collect();
    assert_eq!(
        mapped, new,
        "the crosswalk takes every old patient pseudonym to its new one"
    );

    let (passed, text) = verify(new_zone.to_str().unwrap(), &[]);
    assert!(passed, "{text}");
    let last: serde_json::Value =
        serde_json::from_slice(&std::fs::read(new_zone.join("_msma/log/00000000000000000002.json")).unwrap()).unwrap();
    assert_eq!(last["source"]["kind"], "rotation");
    assert_eq!(last["source"]["previous_key_id"].as_str().unwrap().len(), 16);
    let csv = std::fs::read_to_string(&crosswalk).unwrap();
    let scan = msma()
        .args(["audit", "scan", "--data", new_zone.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(scan.status.success(), "no identifier in the new zone");
    for zone in [&old_zone, &new_zone] {
        assert!(
            !crate::util::zone_contains(zone, csv.lines().nth(1).unwrap()),
            "crosswalk copied into a zone"
        );
    }
}
