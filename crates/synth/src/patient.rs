//! One patient's month: consultations with the team, review at the synthesis meeting,
//! screening and treatments, and perhaps the end of follow-up.
//!
//! Calibration: GP about monthly; 48% of patients see the psychologist in a year, 5.8
//! sessions each; psychologist to social-worker acts about 2:1; no-shows about 8%;
//! follow-up without time limit (median above two years).

use crate::calendar::Ts;
use crate::care::Care;
use crate::emit::{Body, Consultation, DECISIONS};
use crate::profile::Profile;
use crate::rng::Rng;
use crate::window::Window;

type W = &'static [(&'static str, u32)];

/// The microstructure's professionals and their consultation days.
pub struct Team {
    pub gps: Vec<String>,
    pub psychologist: String,
    pub social_worker: String,
    pub psychiatrist: String,
    /// Weekdays (0 = Monday) of the psychologist's and the social worker's consultations.
    pub psy_day: u8,
    pub sw_day: u8,
}

/// This month's synthesis meeting of the microstructure.
pub struct Meeting {
    pub id: String,
    pub day: u8,
    pub minute: u16,
    /// Roles present for every patient reviewed (bit mask over `emit::ROLES`).
    pub roles: u8,
    pub reviewed: u16,
}

/// How a kind of professional consults: which forfait counter, modes, durations,
/// no-show rate, and the slots of the day.
struct Role {
    code: &'static str,
    counter: Option<usize>,
    modes: W,
    durations: &'static [(u32, u32)],
    no_show: f64,
    slots: (u16, u16, u64),
}

const GP: Role = Role {
    code: "general_practitioner",
    counter: Some(0),
    modes: &[("in_person", 86), ("phone", 7), ("video", 3), ("home", 4)],
    durations: &[(15, 45), (20, 30), (30, 20), (45, 5)],
    no_show: 0.06,
    slots: (8 * 60 + 30, 15, 42),
};
const PSYCHOLOGIST: Role = Role {
    code: "psychologist",
    counter: Some(1),
    modes: &[("in_person", 85), ("phone", 8), ("video", 7)],
    durations: &[(30, 20), (45, 55), (60, 25)],
    no_show: 0.11,
    slots: (9 * 60, 30, 17),
};
const SOCIAL_WORKER: Role = Role {
    code: "social_worker",
    counter: Some(2),
    modes: &[("in_person", 78), ("phone", 17), ("home", 5)],
    durations: &[(20, 15), (30, 40), (45, 30), (60, 15)],
    no_show: 0.1,
    slots: (9 * 60, 30, 16),
};
const PSYCHIATRIST: Role = Role {
    code: "psychiatrist",
    counter: None,
    modes: &[("in_person", 80), ("video", 20)],
    durations: &[(30, 50), (45, 50)],
    no_show: 0.1,
    slots: (9 * 60, 30, 16),
};

/// Monthly probability of a psychologist session for a patient who sees the
/// psychologist this year.
const PSY_MONTHLY: f64 = 0.64;

pub struct Patient {
    pub local: u32,
    pub ins: Option<[u8; 15]>,
    /// Sees the psychologist this year (redrawn each January).
    pub psych: bool,
    /// Held GP, psychologist and social-worker consultations, and synthesis reviews,
    /// this calendar year: the forfait claim's activity counts.
    pub counts: [u16; 4],
    gp: usize,
    included: u32,
    incl_day: u8,
    age: u32,
    drug_user: bool,
    social_need: bool,
    housing_need: bool,
    mental: bool,
    /// In the active file before the simulation started: past the early drop-outs.
    established: bool,
    care: Care,
}

impl Patient {
    /// A patient included on `day` of month `m`.
    pub fn new(
        rng: &mut Rng,
        p: &Profile,
        local: u32,
        ins: Option<[u8; 15]>,
        when: (u32, u8),
        team: &Team,
        established: bool,
    ) -> Self {
        let mental = p.first_reason == "mental_health";
        Self {
            local,
            ins,
            psych: rng.chance(if mental { 0.8 } else { 0.47 }),
            counts: [0; 4],
            gp: rng.below(team.gps.len() as u64) as usize,
            included: when.0,
            incl_day: when.1,
            age: p.age,
            drug_user: p.drug_user(),
            social_need: p.social_need(),
            housing_need: p.housing != "durable",
            mental,
            established,
            care: Care::plan(rng, p, when.0),
        }
    }

    /// Next year's psychologist follow-up: mostly the same as this year's.
    pub fn new_year(&mut self, rng: &mut Rng) {
        self.psych = rng.chance(if self.psych { 0.75 } else { 0.26 });
        self.counts = [0; 4];
    }

    /// Simulates the month. Returns true when follow-up ended.
    pub fn month(&mut self, w: &mut Window, team: &Team, meeting: Option<&mut Meeting>) -> bool {
        let m = w.m();
        if self.included == m {
            w.lo = w.lo.max(self.incl_day + 1);
        }
        let end = self.draw_end(w);
        if let Some((day, _)) = end {
            w.hi = day - 1;
        }
        self.consultations(w, team);
        if let Some(meeting) = meeting {
            self.review(w, meeting, end.map(|e| e.1));
        }
        self.care.month(w);
        if let Some((day, reason)) = end {
            let ts = Ts::new(day, w.slot(9 * 60, 15, 37));
            w.emit(ts, Body::End(reason));
        }
        end.is_some()
    }

    fn draw_end(&self, w: &mut Window) -> Option<(u8, &'static str)> {
        let months_in = w.m() - self.included;
        let hazard = if self.established || months_in > 6 { 0.018 } else { 0.03 };
        if months_in == 0 || !w.rng.chance(hazard) {
            return None;
        }
        let days = w.head.month.workdays(w.lo, 31);
        let day = *days.get(w.rng.below(days.len().max(1) as u64) as usize)?;
        let old = if self.age > 60 { 3 } else { 1 };
        let prison = if self.drug_user { 2 } else { 1 };
        let reason = w.rng.weighted(&[
            ("goals_met", 28),
            ("referred_elsewhere", 20),
            ("lost_to_follow_up", 12),
            ("moved", 14),
            ("incarcerated", 5 * prison),
            ("hospitalised", 6),
            ("died", 4 * old),
            ("refused", 11),
        ]);
        Some((day, reason))
    }

    fn consultations(&mut self, w: &mut Window, team: &Team) {
        let extra = if self.social_need { 0.2 } else { 0.12 };
        let visits = u32::from(w.rng.chance(0.82)) + u32::from(w.rng.chance(extra));
        for _ in 0..visits {
            if let Some(day) = w.day() {
                self.consult(w, day, &GP, &team.gps[self.gp]);
            }
        }
        let psy = self.psych && w.rng.chance(PSY_MONTHLY);
        if let Some(day) = if psy { w.weekday(team.psy_day) } else { None } {
            self.consult(w, day, &PSYCHOLOGIST, &team.psychologist);
        }
        let sw = w.rng.chance(if self.social_need { 0.23 } else { 0.07 });
        if let Some(day) = if sw { w.weekday(team.sw_day) } else { None } {
            self.consult(w, day, &SOCIAL_WORKER, &team.social_worker);
        }
        let psychiatry = w.rng.chance(if self.mental { 0.03 } else { 0.003 });
        if let Some(day) = if psychiatry { w.day() } else { None } {
            self.consult(w, day, &PSYCHIATRIST, &team.psychiatrist);
        }
    }

    fn consult(&mut self, w: &mut Window, day: u8, role: &Role, professional_id: &str) {
        let (from, step, slots) = role.slots;
        let ts = Ts::new(day, w.slot(from, step, slots));
        let mode = w.rng.weighted(role.modes);
        let no_show = w.rng.chance(role.no_show);
        let mut duration = w.rng.weighted(role.durations);
        if mode == "phone" {
            duration = duration.min(20);
        }
        let duration_min = (!no_show).then_some(duration);
        w.emit(
            ts,
            Body::Consultation(Consultation {
                role: role.code,
                professional_id,
                mode,
                duration_min,
                no_show,
            }),
        );
        if let (Some(c), false) = (role.counter, no_show) {
            self.counts[c] += 1;
        }
    }

    /// Perhaps reviewed at the meeting: new patients and those with social or mental
    /// health needs more often.
    fn review(&mut self, w: &mut Window, meeting: &mut Meeting, ending: Option<&str>) {
        let months_in = w.m() - self.included;
        let p = if months_in <= 1 {
            0.7
        } else if self.social_need || self.mental {
            0.35
        } else {
            0.25
        };
        if !w.contains(meeting.day) || !w.rng.chance(p) {
            return;
        }
        let patient_present = w.rng.chance(0.08);
        let mut roles = meeting.roles;
        if patient_present {
            roles |= 1 << 6;
        }
        if w.rng.chance(0.08) {
            roles |= 1 << 7;
        }
        let decisions = self.decisions(w.rng, ending);
        let minute = (meeting.minute + 8 * meeting.reviewed).min(18 * 60 + 45);
        let ts = Ts::new(meeting.day, minute);
        w.emit(
            ts,
            Body::Synthesis {
                meeting_id: &meeting.id,
                roles,
                patient_present,
                decisions,
            },
        );
        meeting.reviewed += 1;
        self.counts[3] += 1;
    }

    /// One to three distinct decisions (bit mask over `emit::DECISIONS`); "end follow-up"
    /// when the patient leaves this month for a reason the team knew of.
    fn decisions(&self, rng: &mut Rng, ending: Option<&str>) -> u16 {
        let n = rng.weighted(&[(1, 50), (2, 35), (3, 15)]);
        let mut mask = 0u16;
        if matches!(ending, Some("goals_met" | "referred_elsewhere" | "moved" | "refused")) && rng.chance(0.8) {
            mask |= 1 << 9;
        }
        let ended = mask != 0;
        let weights = [
            if ended { 0 } else { 50 },
            3,
            if self.mental { 8 } else { 3 },
            2,
            8,
            12,
            if self.social_need { 18 } else { 8 },
            if self.housing_need { 10 } else { 1 },
            if self.drug_user { 8 } else { 3 },
        ];
        let items: [(u16, u32); 9] = std::array::from_fn(|i| (i as u16, weights[i]));
        for _ in 0..20 {
            if mask.count_ones() >= n {
                break;
            }
            mask |= 1 << rng.weighted(&items);
        }
        debug_assert!(mask.count_ones() as usize <= DECISIONS.len());
        mask
    }
}
