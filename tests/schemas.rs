//! The JSON Schemas under schemas/ are the contract; msma validates with compiled
//! checks for speed. These tests hold the two to the same verdict on every example and
//! on thousands of mutated events, using python-jsonschema as the reference validator.

use crate::util::{Site, msma, python, repo};
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn examples_pass_and_fail_as_filed_with_both_validators() {
    python("check_schemas.py", &[]);
    for (folder, valid) in [("valid", true), ("invalid", false)] {
        let dir = repo().join("schemas/examples").join(folder);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            // One line, byte for byte otherwise: JSON strings hold no raw newline, and a
            // round trip through a parser would hide duplicate keys.
            let line = std::fs::read_to_string(&path).unwrap().replace(['\n', '\r'], " ");
            let out = msma()
                .args(["validate", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    c.stdin.take().unwrap().write_all(format!("{line}\n").as_bytes())?;
                    c.wait_with_output()
                })
                .unwrap();
            assert_eq!(
                out.status.success(),
                valid,
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stdout)
            );
            n += 1;
        }
        assert!(n >= 8, "{folder}: only {n} examples");
    }
}

#[test]
fn compiled_checks_agree_with_json_schema_on_mutated_events() {
    let site = Site::new();
    let input = site.generate(3_000, 21, 0);
    let mutated = site.s("mutated.ndjson");
    let text = python("mutate.py", &[&input, "5"]);
    std::fs::write(&mutated, &text).unwrap();

    let ours = msma()
        .args(["validate", "--format", "verdicts", &mutated])
        .output()
        .unwrap();
    let reference = Command::new("python3")
        .arg(repo().join("tests/py/check_schemas.py"))
        .arg("--stdin")
        .stdin(std::fs::File::open(&mutated).unwrap())
        .output()
        .unwrap();
    let ours = String::from_utf8(ours.stdout).unwrap();
    let reference = String::from_utf8(reference.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (ours, reference): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), reference.lines().collect());
    assert_eq!(ours.len(), lines.len());
    assert_eq!(reference.len(), lines.len());
    let disagreements: Vec<String> = (0..lines.len())
        .filter(|&i| ours[i] != reference[i])
        .map(|i| format!("msma {} / jsonschema {}: {}", ours[i], reference[i], lines[i]))
        .collect();
    let invalid = ours.iter().filter(|v| **v == "invalid").count();
    assert!(invalid > lines.len() / 3, "the mutations should break most events");
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements[..disagreements.len().min(10)].join("\n")
    );
}
