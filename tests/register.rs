//! The register of re-identification requests, attacked: lines dropped, edited and
//! re-chained, the register removed, opened to others or bypassed with `--register`,
//! and the local id read from the process list.

use crate::util::{Site, msma, ok, stderr, stdout};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Output, Stdio};

/// A site with its key and `n` recorded requests; the key and the register's paths.
fn with_requests(site: &Site, n: usize) -> (String, String) {
    let key = site.key();
    for i in 0..n {
        ok(&pseudonymise(
            &key,
            &format!("P-{i:06}"),
            &format!("requisition n° 2026/{i:04}"),
            None,
        ));
    }
    (key.clone(), format!("{key}.requests.ndjson"))
}

fn pseudonymise(key: &str, local_id: &str, reason: &str, register: Option<&str>) -> Vec<String> {
    let mut args = [
        "pseudonymise",
        "--keys",
        key,
        "--study",
        "s1",
        "--network",
        "RMS-ALSACE",
    ]
    .map(String::from)
    .to_vec();
    args.extend(["--local-id", local_id, "--reason", reason].map(String::from));
    if let Some(r) = register {
        args.extend(["--register".to_owned(), r.to_owned()]);
    }
    args
}

fn audit(key: &str, register: &str, extra: &[&str]) -> Output {
    msma()
        .args(["audit", "requests", "--keys", key, "--register", register])
        .args(extra)
        .output()
        .unwrap()
}

/// What a forger without the key does: renumber the lines and re-chain them, each
/// carrying the plain SHA-256 of the line before it (the old chain), or the previous
/// line's link field (the keyed chain, whose own code the forger cannot recompute).
fn rechain(lines: &[String]) -> String {
    let mut out = String::new();
    let mut prev: Option<(String, serde_json::Value)> = None;
    for (i, line) in lines.iter().enumerate() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        v["seq"] = (i as u64 + 1).into();
        if v.get("prev_sha256").is_some() {
            v["prev_sha256"] = prev
                .as_ref()
                .map_or(serde_json::Value::Null, |(l, _)| hex::encode(Sha256::digest(l)).into());
        }
        if v.get("prev").is_some() {
            v["prev"] = prev.as_ref().map_or(serde_json::Value::Null, |(_, p)| p["mac"].clone());
        }
        let text = serde_json::to_string(&v).unwrap();
        out.push_str(&text);
        out.push('\n');
        prev = Some((text, v));
    }
    out
}

#[test]
fn a_rechained_register_fails_verification() {
    let site = Site::new();
    let (key, register) = with_requests(&site, 3);
    assert!(audit(&key, &register, &[]).status.success());
    let lines: Vec<String> = std::fs::read_to_string(&register)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    // Drop the second request, edit the third, re-chain.
    let forged = rechain(&[lines[0].clone(), lines[2].replace("2026/0002", "2026/7777")]);
    std::fs::write(&register, forged).unwrap();
    let out = audit(&key, &register, &[]);
    assert!(!out.status.success(), "a re-chained register passed: {}", stdout(&out));
}

#[test]
fn the_head_anchors_the_last_line() {
    let site = Site::new();
    let (key, register) = with_requests(&site, 3);
    let text = stdout(&audit(&key, &register, &[]));
    let head = text
        .lines()
        .find_map(|l| l.strip_prefix("head: "))
        .expect("audit requests prints the head")
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    assert!(audit(&key, &register, &["--expect-head", &head]).status.success());
    let all = std::fs::read_to_string(&register).unwrap();
    let lines: Vec<&str> = all.lines().collect();
    // The last line edited: its code no longer matches.
    let edited = format!(
        "{}\n{}\n",
        lines[..2].join("\n"),
        lines[2].replace("2026/0002", "2026/7777")
    );
    std::fs::write(&register, edited).unwrap();
    assert!(
        !audit(&key, &register, &[]).status.success(),
        "an edited last line passed"
    );
    // The last line removed: the chain holds, the head does not.
    std::fs::write(&register, format!("{}\n", lines[..2].join("\n"))).unwrap();
    let out = audit(&key, &register, &["--expect-head", &head]);
    assert!(!out.status.success(), "a removed last line passed --expect-head");
    assert!(stdout(&out).contains("head"), "{}", stdout(&out));
}

#[test]
fn a_missing_or_open_register_is_refused() {
    let site = Site::new();
    let (key, register) = with_requests(&site, 1);
    std::fs::set_permissions(&register, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = audit(&key, &register, &[]);
    assert!(!out.status.success(), "a 0644 register passed: {}", stdout(&out));
    let out = msma()
        .args(pseudonymise(&key, "P-1", "requisition n° 2026/0042", None))
        .output()
        .unwrap();
    assert!(!out.status.success(), "a pseudonym was given with a 0644 register");
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
    std::fs::remove_file(&register).unwrap();
    let out = audit(&key, &register, &[]);
    assert!(!out.status.success(), "a missing register passed: {}", stdout(&out));
}

#[test]
fn a_register_override_is_recorded_in_the_real_one() {
    let site = Site::new();
    let key = site.key();
    let other = site.s("custodian/other.ndjson");
    let out = ok(&pseudonymise(
        &key,
        "P-000123",
        "requisition n° 2026/0001",
        Some(&other),
    ));
    assert_eq!(stdout(&out).trim().len(), 64);
    let real = format!("{key}.requests.ndjson");
    let text = std::fs::read_to_string(&real).unwrap_or_default();
    assert!(text.contains("override") && text.contains("other.ndjson"), "{text:?}");
    assert!(!text.contains("P-000123"), "the register never holds the identifier");
    let listed = stdout(&ok(&["audit", "requests", "--keys", &key]));
    assert!(listed.contains("other.ndjson"), "{listed}");
    assert!(audit(&key, &other, &[]).status.success());
}

#[test]
fn the_local_id_can_come_from_standard_input() {
    let site = Site::new();
    let key = site.path("custodian/vectors.key");
    let hex: String = (0u8..32).map(|b| format!("{b:02x}")).collect();
    std::fs::write(&key, format!("{hex}\n")).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let key = key.to_str().unwrap();
    let mut child = msma()
        .args([
            "pseudonymise",
            "--keys",
            key,
            "--study",
            "cnrms-femmes-2021",
            "--network",
            "RMS-ALSACE",
        ])
        .args(["--local-id", "-", "--reason", "requisition judiciaire n° 2026/1234"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b" P-000123\t\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // The test vector of docs/PSEUDONYMISATION.md.
    assert_eq!(
        stdout(&out).trim(),
        "165414417fbfe331f58f39980f7d697c2c6db513d89465f1463de2796e73ad34"
    );
}

#[test]
fn an_invalid_network_is_refused_by_the_rule_of_events() {
    let site = Site::new();
    let key = site.key();
    for (network, rule) in [
        ("rms alsace", "a letter first"),
        ("RMS-0612345678", "never five digits in a row"),
        ("RMS-2021-03-04", "shaped like an identifier (date)"),
    ] {
        let mut args = pseudonymise(&key, "P-000123", "requisition n° 2026/0001", None);
        let at = args.iter().position(|a| a == "RMS-ALSACE").unwrap();
        args[at] = network.to_owned();
        let out = msma().args(&args).output().unwrap();
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{network}: {text}");
        assert!(text.contains("--network: ") && text.contains(rule), "{text}");
        assert!(!text.contains(network) && stdout(&out).is_empty(), "{text}");
    }
    assert!(
        !std::path::Path::new(&format!("{key}.requests.ndjson")).exists(),
        "a refused request is not recorded"
    );
}
