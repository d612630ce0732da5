//! The RECAP product items of one assessed product, consistent with the product: usual
//! route, frequency over 30 days, use level, age at first use, injection and drinks.

use crate::product::is_drug;
use crate::rng::Rng;

type W = &'static [(&'static str, u32)];

/// One product or behaviour assessed at inclusion (RECAP product items).
pub struct Assessment {
    pub product: &'static str,
    pub origin_of_care: bool,
    pub route: Option<&'static str>,
    pub frequency_30d: Option<&'static str>,
    pub use_level: Option<&'static str>,
    pub age_first_use: Option<u32>,
    pub ever_injected: Option<bool>,
    pub syringe_sharing: Option<bool>,
    pub standard_drinks_per_day: Option<u32>,
}

pub fn assess(rng: &mut Rng, product: &'static str, origin: bool, age: u32, injector: bool) -> Assessment {
    let route = route(rng, product, injector);
    let frequency_30d = rng.chance(0.95).then(|| rng.weighted(frequency(product, origin)));
    let use_level = rng.chance(0.95).then(|| {
        let w: W = match (origin, product) {
            (true, _) => &[("dependence", 62), ("harmful_use", 28), ("use", 10)],
            (false, "tobacco") => &[("dependence", 70), ("harmful_use", 15), ("use", 15)],
            _ => &[("dependence", 20), ("harmful_use", 35), ("use", 45)],
        };
        rng.weighted(w)
    });
    let age_first_use = rng.chance(0.85).then(|| {
        let (lo, hi) = first_use(product);
        let span = hi - lo + 1;
        let x = lo + rng.range(0, span - 1).min(rng.range(0, span - 1));
        x.min(age).max(5)
    });
    let drug = is_drug(product);
    let ever_injected = drug.then_some(injector || route == Some("injected"));
    let syringe_sharing = (drug && injector).then(|| rng.chance(0.25));
    let standard_drinks_per_day = (product == "alcohol" && rng.chance(0.75)).then(|| {
        let (lo, hi) = match use_level {
            Some("dependence") => (6, 20),
            Some("harmful_use") => (3, 8),
            Some(_) => (1, 4),
            None => (2, 10),
        };
        rng.range(lo, hi).min(rng.range(lo, hi))
    });
    Assessment {
        product,
        origin_of_care: origin,
        route,
        frequency_30d,
        use_level,
        age_first_use,
        ever_injected,
        syringe_sharing,
        standard_drinks_per_day,
    }
}

/// Usual route; none for behavioural addictions, and injection only for injectors.
fn route(rng: &mut Rng, product: &str, injector: bool) -> Option<&'static str> {
    let w: W = match (product, injector) {
        ("gambling" | "screens", _) => return None,
        ("tobacco" | "cannabis" | "crack", _) => &[("smoked", 1)],
        ("heroin", true) => &[("injected", 45), ("sniffed", 35), ("smoked", 20)],
        ("heroin", false) => &[("sniffed", 65), ("smoked", 35)],
        ("buprenorphine_misused", true) => &[("injected", 50), ("sniffed", 35), ("oral", 15)],
        ("buprenorphine_misused", false) => &[("sniffed", 60), ("oral", 40)],
        ("cocaine", true) => &[("injected", 30), ("sniffed", 60), ("smoked", 10)],
        ("cocaine", false) => &[("sniffed", 85), ("smoked", 15)],
        ("amphetamines", true) => &[("injected", 20), ("sniffed", 40), ("oral", 40)],
        ("amphetamines", false) => &[("sniffed", 50), ("oral", 50)],
        ("other_opioids", _) => &[("oral", 90), ("sniffed", 10)],
        ("other_substance", _) => &[("oral", 70), ("other", 30)],
        _ => &[("oral", 1)],
    };
    rng.chance(0.97).then(|| rng.weighted(w))
}

fn frequency(product: &str, origin: bool) -> W {
    match (product, origin) {
        ("tobacco" | "screens", _) => &[("daily", 90), ("several_per_week", 10)],
        (_, false) => &[
            ("daily", 20),
            ("several_per_week", 30),
            ("weekly", 25),
            ("less_than_weekly", 25),
        ],
        ("alcohol" | "benzodiazepines", _) => &[
            ("daily", 60),
            ("several_per_week", 25),
            ("weekly", 10),
            ("less_than_weekly", 5),
        ],
        ("cannabis", _) => &[
            ("daily", 55),
            ("several_per_week", 25),
            ("weekly", 12),
            ("less_than_weekly", 8),
        ],
        ("cocaine" | "crack", _) => &[
            ("daily", 25),
            ("several_per_week", 35),
            ("weekly", 25),
            ("less_than_weekly", 15),
        ],
        ("gambling", _) => &[
            ("daily", 30),
            ("several_per_week", 40),
            ("weekly", 25),
            ("less_than_weekly", 5),
        ],
        // Opioids: some no longer use, already on substitution.
        _ => &[
            ("daily", 55),
            ("several_per_week", 20),
            ("weekly", 10),
            ("less_than_weekly", 5),
            ("not_used", 10),
        ],
    }
}

/// Range of the age at first use (the low end is the likeliest).
fn first_use(product: &str) -> (u32, u32) {
    match product {
        "tobacco" => (11, 18),
        "alcohol" | "cannabis" => (12, 22),
        "heroin" | "buprenorphine_misused" | "cocaine" => (15, 35),
        "methadone_misused" | "crack" => (17, 40),
        "other_opioids" | "benzodiazepines" | "gambling" => (15, 50),
        "screens" => (8, 30),
        _ => (15, 30),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consistent_items() {
        let mut rng = Rng::new(11);
        for i in 0..5000 {
            let injector = i % 2 == 0;
            for p in ["heroin", "cocaine", "gambling", "alcohol", "tobacco"] {
                let a = assess(&mut rng, p, i % 3 == 0, 30, injector);
                if p == "gambling" {
                    assert!(a.route.is_none() && a.ever_injected.is_none());
                }
                if a.route == Some("injected") {
                    assert_eq!(a.ever_injected, Some(true));
                    assert!(injector);
                }
                assert!(a.age_first_use.is_none_or(|x| (5..=30).contains(&x)));
                if p != "alcohol" {
                    assert!(a.standard_drinks_per_day.is_none());
                }
            }
        }
    }
}
