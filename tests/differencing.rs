//! Reports as an adversary reads them (issue 15, items 10 to 13): every report msma
//! offers on one zone, combined by the elimination attack of tests/py/differencing.py;
//! the threshold floor; what a masked cell and its neighbours show; empty scopes.

use crate::util::{Site, msma, ok, python, stderr};
use serde_json::Value;

/// A zone of generated events, ingested with the study policy `policy` (TOML) if any.
fn zone(events: u64, seed: u64, policy: Option<&str>) -> Site {
    let site = Site::new();
    let input = site.generate(events, seed, 0);
    let mut args = site.ingest_args(&input, "research");
    if let Some(policy) = policy {
        std::fs::write(site.path("policy.toml"), policy).unwrap();
        args.extend(["--policy".to_string(), site.s("policy.toml")]);
    }
    ok(&args);
    site
}

/// Runs `msma report KIND` on the zone with `extra` arguments, writing `out`.
fn report(site: &Site, kind: &str, out: &str, extra: &[&str]) -> std::process::Output {
    let (zone, path) = (site.s("research"), site.s(out));
    let mut args = vec!["report", kind, "--data", &zone, "--out", &path];
    args.extend_from_slice(extra);
    msma().args(&args).output().unwrap()
}

fn json(site: &Site, out: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(site.path(out)).unwrap()).unwrap()
}

fn table<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap()
}

/// What the attack prints after `name` ("recovered 36" → 36).
fn figure(attack: &str, name: &str) -> u64 {
    attack
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|n| n.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{name}: {attack}"))
}

fn attack(site: &Site, reports: &[String]) -> String {
    let paths: Vec<String> = reports.iter().map(|r| site.s(r)).collect();
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    python("differencing.py", &args)
}

/// Every scope msma offers: the whole zone, each network, each region of residence
/// (a region without patients is an empty scope, refused), for both reports.
fn every_report(site: &Site) -> Vec<String> {
    let mut made = Vec::new();
    let mut run = |kind: &str, name: String, extra: &[&str]| {
        let out = report(site, kind, &name, extra);
        if out.status.success() {
            made.push(name);
        } else {
            assert!(stderr(&out).contains("empty scope"), "{}", stderr(&out));
        }
    };
    run("gender", "gender.json".into(), &[]);
    run("activity", "activity.json".into(), &[]);
    let whole = json(site, "activity.json");
    let networks: Vec<String> = table(&whole, "active_file_by_network")["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_str().filter(|c| c.starts_with("RMS-")).map(String::from))
        .collect();
    let gender = json(site, "gender.json");
    let regions: Vec<String> = table(&gender, "sex_ratio_by_region")["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["key"].as_str().filter(|k| k.len() == 2).map(String::from))
        .collect();
    assert!(networks.len() >= 5 && regions.len() >= 7, "{networks:?} {regions:?}");
    for n in &networks {
        for kind in ["gender", "activity"] {
            run(kind, format!("{kind}-{n}.json"), &["--network", n]);
        }
    }
    for r in &regions {
        for kind in ["gender", "activity"] {
            run(kind, format!("{kind}-r{r}.json"), &["--region", r]);
        }
    }
    made
}

#[test]
fn combining_every_report_pins_no_masked_count() {
    let site = zone(20_000, 15, None);
    let reports = every_report(&site);
    assert!(reports.len() >= 20, "{reports:?}");
    let all = attack(&site, &reports);
    eprintln!("{all}");
    // The attacker's model holds (the constraints have a solution) and has work to do.
    assert!(figure(&all, "masked") >= 50, "{all}");
    assert!(figure(&all, "constraints") >= 1_000, "{all}");
    assert_eq!(figure(&all, "recovered"), 0, "{all}");
    // The same patients are shown the same way in every report that counts them.
    assert_eq!(figure(&all, "inconsistent"), 0, "{all}");

    // Two reports: the whole zone and one region (a total the first hides, the second
    // publishes); the gender and activity reports (patients of unknown sex).
    let mut pairs: Vec<[String; 2]> = reports
        .iter()
        .filter(|r| r.starts_with("gender-r"))
        .map(|r| ["gender.json".to_string(), r.clone()])
        .collect();
    pairs.push(["gender.json".into(), "activity.json".into()]);
    let recovered: u64 = pairs.iter().map(|p| figure(&attack(&site, p), "recovered")).sum();
    assert_eq!(recovered, 0, "pairs of reports recovered {recovered} masked counts");
}

#[test]
fn the_threshold_cannot_go_below_the_policy_floor() {
    let site = zone(3_000, 2, None);
    for threshold in ["1", "10"] {
        let out = report(&site, "gender", "low.json", &["--threshold", threshold]);
        assert!(!out.status.success(), "--threshold {threshold} was accepted");
        assert!(stderr(&out).contains("min_cell_count"), "{}", stderr(&out));
        assert!(!site.path("low.json").exists());
    }
    assert!(
        report(&site, "gender", "high.json", &["--threshold", "20"])
            .status
            .success()
    );
    assert_eq!(json(&site, "high.json")["threshold"], 20);

    // A study whose policy allows 5 may use it; one that asks for 15 gets it by default.
    let lenient = zone(3_000, 2, Some("min_cell_count = 5\n"));
    assert!(
        report(&lenient, "gender", "five.json", &["--threshold", "5"])
            .status
            .success()
    );
    assert_eq!(json(&lenient, "five.json")["threshold"], 5);
    let strict = zone(3_000, 2, Some("min_cell_count = 15\n"));
    assert!(report(&strict, "gender", "default.json", &[]).status.success());
    assert_eq!(json(&strict, "default.json")["threshold"], 15);
    assert!(
        !report(&strict, "gender", "eleven.json", &["--threshold", "11"])
            .status
            .success()
    );
}

#[test]
fn masked_cells_carry_one_neutral_mark_and_hide_what_is_derived_from_them() {
    let site = zone(8_000, 8, None);
    for (kind, extra) in [
        ("gender", &[][..]),
        ("activity", &[][..]),
        ("gender", &["--network", "RMS-BFC"][..]),
    ] {
        for format in ["html", "csv", "json"] {
            let out = format!("{kind}.{format}");
            assert!(report(&site, kind, &out, extra).status.success());
            let text = std::fs::read_to_string(site.path(&out)).unwrap();
            for tell in ["<11", "&lt;11", "secondary", "primary"] {
                assert!(!text.contains(tell), "{out} {extra:?} shows {tell}");
            }
        }
        let doc = json(&site, &format!("{kind}.json"));
        let mut masked = 0;
        for t in doc["tables"].as_array().unwrap() {
            for row in t["rows"].as_array().unwrap() {
                let cells = row["cells"].as_array().unwrap();
                let hidden = |c: usize| cells[c]["masked"].is_string();
                masked += cells.iter().filter(|c| c["masked"].is_string()).count();
                // Ratios, shares, means and amounts: masked beside a masked count, and
                // never "–" (which would say their denominator is 0).
                let derived: &[(usize, &[usize])] = match t["id"].as_str().unwrap() {
                    "sex_ratio_by_region" => &[(3, &[0, 1]), (4, &[0, 1])],
                    "age_by_sex" if row["key"] != "total" => &[(2, &[1])],
                    "activity_by_network" | "activity_by_region" => {
                        &[(1, &[0]), (2, &[0]), (3, &[0]), (4, &[0]), (8, &[7])]
                    }
                    _ => &[],
                };
                for (d, from) in derived {
                    assert_ne!(cells[*d]["display"], "–", "{} {}", t["id"], row["key"]);
                    if from.iter().any(|&c| hidden(c)) {
                        assert!(hidden(*d), "{} {} column {d}", t["id"], row["key"]);
                    }
                }
            }
        }
        assert!(masked > 0, "{kind} {extra:?} masks nothing: the test proves nothing");
    }
}

#[test]
fn an_empty_scope_is_refused_and_writes_nothing() {
    let site = zone(3_000, 3, None);
    for (kind, extra) in [
        ("gender", &["--network", "RMS-NOWHERE"][..]),
        ("activity", &["--network", "RMS-NOWHERE"][..]),
        ("gender", &["--region", "99"][..]),
        ("activity", &["--region", "99"][..]),
        ("gender", &["--year", "1990"][..]),
        ("activity", &["--year", "1990"][..]),
    ] {
        let out = report(&site, kind, "empty.html", extra);
        assert!(!out.status.success(), "{kind} {extra:?} exited 0");
        assert!(stderr(&out).contains("empty scope"), "{}", stderr(&out));
        assert!(!site.path("empty.html").exists(), "{kind} {extra:?} wrote a report");
    }
}
