//! Generalisation of quasi-identifiers, set per study by a [`Policy`]: event dates
//! truncated to a period, birth dates turned into an age and an age band, postcodes into
//! a département and a region; and what the study takes at all: its networks, and a
//! window of years.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How precisely event dates are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Day,
    /// The Monday of the ISO week.
    Week,
    Month,
    Quarter,
    Year,
}

impl Granularity {
    /// The first day of the period that holds `date`.
    pub fn truncate(self, date: NaiveDate) -> NaiveDate {
        let first_of = |month| NaiveDate::from_ymd_opt(date.year(), month, 1).expect("valid month");
        match self {
            Self::Day => date,
            Self::Week => date - chrono::Days::new(date.weekday().num_days_from_monday() as u64),
            Self::Month => first_of(date.month()),
            Self::Quarter => first_of((date.month() - 1) / 3 * 3 + 1),
            Self::Year => first_of(1),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Quarter => "quarter",
            Self::Year => "year",
        }
    }
}

/// A study's generalisation policy. Every field has a default, so an empty file (or no
/// file) gives the default policy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Precision of event dates (`occurred_on`).
    pub date_granularity: Granularity,
    /// Width of age bands, in years (1 to 20).
    pub age_band_years: u8,
    /// Ages from this one up share a single open band ("75+").
    pub age_top_code: u8,
    /// Keep the age in years beside its band, top-coded with it: from `age_top_code`
    /// up, `age_years` is `age_top_code` ("75 or more", as the band "75+").
    pub keep_age_years: bool,
    /// The networks whose events the study takes: a zone holds no other network id (they
    /// are folder names), and an event of another network is dead-lettered.
    pub networks: Vec<String>,
    /// Event years accepted: from the year of the run minus this many to the year of
    /// the run; an event of another year is dead-lettered.
    pub years_back: u8,
    /// The lowest `--threshold` a report may use (counts below it are masked): 11, the
    /// CASD rule, unless the study's data steward decides otherwise.
    pub min_cell_count: u64,
}

/// The regional networks the CNRMS counts (reseaux-rms.org, 2023), and msma's generator
/// simulates: the networks of a policy that declares none.
pub const CNRMS_NETWORKS: &[&str] = &[
    "RMS-ALSACE",
    "RMS-PACA",
    "RMS-GRAND-EST",
    "RMS-HDF",
    "RMS-IDF",
    "RMS-BFC",
    "RMS-OCCITANIE",
];

impl Default for Policy {
    fn default() -> Self {
        Self {
            date_granularity: Granularity::Month,
            age_band_years: 5,
            age_top_code: 75,
            keep_age_years: true,
            networks: CNRMS_NETWORKS.iter().map(|n| n.to_string()).collect(),
            years_back: 10,
            min_cell_count: 11,
        }
    }
}

/// A policy file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    #[error("policy file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("policy file {path}: {message}")]
    Invalid { path: String, message: String },
}

impl Policy {
    /// Reads a TOML policy file; unknown keys are errors.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text).map_err(|message| PolicyError::Invalid { path: shown, message })
    }

    /// Reads the text of a policy file; unknown keys and values out of range are errors,
    /// which name the key, the rule and the line, never the value.
    pub fn parse(text: &str) -> Result<Self, String> {
        let policy: Policy =
            toml::from_str(text).map_err(|e| msma_schema::redact::at(text, e.span(), e.message(), Self::KEYS))?;
        policy.check()?;
        Ok(policy)
    }

    fn check(&self) -> Result<(), String> {
        if !(1..=20).contains(&self.age_band_years) {
            return Err("age_band_years must be from 1 to 20".into());
        }
        if !(18..=120).contains(&self.age_top_code) {
            return Err("age_top_code must be from 18 to 120".into());
        }
        if self.networks.is_empty() {
            return Err("networks: at least one network expected".into());
        }
        for (i, n) in self.networks.iter().enumerate() {
            msma_schema::network_id_rule(n).map_err(|rule| format!("networks[{i}]: {rule}"))?;
            if self.networks[..i].contains(n) {
                return Err(format!("networks[{i}]: declared twice"));
            }
        }
        if self.years_back > 99 {
            return Err("years_back must be from 0 to 99".into());
        }
        if self.min_cell_count == 0 {
            return Err("min_cell_count must be at least 1".into());
        }
        Ok(())
    }

    /// The keys of a policy file.
    const KEYS: &[&str] = &[
        "date_granularity",
        "age_band_years",
        "age_top_code",
        "keep_age_years",
        "networks",
        "years_back",
        "min_cell_count",
    ];

    /// Whether the study takes the events of `network`.
    pub fn declares(&self, network: &str) -> bool {
        self.networks.iter().any(|n| n == network)
    }

    /// The event years accepted in a run of year `now`.
    pub fn accepted_years(&self, now: i32) -> std::ops::RangeInclusive<i32> {
        now - i32::from(self.years_back)..=now
    }

    /// `age_years` as the dataset holds it: top-coded with the band.
    pub fn age_years(&self, age: u8) -> u8 {
        age.min(self.age_top_code)
    }

    /// Age in whole years on `on`, or `None` when the birth date is after it or the
    /// age is beyond 120 (a data error, not a person).
    pub fn age(&self, birth: NaiveDate, on: NaiveDate) -> Option<u8> {
        let years = on.years_since(birth)?;
        (years <= 120).then_some(years as u8)
    }

    /// The age band of an age: "40-44" for 5-year bands, "75+" from the top code.
    pub fn age_band(&self, age: u8) -> String {
        if age >= self.age_top_code {
            return format!("{}+", self.age_top_code);
        }
        let w = self.age_band_years;
        let low = age / w * w;
        let high = (low + w - 1).min(self.age_top_code - 1);
        if w == 1 {
            low.to_string()
        } else {
            format!("{low}-{high}")
        }
    }
}

/// The département of a postcode (INSEE code: "67", "2A", "974"), or `None` when the
/// postcode belongs to no département. A postcode follows its distribution office, so a
/// few communes map to a neighbouring département: acceptable for generalisation.
pub fn departement(postcode: &str) -> Option<&'static str> {
    let b = postcode.as_bytes();
    if b.len() != 5 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = match &postcode[..2] {
        "20" => {
            if b[2] <= b'1' {
                "2A"
            } else {
                "2B"
            }
        }
        "97" | "98" => &postcode[..3],
        two => two,
    };
    REGIONS.iter().find(|(d, _)| *d == code).map(|(d, _)| *d)
}

/// The INSEE region code of a département, or `None` outside the regions (overseas
/// collectivities).
pub fn region_of(departement: &str) -> Option<&'static str> {
    REGIONS.iter().find(|(d, _)| *d == departement).and_then(|(_, r)| *r)
}

/// Département → INSEE region (2016 regions).
static REGIONS: &[(&str, Option<&str>)] = &{
    const fn r(d: &'static str, r: &'static str) -> (&'static str, Option<&'static str>) {
        (d, Some(r))
    }
    [
        r("01", "84"),
        r("02", "32"),
        r("03", "84"),
        r("04", "93"),
        r("05", "93"),
        r("06", "93"),
        r("07", "84"),
        r("08", "44"),
        r("09", "76"),
        r("10", "44"),
        r("11", "76"),
        r("12", "76"),
        r("13", "93"),
        r("14", "28"),
        r("15", "84"),
        r("16", "75"),
        r("17", "75"),
        r("18", "24"),
        r("19", "75"),
        r("21", "27"),
        r("22", "53"),
        r("23", "75"),
        r("24", "75"),
        r("25", "27"),
        r("26", "84"),
        r("27", "28"),
        r("28", "24"),
        r("29", "53"),
        r("2A", "94"),
        r("2B", "94"),
        r("30", "76"),
        r("31", "76"),
        r("32", "76"),
        r("33", "75"),
        r("34", "76"),
        r("35", "53"),
        r("36", "24"),
        r("37", "24"),
        r("38", "84"),
        r("39", "27"),
        r("40", "75"),
        r("41", "24"),
        r("42", "84"),
        r("43", "84"),
        r("44", "52"),
        r("45", "24"),
        r("46", "76"),
        r("47", "75"),
        r("48", "76"),
        r("49", "52"),
        r("50", "28"),
        r("51", "44"),
        r("52", "44"),
        r("53", "52"),
        r("54", "44"),
        r("55", "44"),
        r("56", "53"),
        r("57", "44"),
        r("58", "27"),
        r("59", "32"),
        r("60", "32"),
        r("61", "28"),
        r("62", "32"),
        r("63", "84"),
        r("64", "75"),
        r("65", "76"),
        r("66", "76"),
        r("67", "44"),
        r("68", "44"),
        r("69", "84"),
        r("70", "27"),
        r("71", "27"),
        r("72", "52"),
        r("73", "84"),
        r("74", "84"),
        r("75", "11"),
        r("76", "28"),
        r("77", "11"),
        r("78", "11"),
        r("79", "75"),
        r("80", "32"),
        r("81", "76"),
        r("82", "76"),
        r("83", "93"),
        r("84", "93"),
        r("85", "52"),
        r("86", "75"),
        r("87", "75"),
        r("88", "44"),
        r("89", "27"),
        r("90", "27"),
        r("91", "11"),
        r("92", "11"),
        r("93", "11"),
        r("94", "11"),
        r("95", "11"),
        r("971", "01"),
        r("972", "02"),
        r("973", "03"),
        r("974", "04"),
        r("976", "06"),
        ("975", None),
        ("977", None),
        ("978", None),
        ("986", None),
        ("987", None),
        ("988", None),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn dates() {
        assert_eq!(Granularity::Month.truncate(d("2024-03-17")), d("2024-03-01"));
        assert_eq!(Granularity::Week.truncate(d("2024-03-17")), d("2024-03-11"));
        assert_eq!(Granularity::Quarter.truncate(d("2024-08-17")), d("2024-07-01"));
        assert_eq!(Granularity::Year.truncate(d("2024-08-17")), d("2024-01-01"));
    }

    #[test]
    fn ages() {
        let p = Policy::default();
        assert_eq!(p.age(d("1980-03-18"), d("2024-03-17")), Some(43));
        assert_eq!(p.age(d("1980-03-17"), d("2024-03-17")), Some(44));
        assert_eq!(p.age(d("2025-01-01"), d("2024-03-17")), None);
        assert_eq!(p.age_band(43), "40-44");
        assert_eq!(p.age_band(75), "75+");
        assert_eq!(p.age_band(17), "15-19");
        let odd = Policy {
            age_band_years: 10,
            age_top_code: 75,
            ..Policy::default()
        };
        assert_eq!(odd.age_band(72), "70-74");
        assert_eq!(p.age_years(103), 75);
        assert_eq!(p.age_years(74), 74);
    }

    #[test]
    fn networks_and_years() {
        let p = Policy::default();
        assert!(p.declares("RMS-IDF") && !p.declares("SANTONI-JEAN"));
        assert_eq!(p.accepted_years(2026), 2016..=2026);
        for (text, error) in [
            ("networks = []", "networks: at least one"),
            ("networks = [\"RMS-A\", \"0612345678\"]", "networks[1]: expected"),
            (
                "networks = [\"R-06-12-34-56-78\"]",
                "networks[0]: shaped like an identifier (phone)",
            ),
            ("networks = [\"RMS-A\", \"RMS-A\"]", "networks[1]: declared twice"),
            ("years_back = 100", "years_back must be"),
        ] {
            let e = Policy::parse(text).unwrap_err();
            assert!(e.starts_with(error), "{text}: {e}");
            assert!(!e.contains("0612345678"), "{e}");
        }
    }

    #[test]
    fn the_key_list_is_the_structs() {
        let e = toml::from_str::<Policy>("zz = 1").unwrap_err().message().to_owned();
        let listed: Vec<&str> = e.split('`').skip(3).step_by(2).collect();
        assert_eq!(listed, Policy::KEYS, "{e}");
    }

    #[test]
    fn errors_quote_no_value() {
        let e = Policy::parse("age_band_years = 5\nage_top_code = \"3f9a0b12c4d5\"\n").unwrap_err();
        assert!(
            e.contains("line 2") && e.contains("age_top_code") && !e.contains("3f9a"),
            "{e}"
        );
    }

    #[test]
    fn geography() {
        assert_eq!(departement("67000"), Some("67"));
        assert_eq!(departement("20000"), Some("2A"));
        assert_eq!(departement("20200"), Some("2B"));
        assert_eq!(departement("97411"), Some("974"));
        assert_eq!(departement("00100"), None);
        assert_eq!(departement("6700"), None);
        assert_eq!(region_of("67"), Some("44"));
        assert_eq!(region_of("2B"), Some("94"));
        assert_eq!(region_of("975"), None);
    }

    #[test]
    fn policy_file_is_strict() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("policy.toml");
        std::fs::write(&p, "date_granularity = \"week\"\n").unwrap();
        assert_eq!(Policy::load(&p).unwrap().date_granularity, Granularity::Week);
        std::fs::write(&p, "date_granularty = \"week\"\n").unwrap();
        let e = Policy::load(&p).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("date_granularty"), "{e}");
        std::fs::write(&p, "age_band_years = 0\n").unwrap();
        assert!(Policy::load(&p).is_err());
    }
}

#[cfg(test)]
mod example {
    #[test]
    fn the_documented_example_is_the_default_policy() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/policy.example.toml");
        assert_eq!(super::Policy::load(&path).unwrap(), super::Policy::default());
    }
}
