//! A microstructure: its team, its active file of patients, its monthly synthesis
//! meeting, its inclusions, and its yearly forfait claims.

use crate::calendar::{Month, Ts};
use crate::emit::{Batch, Body, Head, Who};
use crate::geo::{self, Network};
use crate::identity::Identity;
use crate::patient::{Meeting, Patient, Team};
use crate::profile::Profile;
use crate::rng::Rng;
use crate::window::Window;

/// New inclusions per microstructure and month. With the follow-up durations of
/// `patient.rs` (mean about 52 months), the steady active file is about 32 patients
/// and about 39 patients are followed in a year (5,500 patients / 142 microstructures).
const INCLUSIONS_PER_MONTH: f64 = 0.62;
/// The active file when the simulation starts, entered over its first three months.
const BACKLOG: (u32, u32) = (26, 38);

/// A patient whose follow-up ended this year: local id, INS, activity counts.
type Ended = (u32, Option<[u8; 15]>, [u16; 4]);

pub struct Microstructure {
    pub id: String,
    dept: &'static str,
    team: Team,
    /// Synthesis meetings: weekday, week of the month, start minute.
    meeting_plan: (u8, u8, u16),
    rng: Rng,
    patients: Vec<Patient>,
    /// Patients whose follow-up ended this year: local id, INS, activity counts.
    ended: Vec<Ended>,
    backlog: [u32; 3],
}

impl Microstructure {
    pub fn new(seed: u64, dept: &'static str, number: u32) -> Self {
        let id = format!("MS-{dept}-{number:03}");
        let mut rng = Rng::stream(seed, &id);
        let gps = (0..rng.weighted(&[(1, 20), (2, 45), (3, 35)]))
            .map(|_| format!("10{:09}", rng.below(1_000_000_000)))
            .collect();
        let team = Team {
            gps,
            psychologist: format!("{dept}93{:05}", rng.below(100_000)),
            social_worker: format!("{dept}41{:05}", rng.below(100_000)),
            psychiatrist: format!("10{:09}", rng.below(1_000_000_000)),
            psy_day: rng.below(5) as u8,
            sw_day: rng.below(5) as u8,
        };
        let meeting_plan = (
            rng.below(5) as u8,
            rng.below(4) as u8,
            12 * 60 + 30 * rng.below(4) as u16,
        );
        let mut ms = Self {
            id,
            dept,
            team,
            meeting_plan,
            rng,
            patients: Vec::new(),
            ended: Vec::new(),
            backlog: [0; 3],
        };
        ms.restart();
        ms
    }

    /// Empties the active file and draws the one to enter when the simulation starts.
    pub fn restart(&mut self) {
        self.patients.clear();
        self.ended.clear();
        self.backlog = [0; 3];
        for _ in 0..self.rng.range(BACKLOG.0, BACKLOG.1) {
            self.backlog[self.rng.below(3) as usize] += 1;
        }
    }

    /// Simulates month `month`, whose days before `lo` are not simulated; `epoch` is
    /// the index of the simulation's first month.
    pub fn month(&mut self, net: &Network, month: &Month, lo: u8, epoch: u32, next_local: &mut u32, batch: &mut Batch) {
        let head = Head {
            network: net.code,
            ms: &self.id,
            month,
        };
        let rng = &mut self.rng;
        let m = month.index;
        if month.month == 1 && m > epoch {
            claims(rng, &head, &mut self.patients, &mut self.ended, batch);
        }
        let mut meeting = meeting(rng, &self.id, self.meeting_plan, month, lo);

        let backlog = if m - epoch < 3 {
            self.backlog[(m - epoch) as usize]
        } else {
            0
        };
        let regular = rng.count(INCLUSIONS_PER_MONTH);
        for k in 0..backlog + regular {
            let days = month.workdays(lo, month.len());
            if days.is_empty() {
                break;
            }
            let day = days[rng.below(days.len() as u64) as usize];
            *next_local += 1;
            let (profile, ins) = include(rng, net, self.dept, &head, (day, *next_local), batch);
            let p = Patient::new(rng, &profile, *next_local, ins, (m, day), &self.team, k < backlog);
            self.patients.push(p);
        }

        let (team, ended) = (&self.team, &mut self.ended);
        self.patients.retain_mut(|p| {
            let mut w = Window {
                rng,
                batch,
                head: &head,
                local: p.local,
                lo,
                hi: month.len(),
            };
            let gone = p.month(&mut w, team, meeting.as_mut());
            if gone {
                ended.push((p.local, p.ins, p.counts));
            }
            !gone
        });
    }
}

/// Draws a new patient and writes the inclusion and its substance assessments.
fn include(
    rng: &mut Rng,
    net: &Network,
    dept: &str,
    head: &Head,
    (day, local): (u8, u32),
    batch: &mut Batch,
) -> (Profile, Option<[u8; 15]>) {
    let profile = Profile::draw(rng, head.month.date(day));
    let anonymous = rng.chance(0.05);
    let postcode = geo::patient_postcode(rng, net, dept);
    let id = (!anonymous).then(|| Identity::draw(rng, net, profile.female, profile.birth, &postcode[..2]));
    let minute = 8 * 60 + 30 + 15 * rng.below(40) as u16;
    let who = Who::Full {
        local,
        profile: &profile,
        postcode,
        id: id.as_ref(),
    };
    batch.push(rng, head, Ts::new(day, minute), who, Body::Inclusion(&profile));
    for (i, a) in profile.substances.iter().enumerate() {
        let ts = Ts::new(day, minute + 1 + i as u16);
        batch.push(rng, head, ts, Who::Local(local), Body::Assessment(a));
    }
    let ins = id.and_then(|id| id.ins);
    (profile, ins)
}

/// The month's synthesis meeting: a fixed weekday and week (none some Augusts).
fn meeting(rng: &mut Rng, ms: &str, (weekday, week, minute): (u8, u8, u16), month: &Month, lo: u8) -> Option<Meeting> {
    if month.month == 8 && rng.chance(0.6) {
        return None;
    }
    let first = (1..=7).find(|&d| month.weekday(d) == weekday)?;
    let day = month.workday_from(first + 7 * week).filter(|&d| d >= lo)?;
    let mut roles = 0b111;
    for (bit, p) in [(3, 0.12), (4, 0.45), (5, 0.15)] {
        if rng.chance(p) {
            roles |= 1 << bit;
        }
    }
    Some(Meeting {
        id: format!("SYN-{ms}-{:04}-{:02}", month.year, month.month),
        day,
        minute,
        roles,
        reviewed: 0,
    })
}

/// In January, one forfait claim per patient followed the year before (active now, or
/// ended during that year), with that year's activity counts.
fn claims(rng: &mut Rng, head: &Head, patients: &mut [Patient], ended: &mut Vec<Ended>, batch: &mut Batch) {
    let year = head.month.year - 1;
    let days = head.month.workdays(5, 25);
    let day = days[rng.below(days.len() as u64) as usize];
    let mut k = 0u16;
    let mut claim = |rng: &mut Rng, local: u32, ins: &Option<[u8; 15]>, counts: [u16; 4]| {
        let status = rng.weighted(&[("paid", 85), ("accepted", 7), ("submitted", 5), ("rejected", 3)]);
        let ts = Ts::new(day, 9 * 60 + (2 * k) % 480);
        k = k.wrapping_add(1);
        let who = match ins {
            Some(ins) => Who::WithIns(local, ins),
            None => Who::Local(local),
        };
        if year >= crate::FIRST_FORFAIT_YEAR {
            batch.push(rng, head, ts, who, Body::Claim { year, status, counts });
        }
    };
    for p in patients.iter_mut() {
        claim(rng, p.local, &p.ins, p.counts);
        p.new_year(rng);
    }
    for (local, ins, counts) in ended.drain(..) {
        claim(rng, local, &ins, counts);
    }
}
