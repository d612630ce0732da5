//! Who a patient is at inclusion: sex, age, the RECAP socio-demographic items and the
//! products assessed. Distributions follow `docs` calibration (domain.md) and differ by
//! sex where the seed figures show that they do.

use crate::assess::{Assessment, assess};
use crate::product::{is_drug, is_opioid};
use crate::rng::Rng;
use chrono::{Days, Months, NaiveDate};

pub struct Profile {
    /// "F", "M" or "U".
    pub sex: &'static str,
    /// For names and the NIR's sex digit (drawn at random when the sex is "U").
    pub female: bool,
    /// Completed years at inclusion.
    pub age: u32,
    pub birth: NaiveDate,
    pub referral_origin: &'static str,
    pub first_reason: &'static str,
    pub housing: &'static str,
    pub household: Option<&'static str>,
    pub main_income: &'static str,
    pub professional_activity: &'static str,
    pub health_cover: Option<&'static str>,
    pub education: Option<&'static str>,
    pub prior_care: bool,
    /// The first one is the product at the origin of care.
    pub substances: Vec<Assessment>,
    pub injector: bool,
}

impl Profile {
    pub fn origin(&self) -> &'static str {
        self.substances[0].product
    }

    pub fn uses(&self, product: &str) -> bool {
        self.substances.iter().any(|s| s.product == product)
    }

    pub fn drug_user(&self) -> bool {
        self.substances.iter().any(|s| is_drug(s.product))
    }

    /// Precarity as first reason, or precarious housing or income: the social worker
    /// sees these patients more.
    pub fn social_need(&self) -> bool {
        self.first_reason == "precarity" || self.housing != "durable" || matches!(self.main_income, "rsa" | "none")
    }

    pub fn draw(rng: &mut Rng, inclusion: NaiveDate) -> Self {
        let sex = rng.weighted(&[("F", 50), ("M", 48), ("U", 2)]);
        let female = match sex {
            "F" => true,
            "M" => false,
            _ => rng.chance(0.5),
        };
        // Mean completed age 43.5 (F) and 42 (M) once truncated to 18..=80 (seed, Alsace 2021).
        let mean = match sex {
            "F" => 43.7,
            "M" => 42.2,
            _ => 43.0,
        };
        let age = loop {
            let a = mean + 11.0 * rng.normal();
            if (18.0..81.0).contains(&a) {
                break a as u32;
            }
        };
        let birth = inclusion
            .checked_sub_months(Months::new(12 * age))
            .and_then(|d| d.checked_sub_days(Days::new(rng.below(365))))
            .expect("birth date in range");

        let first_reason = if female {
            rng.weighted(&[("addiction", 66), ("precarity", 24), ("mental_health", 10)])
        } else {
            rng.weighted(&[("addiction", 74), ("precarity", 16), ("mental_health", 10)])
        };
        let housing = if first_reason == "precarity" {
            rng.weighted(&[
                ("durable", 45),
                ("precarious", 35),
                ("homeless", 17),
                ("institution", 3),
            ])
        } else {
            rng.weighted(&[("durable", 80), ("precarious", 13), ("homeless", 5), ("institution", 2)])
        };
        let main_income = income(rng, female, age);
        let professional_activity = activity(rng, main_income, age);
        let household = rng.chance(0.97).then(|| household(rng, female, age, housing));
        let health_cover = rng.chance(0.97).then(|| {
            if matches!(main_income, "rsa" | "none") || housing == "homeless" {
                rng.weighted(&[
                    ("general_scheme", 25),
                    ("css", 65),
                    ("ame", 5),
                    ("none", 3),
                    ("other", 2),
                ])
            } else {
                rng.weighted(&[
                    ("general_scheme", 76),
                    ("css", 18),
                    ("ame", 1),
                    ("none", 1),
                    ("other", 4),
                ])
            }
        });
        let education = rng.chance(0.94).then(|| {
            rng.weighted(&[
                ("none", 4),
                ("primary", 10),
                ("secondary", 30),
                ("vocational", 28),
                ("baccalaureate", 16),
                ("higher", 12),
            ])
        });
        let referral_origin = referral(rng, first_reason);

        let products = products(rng, female, age);
        let injector = products.iter().any(|p| is_drug(p)) && rng.chance(0.55);
        let prior_care = rng.chance(if is_opioid(products[0]) { 0.8 } else { 0.4 });
        let substances = products
            .iter()
            .enumerate()
            .map(|(i, p)| assess(rng, p, i == 0, age, injector))
            .collect();
        Self {
            sex,
            female,
            age,
            birth,
            referral_origin,
            first_reason,
            housing,
            household,
            main_income,
            professional_activity,
            health_cover,
            education,
            prior_care,
            substances,
            injector,
        }
    }
}

/// Main income: women more often third party, AAH or RSA (seed figure 4).
fn income(rng: &mut Rng, female: bool, age: u32) -> &'static str {
    if age >= 62 && rng.chance(0.7) {
        return "other"; // a pension
    }
    if age < 25 && rng.chance(0.3) {
        return "third_party";
    }
    if female {
        rng.weighted(&[
            ("employment", 30),
            ("unemployment_benefit", 10),
            ("rsa", 22),
            ("aah", 13),
            ("other_benefits", 8),
            ("third_party", 10),
            ("none", 4),
            ("other", 3),
        ])
    } else {
        rng.weighted(&[
            ("employment", 35),
            ("unemployment_benefit", 12),
            ("rsa", 18),
            ("aah", 10),
            ("other_benefits", 8),
            ("third_party", 4),
            ("none", 9),
            ("other", 4),
        ])
    }
}

fn activity(rng: &mut Rng, income: &str, age: u32) -> &'static str {
    match income {
        "employment" => "employed",
        "unemployment_benefit" => "unemployed",
        "rsa" => rng.weighted(&[("unemployed", 65), ("inactive", 35)]),
        "aah" => rng.weighted(&[("disability", 85), ("inactive", 15)]),
        "other_benefits" => rng.weighted(&[("inactive", 50), ("unemployed", 30), ("disability", 20)]),
        "third_party" if age < 30 => rng.weighted(&[("student", 40), ("inactive", 45), ("unemployed", 15)]),
        "third_party" => rng.weighted(&[("inactive", 80), ("unemployed", 20)]),
        "none" => rng.weighted(&[("unemployed", 60), ("inactive", 40)]),
        _ if age >= 62 => "retired",
        _ => "inactive",
    }
}

fn household(rng: &mut Rng, female: bool, age: u32, housing: &str) -> &'static str {
    if housing == "homeless" || housing == "institution" {
        return rng.weighted(&[("alone", 85), ("other", 15)]);
    }
    if age < 26 && rng.chance(0.4) {
        return "parents";
    }
    if female {
        rng.weighted(&[
            ("alone", 30),
            ("couple", 15),
            ("couple_with_children", 17),
            ("alone_with_children", 22),
            ("parents", 9),
            ("other", 7),
        ])
    } else {
        rng.weighted(&[
            ("alone", 45),
            ("couple", 15),
            ("couple_with_children", 15),
            ("alone_with_children", 4),
            ("parents", 14),
            ("other", 7),
        ])
    }
}

fn referral(rng: &mut Rng, first_reason: &str) -> &'static str {
    let (social, psy) = match first_reason {
        "precarity" => (20, 4),
        "mental_health" => (6, 16),
        _ => (5, 3),
    };
    rng.weighted(&[
        ("self_or_family", 40),
        ("general_practitioner", 25),
        ("csapa", 8),
        ("caarud", 3),
        ("hospital", 8),
        ("psychiatry", psy),
        ("social_services", social),
        ("justice", 3),
        ("other", 2),
    ])
}

/// The product at the origin of care first (alcohol 45%, opioids 25%, cannabis 10%,
/// tobacco 7%, cocaine/crack 5%, medicines 5%, behavioural 3% overall; women more
/// alcohol and medicines, men more opioids and cannabis; cannabis younger, alcohol
/// older), then up to two other products.
fn products(rng: &mut Rng, female: bool, age: u32) -> Vec<&'static str> {
    let band = match age {
        0..30 => 0,
        30..=45 => 1,
        _ => 2,
    };
    let by_age = |w: [u32; 3]| w[band];
    let sexed = |f: u32, m: u32| if female { f } else { m };
    let group = rng.weighted(&[
        (0, sexed(48, 42) * by_age([5, 10, 13])),
        (1, sexed(21, 29) * by_age([9, 12, 8])),
        (2, sexed(8, 12) * by_age([25, 9, 5])),
        (3, sexed(8, 6) * by_age([8, 10, 11])),
        (4, sexed(4, 6) * by_age([12, 11, 7])),
        (5, sexed(8, 2) * by_age([8, 10, 11])),
        (6, 3 * by_age([20, 10, 6])),
    ]);
    let origin = match group {
        0 => "alcohol",
        1 => rng.weighted(&[
            ("heroin", 45),
            ("buprenorphine_misused", 25),
            ("methadone_misused", 10),
            ("other_opioids", 20),
        ]),
        2 => "cannabis",
        3 => "tobacco",
        4 => rng.weighted(&[("cocaine", 75), ("crack", 25)]),
        5 => "benzodiazepines",
        _ => rng.weighted(&[("gambling", 60), ("screens", 40)]),
    };
    let mut list = vec![origin];
    let mut add = |rng: &mut Rng, p: &'static str, chance: f64| {
        if list.len() < 3 && !list.contains(&p) && rng.chance(chance) {
            list.push(p);
        }
    };
    add(rng, "tobacco", 0.65);
    add(rng, "cannabis", if age < 35 { 0.3 } else { 0.15 });
    add(rng, "alcohol", 0.2);
    if is_opioid(origin) {
        add(rng, "cocaine", 0.2);
        add(rng, "benzodiazepines", 0.12);
    }
    if origin == "cocaine" || origin == "cannabis" {
        add(rng, "mdma", 0.05);
        add(rng, "amphetamines", 0.05);
    }
    list
}
