//! The generator against the event contract (every line decodes), its determinism, and
//! the calibration figures of the domain reference.

use chrono::{Datelike, NaiveDate, Timelike, Weekday};
use msma_schema::{
    Event, Payload, ProfessionalRole, ScreeningResult, ScreeningTarget, ScreeningTest, Sex, TreatmentAction,
    TreatmentKind, decode,
};
use msma_synth::{Spec, Summary, generate};
use std::collections::{HashMap, HashSet};

fn run(spec: &Spec) -> (Vec<u8>, Summary) {
    let mut out = Vec::new();
    let summary = generate(spec, &mut out).expect("generate");
    (out, summary)
}

fn lines(out: &[u8]) -> impl Iterator<Item = &[u8]> {
    out.split(|&b| b == b'\n').filter(|l| !l.is_empty())
}

fn decoded(out: &[u8]) -> Vec<Event<'_>> {
    lines(out)
        .map(|l| decode(l).unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(l))))
        .collect()
}

fn age(birth: NaiveDate, at: NaiveDate) -> f64 {
    let mut a = at.year() - birth.year();
    if (at.month(), at.day()) < (birth.month(), birth.day()) {
        a -= 1;
    }
    f64::from(a)
}

/// Europe/Paris: +02:00 from the last Sunday of March to the last Sunday of October.
fn paris_offset(d: NaiveDate) -> i32 {
    let last_sunday = |month| {
        let last = NaiveDate::from_ymd_opt(d.year(), month, 31).unwrap();
        last - chrono::Days::new(u64::from(last.weekday().num_days_from_sunday()))
    };
    if d >= last_sunday(3) && d < last_sunday(10) {
        7200
    } else {
        3600
    }
}

fn contains(line: &[u8], what: &str) -> bool {
    line.windows(what.len()).any(|w| w == what.as_bytes())
}

fn ins_key_ok(ins: &str) -> bool {
    let digits = ins[..13].replacen("2A", "19", 1).replacen("2B", "18", 1);
    let n: u64 = digits.parse().unwrap();
    ins[13..].parse::<u64>().unwrap() == 97 - n % 97
}

#[test]
fn every_line_decodes_and_is_consistent() {
    let spec = Spec {
        events: 50_000,
        ..Spec::default()
    };
    let (out, summary) = run(&spec);
    assert_eq!(summary.events, 50_000);
    assert_eq!(summary.invalid, 0);
    assert!(out.ends_with(b"\n"));
    let events = decoded(&out);
    assert_eq!(events.len(), 50_000);

    let mut included = HashSet::new();
    let mut previous = events[0].occurred_at;
    let (mut anonymous, mut with_ins) = (0, 0);
    for e in &events {
        let key = (e.network_id.to_string(), e.patient.local_id.to_string());
        let t = e.occurred_at;
        assert!(t >= previous, "events sorted by occurred_at");
        previous = t;
        assert!(!matches!(t.weekday(), Weekday::Sat | Weekday::Sun));
        assert!((8..19).contains(&t.hour()), "{t}");
        assert_eq!(t.offset().local_minus_utc(), paris_offset(t.date_naive()), "{t}");
        if let Payload::PatientInclusion(_) = e.payload {
            assert!(included.insert(key), "one inclusion per patient");
            assert!(e.birth_date.is_some() && e.patient.sex.is_some());
            match &e.patient.ins {
                Some(ins) => {
                    with_ins += 1;
                    assert!(ins_key_ok(ins), "{ins}");
                    let digit = if e.patient.sex == Some(Sex::Female) { "2" } else { "1" };
                    if e.patient.sex != Some(Sex::Unknown) {
                        assert_eq!(&ins[..1], digit);
                    }
                }
                None if e.patient.last_name.is_none() => anonymous += 1,
                None => {}
            }
        } else {
            assert!(included.contains(&key), "inclusion comes first");
            assert!(e.patient.last_name.is_none() && e.patient.birth_date.is_none());
        }
        assert!(e.microstructure_id.starts_with("MS-"));
    }
    assert_eq!(summary.patients as usize, included.len());
    let share = f64::from(anonymous) / included.len() as f64;
    assert!((0.02..0.09).contains(&share), "anonymous {share}");
    assert!(with_ins > included.len() * 3 / 4);
    assert_eq!(summary.first, NaiveDate::from_ymd_opt(2021, 1, 4).unwrap());
}

#[test]
fn deterministic() {
    let spec = Spec {
        events: 20_000,
        ..Spec::default()
    };
    let (a, sa) = run(&spec);
    let (b, sb) = run(&spec);
    assert!(a == b && sa == sb, "same spec, same bytes");
    let (c, _) = run(&Spec {
        seed: 2,
        ..spec.clone()
    });
    assert_ne!(a, c);
    // A network's events do not depend on the other networks selected.
    let alone = Spec {
        events: 5_000,
        networks: vec!["RMS-BFC".into()],
        ..Spec::default()
    };
    let (bfc, _) = run(&alone);
    let from_all: Vec<&[u8]> = lines(&a)
        .filter(|l| contains(l, "\"network_id\":\"RMS-BFC\""))
        .collect();
    let first_bfc: Vec<&[u8]> = lines(&bfc).take(200).collect();
    assert_eq!(from_all[..200], first_bfc[..]);
}

#[test]
fn calibration_at_inclusion() {
    let (out, _) = run(&Spec {
        events: 50_000,
        ..Spec::default()
    });
    let events = decoded(&out);
    let (mut f, mut m, mut u) = (0u32, 0u32, 0u32);
    let (mut age_f, mut age_m) = (0.0, 0.0);
    let mut origin: HashMap<String, u32> = HashMap::new();
    let mut roles: HashMap<ProfessionalRole, u32> = HashMap::new();
    let (mut consultations, mut no_shows) = (0u32, 0u32);
    for e in &events {
        match &e.payload {
            Payload::PatientInclusion(_) => {
                let a = age(e.birth_date.unwrap(), e.occurred_at.date_naive());
                assert!((18.0..=80.0).contains(&a), "{a}");
                match e.patient.sex.unwrap() {
                    Sex::Female => (f, age_f) = (f + 1, age_f + a),
                    Sex::Male => (m, age_m) = (m + 1, age_m + a),
                    Sex::Unknown => u += 1,
                }
            }
            Payload::SubstanceAssessment(s) if s.origin_of_care => {
                *origin.entry(s.product.to_string()).or_default() += 1;
            }
            Payload::Consultation(c) => {
                *roles.entry(c.professional_role).or_default() += 1;
                consultations += 1;
                no_shows += u32::from(c.no_show);
            }
            _ => {}
        }
    }
    let total = f + m + u;
    let women = f64::from(f) / f64::from(total);
    let (mean_f, mean_m) = (age_f / f64::from(f), age_m / f64::from(m));
    let psy = roles[&ProfessionalRole::Psychologist];
    let sw = roles[&ProfessionalRole::SocialWorker];
    let ratio = f64::from(psy) / f64::from(sw);
    let mut products: Vec<_> = origin.iter().collect();
    products.sort_by_key(|(_, n)| std::cmp::Reverse(**n));
    let origins: u32 = origin.values().sum();
    eprintln!(
        "patients {total}: women {:.1}%, mean age F {mean_f:.2} M {mean_m:.2}; \
         psychologist:social worker {ratio:.2}; no-show {:.1}%",
        100.0 * women,
        100.0 * f64::from(no_shows) / f64::from(consultations),
    );
    eprintln!(
        "origin of care: {}",
        products
            .iter()
            .map(|(p, n)| format!("{p} {:.1}%", 100.0 * f64::from(**n) / f64::from(origins)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert_eq!(origins, total, "exactly one origin of care per patient");
    assert!((0.45..=0.55).contains(&women), "women {women}");
    assert!((mean_f - 43.5).abs() <= 2.0, "mean age F {mean_f}");
    assert!((mean_m - 42.0).abs() <= 2.0, "mean age M {mean_m}");
    assert_eq!(products[0].0, "alcohol");
    let alcohol = f64::from(origin["alcohol"]) / f64::from(origins);
    assert!((0.38..0.52).contains(&alcohol), "alcohol {alcohol}");
    assert!((1.5..=2.5).contains(&ratio), "psychologist:social worker {ratio}");
}

/// Several years of three networks (43 microstructures): follow-up, yearly activity, screening cascade, and
/// forfait claims that match the events.
#[test]
fn calibration_over_years() {
    let networks = ["RMS-ALSACE", "RMS-BFC", "RMS-OCCITANIE"].map(String::from).to_vec();
    let spec = Spec {
        events: 300_000,
        networks,
        ..Spec::default()
    };
    let (out, summary) = run(&spec);
    assert!(summary.last.year() >= 2027, "{summary:?}");
    let events = decoded(&out);
    type Key = (String, i32); // local id, year
    let mut held: HashMap<Key, [i64; 4]> = HashMap::new();
    let mut claims: HashMap<Key, [i64; 4]> = HashMap::new();
    let mut followed: HashMap<i32, HashSet<String>> = HashMap::new();
    let mut inclusion: HashMap<String, NaiveDate> = HashMap::new();
    let mut ages: HashMap<String, f64> = HashMap::new();
    let mut ends: Vec<(String, i64)> = Vec::new();
    let mut drug_users: HashSet<String> = HashSet::new();
    let mut hcv_sero: HashMap<String, bool> = HashMap::new();
    // First HCV RNA result of each patient tested.
    let mut rna: HashMap<String, bool> = HashMap::new();
    let mut treated = HashSet::new();
    let mut ost = HashSet::new();
    let mut opioid = HashSet::new();
    for e in &events {
        let id = format!("{}/{}", e.network_id, e.patient.local_id);
        let date = e.occurred_at.date_naive();
        let year = date.year();
        if !matches!(e.payload, Payload::ForfaitClaim(_)) {
            followed.entry(year).or_default().insert(id.clone());
        }
        let slot = |i: usize, held: &mut HashMap<Key, [i64; 4]>| held.entry((id.clone(), year)).or_default()[i] += 1;
        match &e.payload {
            Payload::PatientInclusion(_) => {
                inclusion.insert(id.clone(), date);
                ages.insert(id.clone(), age(e.birth_date.unwrap(), date));
            }
            Payload::SubstanceAssessment(s) => {
                let p = s.product.as_str();
                if [
                    "heroin",
                    "buprenorphine_misused",
                    "methadone_misused",
                    "other_opioids",
                    "cocaine",
                    "crack",
                    "amphetamines",
                ]
                .contains(&p)
                {
                    drug_users.insert(id.clone());
                }
                if s.origin_of_care
                    && ["heroin", "buprenorphine_misused", "methadone_misused", "other_opioids"].contains(&p)
                {
                    opioid.insert(id.clone());
                }
            }
            Payload::Consultation(c) if !c.no_show => match c.professional_role {
                ProfessionalRole::GeneralPractitioner => slot(0, &mut held),
                ProfessionalRole::Psychologist => slot(1, &mut held),
                ProfessionalRole::SocialWorker => slot(2, &mut held),
                ProfessionalRole::Psychiatrist => {}
            },
            Payload::SynthesisMeeting(_) => slot(3, &mut held),
            Payload::ForfaitClaim(c) => {
                assert_eq!(c.amount_cents.get(), 52_800);
                assert_eq!(date.month(), 1);
                let counts = [
                    c.gp_consultations.get(),
                    c.psychologist_consultations.get(),
                    c.social_worker_consultations.get(),
                    c.synthesis_meetings.get(),
                ];
                assert!(claims.insert((id.clone(), c.year.get() as i32), counts).is_none());
            }
            Payload::Screening(s) => match (s.target, s.test) {
                (ScreeningTarget::Hcv, ScreeningTest::RnaPcr) => {
                    rna.entry(id.clone()).or_insert(s.result == ScreeningResult::Positive);
                }
                (ScreeningTarget::Hcv, _) => {
                    hcv_sero
                        .entry(id.clone())
                        .or_insert(s.result == ScreeningResult::Positive);
                }
                _ => {}
            },
            Payload::Treatment(t) => {
                if t.kind == TreatmentKind::HcvAntiviral && t.action == TreatmentAction::Start {
                    treated.insert(id.clone());
                }
                if t.kind == TreatmentKind::OpioidSubstitution {
                    ost.insert(id.clone());
                }
            }
            Payload::FollowUpEnd(_) => ends.push((id.clone(), (date - inclusion[&id]).num_days())),
            Payload::Consultation(_) => {}
        }
    }
    // Claims: one per patient followed in a year, with that year's counts.
    let last_full_year = summary.last.year() - 1;
    let mut checked = 0;
    for year in 2021..last_full_year {
        for id in &followed[&year] {
            let claim = claims
                .get(&(id.clone(), year))
                .unwrap_or_else(|| panic!("no claim for {id} {year}"));
            assert_eq!(
                *claim,
                held.get(&(id.clone(), year)).copied().unwrap_or_default(),
                "{id} {year}"
            );
            checked += 1;
        }
    }
    assert!(checked > 1000);

    // Patients followed per microstructure and year; psychologist follow-up.
    let years: Vec<i32> = (2022..last_full_year).collect();
    let per_ms = years.iter().map(|y| followed[y].len() as f64).sum::<f64>() / years.len() as f64 / 43.0;
    let (mut saw_psy, mut sessions, mut patient_years) = (0.0, 0.0, 0.0);
    for ((_, year), c) in &claims {
        if years.contains(year) {
            patient_years += 1.0;
            if c[1] > 0 {
                saw_psy += 1.0;
                sessions += c[1] as f64;
            }
        }
    }
    // Median follow-up above two years: of the patients included at least three years
    // before the end of the data, most were still followed two years after inclusion.
    let ended: HashMap<&String, i64> = ends.iter().map(|(id, d)| (id, *d)).collect();
    let cutoff = summary.last - chrono::Days::new(3 * 365);
    let cohort: Vec<&String> = inclusion
        .iter()
        .filter(|(_, d)| **d <= cutoff)
        .map(|(id, _)| id)
        .collect();
    let past_two_years = cohort
        .iter()
        .filter(|id| ended.get(*id).is_none_or(|d| *d > 730))
        .count();
    let still_at_two = past_two_years as f64 / cohort.len() as f64;
    let lost = ends.len() as f64;
    let lost = events
        .iter()
        .filter(|e| matches!(&e.payload, Payload::FollowUpEnd(f) if f.reason == msma_schema::EndReason::LostToFollowUp))
        .count() as f64
        / lost;
    let positive_by_age = |lo: f64, hi: f64| {
        let ids: Vec<&String> = drug_users
            .iter()
            .filter(|id| hcv_sero.contains_key(*id) && (lo..hi).contains(&ages[*id]))
            .collect();
        ids.iter().filter(|id| hcv_sero[**id]).count() as f64 / ids.len() as f64
    };
    let (young, old) = (positive_by_age(18.0, 30.0), positive_by_age(45.0, 81.0));
    let screened = drug_users.iter().filter(|id| hcv_sero.contains_key(*id)).count() as f64;
    let positive = drug_users.iter().filter(|id| hcv_sero.get(*id) == Some(&true)).count() as f64;
    let sero_pos: HashSet<&String> = hcv_sero.iter().filter(|(_, p)| **p).map(|(id, _)| id).collect();
    let rna_share = sero_pos.iter().filter(|id| rna.contains_key(**id)).count() as f64 / sero_pos.len() as f64;
    let rna_pos: Vec<&String> = rna.iter().filter(|(_, p)| **p).map(|(id, _)| id).collect();
    let treated_share = rna_pos.iter().filter(|id| treated.contains(**id)).count() as f64 / rna_pos.len() as f64;
    let ost_share = opioid.iter().filter(|id| ost.contains(*id)).count() as f64 / opioid.len() as f64;
    eprintln!(
        "followed per microstructure and year {per_ms:.1}; saw psychologist {:.1}% ({:.1} sessions); \
         still followed 2 years after inclusion {:.1}%, ends lost to follow-up {:.1}%; \
         drug users screened for HCV {:.1}%, positive {:.1}% (under 30 {:.1}%, over 45 {:.1}%); RNA tested {:.1}%; RNA+ treated {:.1}%; opioid patients on OST {:.1}%",
        100.0 * saw_psy / patient_years,
        sessions / saw_psy,
        100.0 * still_at_two,
        100.0 * lost,
        100.0 * screened / drug_users.len() as f64,
        100.0 * positive / screened,
        100.0 * young,
        100.0 * old,
        100.0 * rna_share,
        100.0 * treated_share,
        100.0 * ost_share,
    );
    assert!((33.0..45.0).contains(&per_ms), "followed per microstructure {per_ms}");
    assert!((0.40..0.56).contains(&(saw_psy / patient_years)));
    assert!((4.5..7.0).contains(&(sessions / saw_psy)));
    assert!((0.70..0.90).contains(&(screened / drug_users.len() as f64)));
    assert!((0.30..0.48).contains(&(positive / screened)));
    assert!((0.80..0.95).contains(&rna_share));
    assert!((0.28..0.52).contains(&treated_share));
    assert!(ost_share > 0.75);
    assert!(still_at_two > 0.5, "median follow-up above two years");
    assert!((0.03..0.25).contains(&lost));
    assert!(old > 3.0 * young);
}

#[test]
fn invalid_lines() {
    let spec = Spec {
        events: 100_000,
        invalid_per_million: 10_000,
        ..Spec::default()
    };
    let (out, summary) = run(&spec);
    let failed = lines(&out).filter(|l| decode(l).is_err()).count() as u64;
    assert_eq!(failed, summary.invalid);
    assert!((800..1200).contains(&failed), "{failed} invalid lines");
    assert_eq!(lines(&out).count(), 100_000);
    // The valid lines are the ones a clean run gives.
    let (clean, _) = run(&Spec {
        invalid_per_million: 0,
        ..spec
    });
    let same = lines(&out).zip(lines(&clean)).filter(|(a, b)| a == b).count() as u64;
    assert_eq!(same, 100_000 - failed);
}

#[test]
fn long_runs_stay_before_2100() {
    let start = NaiveDate::from_ymd_opt(2099, 6, 1).unwrap();
    let spec = Spec {
        events: 30_000,
        start,
        networks: vec!["RMS-HDF".into()],
        ..Spec::default()
    };
    let (out, summary) = run(&spec);
    let events = decoded(&out);
    assert!(events.iter().all(|e| e.occurred_at.year() == 2099));
    assert!(summary.first >= start && (summary.first - start).num_days() < 7);
    assert_eq!(summary.last.year(), 2099);
    // The calendar replays from the start with new patients: local ids stay unique.
    let mut ids = HashSet::new();
    for e in &events {
        if let Payload::PatientInclusion(_) = e.payload {
            assert!(ids.insert(e.patient.local_id.to_string()));
        }
    }
}

#[test]
fn speed() {
    let n = if cfg!(debug_assertions) { 100_000 } else { 1_000_000 };
    let spec = Spec {
        events: n,
        ..Spec::default()
    };
    let t = std::time::Instant::now();
    let s = generate(&spec, &mut std::io::sink()).unwrap();
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "{n} events in {secs:.2} s: {:.0} events/s ({} to {}, {} patients)",
        n as f64 / secs,
        s.first,
        s.last,
        s.patients
    );
}
