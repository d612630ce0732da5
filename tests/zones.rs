//! The three zones kept apart, attacked with planted paths: dead letters linked into the
//! research zone, a key file or a symlinked partition folder planted in it, a ledger
//! path escaping it, and zones nested in one another. Each must be refused by ingest,
//! and the planted zone must fail `audit verify`.

use crate::util::{Site, msma, ok, stderr, stdout};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Output;

fn run(args: &[String]) -> Output {
    msma().args(args).output().unwrap()
}

fn verify(zone: &str) -> (bool, String) {
    let out = msma().args(["audit", "verify", "--data", zone]).output().unwrap();
    (out.status.success(), stdout(&out))
}

/// Replaces the value following `flag` in `args`.
fn set(args: &mut [String], flag: &str, value: &str) {
    let i = args.iter().position(|a| a == flag).unwrap();
    args[i + 1] = value.to_owned();
}

/// Partition folders (`<dataset>/<key=value>/<key=value>`) of a zone, relative.
fn partitions(zone: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![zone.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() && p.file_name().unwrap() != "_msma" {
                stack.push(p);
            } else if meta.is_file() && p.extension().is_some_and(|x| x == "parquet") {
                let rel = dir.strip_prefix(zone).unwrap().to_owned();
                if !out.contains(&rel) {
                    out.push(rel);
                }
            }
        }
    }
    out.sort();
    out
}

fn files_under(dir: &Path) -> usize {
    if !dir.is_dir() {
        return 0;
    }
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() { files_under(&p) } else { 1 }
        })
        .sum()
}

/// The input holds invalid events, so that ingest writes dead letters.
fn site_with_rejects() -> (Site, String) {
    let site = Site::new();
    let input = site.generate(2_000, 7, 20_000);
    (site, input)
}

#[test]
fn a_dead_letter_file_linked_into_the_zone_is_refused() {
    let (site, input) = site_with_rejects();
    ok(&site.ingest_args(&input, "research"));
    let dead = site.s("identified/dead.ndjson");
    let planted = site.path("research/notes.ndjson");
    let mut leaked = Vec::new();
    for how in ["symlink", "hard link"] {
        std::fs::write(&planted, "").unwrap();
        std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o600)).unwrap();
        let _ = std::fs::remove_file(&dead);
        if how == "symlink" {
            symlink(&planted, &dead).unwrap();
        } else {
            std::fs::hard_link(&planted, &dead).unwrap();
        }
        let mut args = site.ingest_args(&input, "research2");
        set(&mut args, "--out", &site.s("research"));
        set(&mut args, "--dead-letter", &dead);
        // A new input, so that its lines are not already committed.
        let more = site.s("identified/more.ndjson");
        ok(&[
            "generate",
            "--events",
            "500",
            "--seed",
            "8",
            "--invalid-per-million",
            "50000",
            "--out",
            &more,
        ]);
        set(&mut args, "--input", &more);
        let out = run(&args);
        let bytes = std::fs::metadata(&planted).unwrap().len();
        leaked.push(format!(
            "{how}: exit {:?}, {bytes} bytes of dead letters in the zone",
            out.status.code()
        ));
        assert!(!out.status.success() && bytes == 0, "{leaked:?}\n{}", stderr(&out));
        assert!(stderr(&out).contains("dead-letter"), "{}", stderr(&out));
        std::fs::remove_file(&planted).unwrap();
    }
    eprintln!("{leaked:?}");
}

#[test]
fn a_key_file_planted_in_the_zone_is_refused_and_fails_verify() {
    let site = Site::new();
    let input = site.generate(500, 9, 0);
    ok(&site.ingest_args(&input, "research"));
    let key = std::fs::read(site.key()).unwrap();
    let planted = site.path("research/_msma/backup.key");
    std::fs::write(&planted, &key).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (clean, text) = verify(&site.s("research"));
    assert!(!clean, "verify passed a zone holding a master key: {text}");
    assert!(text.contains("master key"), "{text}");
    assert!(!text.contains(std::str::from_utf8(&key).unwrap().trim()), "{text}");
    let more = site.s("identified/more.ndjson");
    ok(&["generate", "--events", "300", "--seed", "10", "--out", &more]);
    let out = run(&site.ingest_args(&more, "research"));
    assert!(!out.status.success(), "ingest wrote into a zone holding a master key");
    assert!(stderr(&out).contains("master key"), "{}", stderr(&out));
}

#[test]
fn a_symlinked_partition_folder_is_refused_and_fails_verify() {
    let site = Site::new();
    let input = site.generate(1_000, 11, 0);
    // Learn the partitions this input makes, then plant them as links to a folder
    // outside every zone.
    ok(&site.ingest_args(&input, "scratch"));
    let parts = partitions(&site.path("scratch"));
    assert!(!parts.is_empty());
    let outside = site.path("outside");
    for rel in &parts {
        let target = outside.join(rel);
        std::fs::create_dir_all(&target).unwrap();
        let link = site.path("research").join(rel);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        symlink(&target, &link).unwrap();
    }
    let out = run(&site.ingest_args(&input, "research"));
    let escaped = files_under(&outside);
    eprintln!("files written outside the zone through planted links: {escaped}");
    assert!(
        !out.status.success() && escaped == 0,
        "{escaped} files written outside the zone"
    );
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));

    // A zone whose partition folder is moved out and linked back.
    let moved = site.path("moved");
    let rel = &parts[0];
    std::fs::rename(site.path("scratch").join(rel), &moved).unwrap();
    symlink(&moved, site.path("scratch").join(rel)).unwrap();
    let (clean, text) = verify(&site.s("scratch"));
    assert!(!clean, "verify passed a zone with a symlinked partition: {text}");
    assert!(text.contains("symbolic link"), "{text}");
}

#[test]
fn a_ledger_path_out_of_the_zone_fails_verify_and_ingest() {
    let site = Site::new();
    let input = site.generate(500, 12, 0);
    ok(&site.ingest_args(&input, "research"));
    let zone = site.path("research");
    let record_path = zone.join("_msma/log/00000000000000000001.json");
    let original = std::fs::read_to_string(&record_path).unwrap();
    let record: serde_json::Value = serde_json::from_str(&original).unwrap();
    let rel = record["files"][0]["path"].as_str().unwrap().to_owned();
    let escaped = site.path("escaped.parquet");
    std::fs::copy(zone.join(&rel), &escaped).unwrap();
    std::fs::remove_file(zone.join(&rel)).unwrap();
    for forged in ["../escaped.parquet".to_owned(), escaped.display().to_string()] {
        // The only record is the last one: no later record carries its hash.
        std::fs::write(&record_path, original.replace(&rel, &forged)).unwrap();
        let (clean, text) = verify(&site.s("research"));
        assert!(!clean, "verify hashed {forged} outside the zone and passed: {text}");
        assert!(text.contains("path"), "{text}");
        let more = site.s("identified/more.ndjson");
        ok(&["generate", "--events", "100", "--seed", "13", "--out", &more]);
        let out = run(&site.ingest_args(&more, "research"));
        assert!(!out.status.success(), "ingest read a ledger path out of the zone");
    }
}

#[test]
fn zones_may_not_nest() {
    let site = Site::new();
    let input = site.generate(200, 14, 0);
    let key = site.key();
    let attempt = |out: &str, input: &str, dead: &str, keys: &str| {
        let mut args = site.ingest_args(input, "research");
        set(&mut args, "--out", &site.s(out));
        set(&mut args, "--dead-letter", &site.s(dead));
        set(&mut args, "--keys", keys);
        run(&args)
    };
    let dead = "identified/dead.ndjson";
    let mut accepted = Vec::new();
    // A research zone in the custodian folder, inside it, or inside the identified one.
    for out in ["custodian", "custodian/research", "identified", "identified/research"] {
        let r = attempt(out, &input, dead, &key);
        if r.status.success() {
            accepted.push(out.to_owned());
        } else {
            assert!(stderr(&r).contains("zone"), "{out}: {}", stderr(&r));
        }
    }
    // The converse: the input, the dead letters or the key inside the research zone.
    std::fs::create_dir_all(site.path("research")).unwrap();
    let inner_input = site.s("research/events.ndjson");
    std::fs::copy(&input, &inner_input).unwrap();
    let inner_key = site.s("research/master.key");
    std::fs::copy(&key, &inner_key).unwrap();
    std::fs::set_permissions(&inner_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    for (what, input, dead, keys) in [
        ("input in the zone", inner_input.as_str(), dead, key.as_str()),
        (
            "dead letters in the zone",
            input.as_str(),
            "research/dead.ndjson",
            key.as_str(),
        ),
        ("key in the zone", input.as_str(), dead, inner_key.as_str()),
    ] {
        if attempt("research", input, dead, keys).status.success() {
            accepted.push(what.to_owned());
        }
    }
    // The Kafka worker and keys rotate follow the same rule.
    let worker = msma()
        .args(["ingest", "--brokers", "127.0.0.1:1", "--topic", "t", "--group", "g"])
        .args(["--out", &site.s("custodian"), "--keys", &key, "--study", "s"])
        .args(["--stop-when-idle-ms", "500"])
        .output()
        .unwrap();
    if worker.status.success() {
        accepted.push("worker into custodian".to_owned());
    }
    ok(&site.ingest_args(&input, "good"));
    let new_key = site.s("custodian/new.key");
    ok(&["keys", "init", "--out", &new_key]);
    let rotate = msma()
        .args([
            "keys",
            "rotate",
            "--keys",
            &key,
            "--new-keys",
            &new_key,
            "--study",
            "test-study",
        ])
        .args([
            "--data",
            &site.s("good"),
            "--input",
            &input,
            "--out",
            &site.s("custodian/v2"),
        ])
        .args(["--crosswalk", &site.s("custodian/crosswalk.csv")])
        .args(["--dead-letter", &site.s("identified/rotate-dead.ndjson")])
        .output()
        .unwrap();
    if rotate.status.success() {
        accepted.push("rotation into custodian".to_owned());
    }
    eprintln!("nested zones accepted: {accepted:?}");
    assert!(accepted.is_empty(), "nested zones accepted: {accepted:?}");
}
