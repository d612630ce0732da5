//! Synthetic event streams for msma: French addiction-care microstructures, their
//! patients, consultations, synthesis meetings, screenings, treatments and yearly
//! forfait claims, as NDJSON events of the msma event contract.
//!
//! The simulation runs month by month over the active patients of every microstructure
//! of the selected networks, emits each month's events sorted by `occurred_at`, and
//! forgets patients whose follow-up ended: memory stays bounded whatever the number of
//! events asked for. Everything random comes from the crate's own PRNG ([`rng`]), one
//! stream per microstructure, so a spec always gives the same bytes, and a network's
//! events do not depend on which other networks are selected.
//!
//! Calibration figures and their sources are in the domain reference; each module
//! states the ones it implements.
//!
//! Conventions a consumer may rely on:
//! - `patient_inclusion` is a patient's first event (its substance assessments follow
//!   one minute apart); `follow_up_end` is the last one, except for the forfait claim
//!   of the year of the end, sent the next January.
//! - Only `patient_inclusion` carries identity fields (none but sex and birth date for
//!   the ~5% anonymous patients); `forfait_claim` carries the INS when one is known;
//!   other events carry `local_id` alone, unique per network.
//! - A forfait claim's counts are the consultations held (`no_show` false) with the GP,
//!   the psychologist and the social worker, and the synthesis-meeting reviews, of the
//!   patient in that year; claims exist for the years from 2020.
//! - Events occur on French working days (weekdays that are not public holidays),
//!   08:00 to 19:00 Europe/Paris time.

mod assess;
mod calendar;
mod care;
mod emit;
mod geo;
mod identity;
mod invalid;
mod ms;
mod patient;
mod product;
mod profile;
mod rng;
mod window;

use calendar::Month;
use chrono::{Datelike, NaiveDate};
use emit::Batch;
use ms::Microstructure;
use std::io::{self, Write};

/// Amount of the yearly flat rate per patient followed (528 EUR, santementale.fr).
pub(crate) const FORFAIT_CENTS: u32 = 52_800;
/// Claims exist from the Equip'Addict experimentation on (July 2020).
pub(crate) const FIRST_FORFAIT_YEAR: i32 = 2020;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Number of NDJSON lines to write.
    pub events: u64,
    pub seed: u64,
    /// Network codes (see [`network_codes`]); empty means all.
    pub networks: Vec<String>,
    /// First day simulated (years 2000 to 2099).
    pub start: NaiveDate,
    /// Lines per million replaced by a realistic broken event.
    pub invalid_per_million: u32,
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            events: 10_000,
            seed: 1,
            networks: Vec::new(),
            start: NaiveDate::from_ymd_opt(2021, 1, 1).expect("valid date"),
            invalid_per_million: 0,
        }
    }
}

/// The lines [`generate`] would write, each without its newline (for benchmarks and
/// tests that feed events one by one).
pub fn lines(spec: &Spec) -> io::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    generate(spec, &mut out)?;
    Ok(out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect())
}

/// What was generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Lines written (always `Spec::events`).
    pub events: u64,
    /// Lines replaced by a broken event.
    pub invalid: u64,
    /// `patient_inclusion` lines written (broken ones included).
    pub patients: u64,
    /// Dates of the earliest and latest events written (the start date when none).
    pub first: NaiveDate,
    pub last: NaiveDate,
}

/// The network codes (`network_id` values) the generator knows.
pub fn network_codes() -> &'static [&'static str] {
    const CODES: [&str; geo::NETWORKS.len()] = {
        let mut codes = [""; geo::NETWORKS.len()];
        let mut i = 0;
        while i < codes.len() {
            codes[i] = geo::NETWORKS[i].code;
            i += 1;
        }
        codes
    };
    &CODES
}

/// Writes exactly `spec.events` NDJSON lines to `out`.
pub fn generate(spec: &Spec, out: &mut impl Write) -> io::Result<Summary> {
    if !(2000..=2099).contains(&spec.start.year()) {
        return Err(invalid_input(format!(
            "start {}: expected a date from 2000 to 2099",
            spec.start
        )));
    }
    let mut world = World::new(spec)?;
    let mut corrupt = invalid::Corruptor::new(spec.seed, spec.invalid_per_million);
    let mut summary = Summary {
        events: 0,
        invalid: 0,
        patients: 0,
        first: spec.start,
        last: spec.start,
    };
    let epoch = Month::index_of(spec.start);
    let mut index = epoch;
    let mut batch = Batch::default();
    let mut buf = Vec::with_capacity(1 << 22);
    while summary.events < spec.events {
        let month = Month::new(index);
        let lo = if index == epoch { spec.start.day() as u8 } else { 1 };
        batch.clear();
        world.month(&month, lo, epoch, &mut batch);
        batch.sort();
        buf.clear();
        for (entry, line) in batch.lines().take((spec.events - summary.events) as usize) {
            if corrupt.line(line, &mut buf) {
                summary.invalid += 1;
            }
            buf.push(b'\n');
            summary.patients += u64::from(entry.inclusion);
            let date = month.date(entry.day);
            if summary.events == 0 {
                (summary.first, summary.last) = (date, date);
            }
            summary.first = summary.first.min(date);
            summary.last = summary.last.max(date);
            summary.events += 1;
        }
        out.write_all(&buf)?;
        index += 1;
        // occurred_at must stay before 2100: a longer run replays the calendar from
        // the start with new patients (local ids keep counting).
        if index / 12 >= 2100 {
            index = epoch;
            world.restart();
        }
    }
    out.flush()?;
    Ok(summary)
}

fn invalid_input(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// The microstructures of the selected networks.
struct World {
    networks: Vec<(&'static geo::Network, Vec<Microstructure>, u32)>,
}

impl World {
    fn new(spec: &Spec) -> io::Result<Self> {
        for n in &spec.networks {
            if !network_codes().contains(&n.as_str()) {
                let known = network_codes().join(", ");
                return Err(invalid_input(format!("unknown network {n:?} (known: {known})")));
            }
        }
        let networks = geo::NETWORKS
            .iter()
            .filter(|n| spec.networks.is_empty() || spec.networks.iter().any(|s| s == n.code))
            .map(|net| (net, layout(net, spec.seed), 0))
            .collect();
        Ok(Self { networks })
    }

    fn month(&mut self, month: &Month, lo: u8, epoch: u32, batch: &mut Batch) {
        for (net, list, next_local) in &mut self.networks {
            for ms in list {
                ms.month(net, month, lo, epoch, next_local, batch);
            }
        }
    }

    fn restart(&mut self) {
        for (_, list, _) in &mut self.networks {
            list.iter_mut().for_each(Microstructure::restart);
        }
    }
}

/// The network's microstructures, spread over its départements by weight (largest
/// remainders), numbered within each département: MS-67-001, MS-67-002...
fn layout(net: &geo::Network, seed: u64) -> Vec<Microstructure> {
    let total: u32 = net.depts.iter().map(|d| d.1).sum();
    let n = net.microstructures;
    let mut counts: Vec<u32> = net.depts.iter().map(|d| d.1 * n / total).collect();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(net.depts[i].1 * n % total));
    for &i in order.iter().cycle().take((n - counts.iter().sum::<u32>()) as usize) {
        counts[i] += 1;
    }
    net.depts
        .iter()
        .zip(counts)
        .flat_map(|(&(dept, _), c)| (1..=c).map(move |k| Microstructure::new(seed, dept, k)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_counts() {
        for net in &geo::NETWORKS {
            let list = layout(net, 1);
            assert_eq!(list.len() as u32, net.microstructures);
        }
        let alsace: Vec<String> = layout(&geo::NETWORKS[0], 1).into_iter().map(|m| m.id).collect();
        assert_eq!(alsace.iter().filter(|id| id.starts_with("MS-67-")).count(), 9);
        assert_eq!(alsace[0], "MS-67-001");
        assert_eq!(network_codes()[0], "RMS-ALSACE");
        // A default policy takes the generated networks: `msma demo` and the README
        // commands ingest what `msma generate` makes.
        assert_eq!(network_codes(), msma_pseudo::CNRMS_NETWORKS);
    }

    #[test]
    fn exact_line_count_and_bad_specs() {
        for events in [0, 1, 7, 2_345] {
            let spec = Spec {
                events,
                networks: vec!["RMS-BFC".into()],
                ..Spec::default()
            };
            let mut out = Vec::new();
            let s = generate(&spec, &mut out).unwrap();
            assert_eq!(s.events, events);
            assert_eq!(out.iter().filter(|&&b| b == b'\n').count() as u64, events);
        }
        let bad = Spec {
            networks: vec!["RMS-NOWHERE".into()],
            ..Spec::default()
        };
        assert!(generate(&bad, &mut Vec::new()).is_err());
        let old = Spec {
            start: NaiveDate::from_ymd_opt(1999, 1, 1).unwrap(),
            ..Spec::default()
        };
        assert!(generate(&old, &mut Vec::new()).is_err());
    }
}
