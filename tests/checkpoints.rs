//! Ledger checkpoints and vacuum: a zone opens from its last checkpoint (readers skip the
//! records before it, and a damaged checkpoint), `audit verify` still checks every
//! record and each checkpoint, in a folder and in an object store; `msma vacuum` deletes
//! retired files by age, and `--as-of` reads them until then.

use crate::store::{BUCKET, S3};
use crate::util::{Site, msma, ok, stderr, stdout};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

const COUNT: &str = "SELECT count(*) AS n FROM substance_assessment";

/// 40 events in 10 commits, a checkpoint every 3 records: checkpoints 3, 6 and 9. No
/// compaction: the tests retire a file themselves, as one would.
const TRICKLE: [&str; 6] = [
    "--commit-lines",
    "4",
    "--checkpoint-every",
    "3",
    "--compact-min-files",
    "0",
];

fn zone(site: &Site) -> String {
    let input = site.generate(40, 7, 0);
    let mut args = site.ingest_args(&input, "research");
    args.extend(TRICKLE.map(String::from));
    ok(&args);
    site.s("research")
}

fn count(zone: &str, as_of: Option<&str>) -> String {
    let mut args = vec!["query", COUNT, "--data", zone, "--format", "csv"];
    args.extend(as_of.iter().flat_map(|seq| ["--as-of", seq]));
    stdout(&ok(&args))
}

fn meta(zone: &str, rel: &str) -> PathBuf {
    PathBuf::from(zone).join("_msma").join(rel)
}

fn checkpoint(seq: u64) -> String {
    format!("checkpoints/{seq:020}.json")
}

/// What `audit verify` says of a zone that must fail it.
fn verify_fails(zone: &str) -> String {
    let out = msma().args(["audit", "verify", "--data", zone]).output().unwrap();
    assert!(!out.status.success(), "{}", stdout(&out));
    stdout(&out)
}

#[test]
fn readers_open_a_zone_from_its_last_checkpoint_and_verify_still_reads_every_record() {
    let site = Site::new();
    let zone = zone(&site);
    for seq in [3, 6, 9] {
        assert!(meta(&zone, &checkpoint(seq)).is_file(), "checkpoint {seq}");
    }
    let verified = stdout(&ok(&["audit", "verify", "--data", &zone]));
    assert!(verified.contains("checkpoints: 3 checked"), "{verified}");
    let (all, as_of_7) = (count(&zone, None), count(&zone, Some("7")));
    // Records before the last checkpoint are no longer read to open the zone.
    std::fs::write(meta(&zone, "log/00000000000000000001.json"), "not a record").unwrap();
    assert_eq!(count(&zone, None), all);
    assert_eq!(count(&zone, Some("7")), as_of_7, "from checkpoint 6");
    let out = msma()
        .args(["query", COUNT, "--data", &zone, "--as-of", "2"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "no checkpoint before record 2: record 1 is read");
    let e = verify_fails(&zone);
    assert!(e.contains("00000000000000000001.json: not a commit record"), "{e}");
}

#[test]
fn a_damaged_checkpoint_is_skipped_by_readers_and_an_edited_one_caught_by_verify() {
    let site = Site::new();
    let zone = zone(&site);
    let all = count(&zone, None);
    let path = meta(&zone, &checkpoint(9));
    let text = std::fs::read_to_string(&path).unwrap();
    // A file's size changed: a reader that took this state would refuse the file.
    let at = text.find("\"bytes\":").unwrap() + "\"bytes\":".len();
    let damaged = format!("{}1{}", &text[..at], &text[at..]);
    std::fs::write(&path, &damaged).unwrap();
    let out = msma()
        .args(["query", COUNT, "--data", &zone, "--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), all, "{}", stderr(&out));
    assert!(stderr(&out).contains("checkpoint skipped"), "{}", stderr(&out));
    let e = verify_fails(&zone);
    assert!(e.contains("checkpoint 00000000000000000009.json: state_sha256"), "{e}");

    // Edited with its digest made again: only the records can tell.
    let state_at = text.find("\"state\":").unwrap() + "\"state\":".len();
    let state = text[state_at..].trim_end().strip_suffix('}').unwrap();
    let edited = state.replace("\"legacy_sources\":false", "\"legacy_sources\":true");
    let [old, new] = [state, &edited].map(|s| hex::encode(Sha256::digest(s.as_bytes())));
    std::fs::write(&path, text.replace(state, &edited).replace(&old, &new)).unwrap();
    let e = verify_fails(&zone);
    assert!(
        e.contains(
            "checkpoint 00000000000000000009.json: its legacy_sources differ from what records 1 to 9 add up to"
        ),
        "{e}"
    );
}

#[test]
fn a_zone_in_a_store_opens_with_a_bounded_number_of_reads_and_vacuums_by_last_modified() {
    let site = Site::new();
    let s3 = S3::start();
    let zone = format!("s3://{BUCKET}/ckpt");
    let input = site.generate(40, 7, 0);
    let mut args = site.ingest_args(&input, "research");
    let out = args.iter().position(|a| a == "--out").unwrap() + 1;
    args[out] = zone.clone();
    args.extend(TRICKLE.map(String::from));
    s3.ok(&args);
    let before = s3.requests().len();
    s3.ok(&["query", COUNT, "--data", &zone].map(String::from));
    let requests = &s3.requests()[before..];
    let gets = |dir: &str| {
        (requests.iter())
            .filter(|l| l.contains("\"GET /research/ckpt/_msma/") && l.contains(&format!("/{dir}/0")))
            .count()
    };
    // The last checkpoint, record 9 to check it against, record 10: not ten records.
    assert_eq!((gets("checkpoints"), gets("log")), (1, 2), "{requests:#?}");
    let verified = s3.ok(&["audit", "verify", "--data", &zone].map(String::from));
    assert!(verified.contains("checkpoints: 3 checked"), "{verified}");

    // Vacuum, by the objects' last-modified time.
    let query_as_of_1 = ["query", COUNT, "--data", &zone, "--format", "csv", "--as-of", "1"].map(String::from);
    let as_of_1 = s3.ok(&query_as_of_1);
    let mirror = s3.mirror(&site, "ckpt");
    let rel = substance_files(&mirror).remove(0);
    crate::util::python("s3.py", &["retire", &s3.endpoint, BUCKET, "ckpt", &rel]);
    assert_eq!(s3.ok(&query_as_of_1), as_of_1, "read from _msma/retired/");
    let vacuum = |days: &str| s3.ok(&["vacuum", "--data", &zone, "--keep-days", days].map(String::from));
    assert!(vacuum("1").contains("deleted 0 retired files"), "retired just now");
    assert!(vacuum("0").contains("deleted 1 retired files"));
    let out = s3.msma().args(query_as_of_1).output().unwrap();
    assert!(
        stderr(&out).contains("the files of record 1 were vacuumed"),
        "{}",
        stderr(&out)
    );
}

/// The substance_assessment files of record 1 of the zone at `zone`.
fn substance_files(zone: &str) -> Vec<String> {
    let text = std::fs::read_to_string(meta(zone, "log/00000000000000000001.json")).unwrap();
    let record: serde_json::Value = serde_json::from_str(&text).unwrap();
    (record["files"].as_array().unwrap().iter())
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .filter(|p| p.starts_with("substance_assessment/"))
        .collect()
}

#[test]
fn vacuum_deletes_retired_files_by_age_and_as_of_reads_them_until_then() {
    let site = Site::new();
    let zone = zone(&site);
    let as_of_1 = count(&zone, Some("1"));
    // As compaction retires a file: moved under _msma/retired/, dated then.
    let retire = |rel: &str, days: u64| {
        let to = meta(&zone, &format!("retired/{rel}"));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::rename(PathBuf::from(&zone).join(rel), &to).unwrap();
        let then = std::time::SystemTime::now() - std::time::Duration::from_secs(days * 86_400);
        std::fs::File::options()
            .write(true)
            .open(&to)
            .unwrap()
            .set_modified(then)
            .unwrap();
        to
    };
    let files = substance_files(&zone);
    let old = retire(&files[0], 40);
    assert_eq!(count(&zone, Some("1")), as_of_1, "read from _msma/retired/");

    for (keep, why) in [
        (None, "--keep-days is required"),
        (Some("-1"), "--keep-days must be 0 or more"),
    ] {
        let mut args = vec!["vacuum", "--data", &zone];
        args.extend(keep.iter().flat_map(|k| ["--keep-days", k]));
        let out = msma().args(&args).output().unwrap();
        assert!(!out.status.success() && stderr(&out).contains(why), "{}", stderr(&out));
    }
    let dry = stdout(&ok(&["vacuum", "--data", &zone, "--keep-days", "30", "--dry-run"]));
    assert!(dry.contains("would delete 1 retired files"), "{dry}");
    assert!(old.is_file(), "a dry run deletes nothing");

    let recent = files.get(1).map(|rel| retire(rel, 1));
    let bytes = std::fs::metadata(&old).unwrap().len();
    let done = stdout(&ok(&["vacuum", "--data", &zone, "--keep-days", "30"]));
    assert!(
        done.contains(&format!("deleted 1 retired files ({bytes} bytes)")),
        "{done}"
    );
    assert!(!old.exists());
    assert!(recent.is_none_or(|r| r.is_file()), "younger than 30 days: kept");

    let out = msma()
        .args(["query", COUNT, "--data", &zone, "--as-of", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the files of record 1 were vacuumed"),
        "{}",
        stderr(&out)
    );
}
