//! Screening (HCV, HIV, HBV) and treatments of one patient: an agenda of dated actions
//! planned at inclusion and extended as results come in, and the treatments in course.
//!
//! Calibration (Santé publique France, RMS Alsace 2006-07): 80% of drug users screened
//! for HCV, 39% seropositive (7% under 30, far more over 45), 88% of the seropositive
//! tested for HCV RNA, 40% of the RNA-positive treated.

use crate::calendar::Ts;
use crate::emit::Body;
use crate::product::is_opioid;
use crate::profile::Profile;
use crate::rng::Rng;
use crate::window::Window;

type W = &'static [(&'static str, u32)];

#[derive(Clone, Copy)]
enum Action {
    /// HCV test, with HIV and HBV tests the same day for most patients.
    Screen,
    Rna,
    AntiviralStart,
    AntiviralStop(&'static str),
    Control,
    /// Treatment kind, molecule, action (start or continue).
    Treat(&'static str, &'static str, &'static str),
}

#[derive(Clone, Copy)]
struct Treatment {
    kind: &'static str,
    molecule: &'static str,
    since: u32,
    next_review: u32,
}

pub struct Care {
    agenda: Vec<(u32, Action)>,
    treatments: Vec<Treatment>,
    /// The first HCV test is done (later ones are retests of the seronegative).
    hcv_tested: bool,
    age: u32,
    drug_user: bool,
    injector: bool,
}

const OST_BY_PRODUCT: [(&str, W); 4] = [
    (
        "heroin",
        &[("methadone", 45), ("buprenorphine", 40), ("buprenorphine_naloxone", 15)],
    ),
    (
        "buprenorphine_misused",
        &[("buprenorphine", 60), ("buprenorphine_naloxone", 25), ("methadone", 15)],
    ),
    ("methadone_misused", &[("methadone", 85), ("buprenorphine", 15)]),
    (
        "other_opioids",
        &[("buprenorphine", 50), ("buprenorphine_naloxone", 30), ("methadone", 20)],
    ),
];
const ALCOHOL: W = &[
    ("acamprosate", 35),
    ("baclofen", 20),
    ("naltrexone", 15),
    ("nalmefene", 15),
    ("disulfiram", 10),
    ("other", 5),
];
const PSYCHOTROPIC: W = &[
    ("antidepressant", 60),
    ("anxiolytic", 25),
    ("antipsychotic", 10),
    ("other", 5),
];

/// Months between two "continue" reviews, monthly stop and change probabilities.
fn course(kind: &str) -> (u32, f64, f64) {
    match kind {
        "opioid_substitution" => (3, 0.01, 0.012),
        "alcohol_pharmacotherapy" => (3, 0.09, 0.03),
        "psychotropic" => (6, 0.03, 0.02),
        "nicotine_replacement" => (2, 0.3, 0.0),
        _ => (6, 0.002, 0.0),
    }
}

impl Care {
    pub fn plan(rng: &mut Rng, p: &Profile, m: u32) -> Self {
        let mut agenda = Vec::new();
        let origin = p.origin();
        if is_opioid(origin) && rng.chance(0.85) {
            let w = OST_BY_PRODUCT.iter().find(|(o, _)| *o == origin).expect("opioid").1;
            let action = if p.prior_care && rng.chance(0.5) {
                "continue"
            } else {
                "start"
            };
            let at = m + u32::from(action == "start" && rng.chance(0.4));
            agenda.push((at, Action::Treat("opioid_substitution", rng.weighted(w), action)));
        }
        let alcohol = match (origin, p.uses("alcohol")) {
            ("alcohol", _) => 0.45,
            (_, true) => 0.08,
            _ => 0.0,
        };
        if rng.chance(alcohol) {
            let mol = rng.weighted(ALCOHOL);
            agenda.push((
                m + rng.range(0, 3),
                Action::Treat("alcohol_pharmacotherapy", mol, "start"),
            ));
        }
        if rng.chance(if p.first_reason == "mental_health" { 0.6 } else { 0.18 }) {
            let action = if p.prior_care && rng.chance(0.3) {
                "continue"
            } else {
                "start"
            };
            let mol = rng.weighted(PSYCHOTROPIC);
            agenda.push((m + rng.range(0, 6), Action::Treat("psychotropic", mol, action)));
        }
        let nicotine = match (origin, p.uses("tobacco")) {
            ("tobacco", _) => 0.6,
            (_, true) => 0.08,
            _ => 0.0,
        };
        if rng.chance(nicotine) {
            agenda.push((
                m + rng.range(0, 4),
                Action::Treat("nicotine_replacement", "nicotine", "start"),
            ));
        }
        let drug_user = p.drug_user();
        if drug_user && rng.chance(0.84) {
            let offset = rng.weighted(&[(0, 30), (1, 25), (2, 18), (3, 12), (4, 8), (5, 7)]);
            agenda.push((m + offset, Action::Screen));
        } else if !drug_user && rng.chance(0.22) {
            agenda.push((m + rng.range(0, 11), Action::Screen));
        }
        Self {
            agenda,
            treatments: Vec::new(),
            hcv_tested: false,
            age: p.age,
            drug_user,
            injector: p.injector,
        }
    }

    /// Runs the actions due this month (those finding no day in the window wait for the
    /// next month) and the course of the treatments.
    pub fn month(&mut self, w: &mut Window) {
        let m = w.m();
        let mut i = 0;
        while i < self.agenda.len() {
            if self.agenda[i].0 > m {
                i += 1;
                continue;
            }
            let Some(day) = w.day() else { return };
            let (_, action) = self.agenda.swap_remove(i);
            self.act(w, day, action);
        }
        self.treatments_month(w);
    }

    fn act(&mut self, w: &mut Window, day: u8, action: Action) {
        let m = w.m();
        let lab = Ts::new(day, w.slot(8 * 60, 15, 14));
        let gp = Ts::new(day, w.slot(8 * 60 + 30, 15, 42));
        match action {
            Action::Screen => self.screen(w, lab),
            Action::Rna => {
                let positive = w.rng.chance(0.7);
                screening(w, lab, "hcv", "rna_pcr", if positive { "positive" } else { "negative" });
                if positive && w.rng.chance(0.46) {
                    self.agenda.push((m + w.rng.range(1, 3), Action::AntiviralStart));
                }
            }
            Action::AntiviralStart => {
                let mol = w
                    .rng
                    .weighted(&[("sofosbuvir_velpatasvir", 60), ("glecaprevir_pibrentasvir", 40)]);
                treatment(w, gp, "hcv_antiviral", mol, "start");
                // 8 or 12 weeks of treatment.
                let months = if mol == "glecaprevir_pibrentasvir" { 2 } else { 3 };
                self.agenda.push((m + months, Action::AntiviralStop(mol)));
            }
            Action::AntiviralStop(mol) => {
                treatment(w, gp, "hcv_antiviral", mol, "stop");
                self.agenda.push((m + 3, Action::Control));
            }
            Action::Control => {
                let result = if w.rng.chance(0.95) { "negative" } else { "positive" };
                screening(w, lab, "hcv", "rna_pcr", result);
            }
            Action::Treat(kind, molecule, action) => {
                treatment(w, gp, kind, molecule, action);
                let (period, _, _) = course(kind);
                self.treatments.push(Treatment {
                    kind,
                    molecule,
                    since: m,
                    next_review: m + period,
                });
            }
        }
    }

    fn screen(&mut self, w: &mut Window, ts: Ts) {
        let m = w.m();
        let test = w.rng.weighted(&[("serology", 75), ("rapid_test", 25)]);
        let p_hcv = if self.hcv_tested {
            if self.injector { 0.05 } else { 0.01 }
        } else if self.drug_user {
            let by_age: f64 = match self.age {
                0..30 => 0.07,
                30..40 => 0.25,
                40..=45 => 0.46,
                _ => 0.63,
            };
            (by_age * if self.injector { 1.4 } else { 0.5 }).min(0.95)
        } else {
            0.02
        };
        self.hcv_tested = true;
        let hcv = result(w.rng, p_hcv, test == "serology");
        screening(w, ts, "hcv", test, hcv);
        match hcv {
            "positive" if w.rng.chance(0.93) => self.agenda.push((m + w.rng.range(1, 3), Action::Rna)),
            "negative" if self.injector && w.rng.chance(0.5) => self.agenda.push((m + 12, Action::Screen)),
            "indeterminate" => self.agenda.push((m + 1, Action::Screen)),
            _ => {}
        }
        if w.rng.chance(0.9) {
            let p = match (self.drug_user, self.injector) {
                (_, true) => 0.025,
                (true, false) => 0.01,
                _ => 0.003,
            };
            let hiv = result(w.rng, p, test == "serology");
            screening(w, ts, "hiv", test, hiv);
            if hiv == "positive" && w.rng.chance(0.85) {
                self.agenda
                    .push((m + 1, Action::Treat("hiv_art", "antiretroviral", "start")));
            }
        }
        if w.rng.chance(0.7) {
            let hbv = result(w.rng, if self.drug_user { 0.03 } else { 0.008 }, test == "serology");
            screening(w, ts, "hbv", test, hbv);
        }
    }

    fn treatments_month(&mut self, w: &mut Window) {
        let m = w.m();
        let mut i = 0;
        while i < self.treatments.len() {
            let Treatment {
                kind,
                molecule,
                since,
                next_review,
            } = self.treatments[i];
            let (period, p_stop, p_change) = course(kind);
            let action = if since == m {
                None
            } else if m >= next_review {
                Some("continue")
            } else if w.rng.chance(p_stop) {
                Some("stop")
            } else if w.rng.chance(p_change) {
                Some("change")
            } else {
                None
            };
            let Some(action) = action else {
                i += 1;
                continue;
            };
            let Some(day) = w.day() else { return };
            let ts = Ts::new(day, w.slot(8 * 60 + 30, 15, 42));
            match action {
                "continue" => {
                    treatment(w, ts, kind, molecule, action);
                    self.treatments[i].next_review = m + period;
                }
                "stop" => {
                    treatment(w, ts, kind, molecule, action);
                    self.treatments.swap_remove(i);
                    if kind == "opioid_substitution" && w.rng.chance(0.3) {
                        let at = m + w.rng.range(2, 12);
                        self.agenda.push((at, Action::Treat(kind, molecule, "start")));
                    }
                    continue;
                }
                _ => {
                    let new = switch(w.rng, kind, molecule);
                    treatment(w, ts, kind, new, action);
                    self.treatments[i].molecule = new;
                }
            }
            i += 1;
        }
    }
}

/// Another molecule of the same kind.
fn switch(rng: &mut Rng, kind: &str, current: &'static str) -> &'static str {
    let choices: W = match (kind, current) {
        ("opioid_substitution", "methadone") => &[("buprenorphine", 70), ("buprenorphine_naloxone", 30)],
        ("opioid_substitution", "buprenorphine") => &[("methadone", 50), ("buprenorphine_naloxone", 50)],
        ("opioid_substitution", _) => &[("buprenorphine", 60), ("methadone", 40)],
        ("alcohol_pharmacotherapy", _) => ALCOHOL,
        _ => PSYCHOTROPIC,
    };
    loop {
        let m = rng.weighted(choices);
        if m != current {
            return m;
        }
    }
}

fn result(rng: &mut Rng, p_positive: f64, serology: bool) -> &'static str {
    if serology && rng.chance(0.005) {
        "indeterminate"
    } else if rng.chance(p_positive) {
        "positive"
    } else {
        "negative"
    }
}

fn screening(w: &mut Window, ts: Ts, target: &'static str, test: &'static str, result: &'static str) {
    w.emit(ts, Body::Screening { target, test, result });
}

fn treatment(w: &mut Window, ts: Ts, kind: &'static str, molecule: &'static str, action: &'static str) {
    w.emit(
        ts,
        Body::Treatment {
            kind,
            molecule: Some(molecule),
            action,
        },
    );
}
