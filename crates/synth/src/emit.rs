//! Events as compact JSON, written straight into one text buffer per month (no
//! `serde_json::Value`, no allocation per event), with an index to sort them by time.

use crate::assess::Assessment;
use crate::calendar::{Month, Ts, write_date};
use crate::identity::Identity;
use crate::profile::Profile;
use crate::rng::Rng;

/// Roles at a synthesis meeting, in code-list order; a meeting's roles are a bit mask
/// over this list.
pub const ROLES: &[&str] = msma_schema::ParticipantRole::CODES;

/// Meeting decisions, in code-list order; bit masks over this list.
pub const DECISIONS: &[&str] = msma_schema::MeetingDecision::CODES;

/// What every event of a microstructure in a month shares.
pub struct Head<'a> {
    pub network: &'a str,
    pub ms: &'a str,
    pub month: &'a Month,
}

/// The `patient` object: the local id alone, with the INS (claims, lab results), or the
/// full identity (inclusion; `id` is `None` for an anonymous patient).
pub enum Who<'a> {
    Local(u32),
    WithIns(u32, &'a [u8; 15]),
    Full {
        local: u32,
        profile: &'a Profile,
        postcode: &'a str,
        id: Option<&'a Identity>,
    },
}

pub struct Consultation<'a> {
    pub role: &'static str,
    pub professional_id: &'a str,
    pub mode: &'static str,
    pub duration_min: Option<u32>,
    pub no_show: bool,
}

pub enum Body<'a> {
    Inclusion(&'a Profile),
    Assessment(&'a Assessment),
    Consultation(Consultation<'a>),
    Synthesis {
        meeting_id: &'a str,
        roles: u8,
        patient_present: bool,
        decisions: u16,
    },
    Screening {
        target: &'static str,
        test: &'static str,
        result: &'static str,
    },
    Treatment {
        kind: &'static str,
        molecule: Option<&'static str>,
        action: &'static str,
    },
    End(&'static str),
    Claim {
        year: i32,
        status: &'static str,
        counts: [u16; 4],
    },
}

/// Where one event sits in the month's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    key: u32,
    seq: u32,
    start: u32,
    end: u32,
    pub day: u8,
    pub inclusion: bool,
}

/// The events of one month, in one buffer.
#[derive(Default)]
pub struct Batch {
    text: String,
    entries: Vec<Entry>,
}

impl Batch {
    pub fn clear(&mut self) {
        self.text.clear();
        self.entries.clear();
    }

    /// Sorts by time; events at the same minute keep the order they were pushed in.
    pub fn sort(&mut self) {
        self.entries.sort_unstable_by_key(|e| (e.key, e.seq));
    }

    pub fn lines(&self) -> impl Iterator<Item = (&Entry, &str)> {
        self.entries
            .iter()
            .map(|e| (e, &self.text[e.start as usize..e.end as usize]))
    }

    pub fn push(&mut self, rng: &mut Rng, head: &Head, ts: Ts, who: Who, body: Body) {
        let start = self.text.len();
        let o = &mut self.text;
        o.push_str("{\"event_id\":\"");
        rng.uuid_into(o);
        o.push_str("\",\"event_type\":\"");
        o.push_str(body.event_type());
        o.push_str("\",\"schema_version\":1,\"network_id\":\"");
        o.push_str(head.network);
        o.push_str("\",\"microstructure_id\":\"");
        o.push_str(head.ms);
        o.push_str("\",\"occurred_at\":\"");
        head.month.write_ts(ts, o);
        o.push_str("\",\"patient\":");
        write_who(o, &who);
        o.push_str(",\"payload\":");
        write_body(o, &body);
        o.push('}');
        self.entries.push(Entry {
            key: ts.key(),
            seq: self.entries.len() as u32,
            start: start as u32,
            end: self.text.len() as u32,
            day: ts.day,
            inclusion: matches!(body, Body::Inclusion(_)),
        });
    }
}

impl Body<'_> {
    fn event_type(&self) -> &'static str {
        match self {
            Body::Inclusion(_) => "patient_inclusion",
            Body::Assessment(_) => "substance_assessment",
            Body::Consultation(_) => "consultation",
            Body::Synthesis { .. } => "synthesis_meeting",
            Body::Screening { .. } => "screening",
            Body::Treatment { .. } => "treatment",
            Body::End(_) => "follow_up_end",
            Body::Claim { .. } => "forfait_claim",
        }
    }
}

fn write_who(o: &mut String, who: &Who) {
    let mut w = Obj::new(o);
    match *who {
        Who::Local(local) => w.local_id(local),
        Who::WithIns(local, ins) => {
            w.local_id(local);
            w.str("ins", std::str::from_utf8(ins).expect("ASCII NIR"));
        }
        Who::Full {
            local,
            profile,
            postcode,
            id,
        } => {
            w.local_id(local);
            if let Some(id) = id {
                if let Some(ins) = &id.ins {
                    w.str("ins", std::str::from_utf8(ins).expect("ASCII NIR"));
                }
                w.str("last_name", &id.last_name);
                w.str("first_name", id.first_name);
            }
            w.key("birth_date");
            w.o.push('"');
            write_date(profile.birth, w.o);
            w.o.push('"');
            w.str("sex", profile.sex);
            if let Some(id) = id {
                w.str("postcode", postcode);
                w.opt_str("phone", id.phone.as_deref());
                w.opt_str("email", id.email.as_deref());
            }
        }
    }
    w.end();
}

fn write_body(o: &mut String, body: &Body) {
    let mut w = Obj::new(o);
    match body {
        Body::Inclusion(p) => {
            w.str("referral_origin", p.referral_origin);
            w.str("first_reason", p.first_reason);
            w.str("housing", p.housing);
            w.opt_str("household", p.household);
            w.str("main_income", p.main_income);
            w.str("professional_activity", p.professional_activity);
            w.opt_str("health_cover", p.health_cover);
            w.opt_str("education", p.education);
            w.bool("prior_care", p.prior_care);
        }
        Body::Assessment(a) => {
            w.str("product", a.product);
            w.bool("origin_of_care", a.origin_of_care);
            w.opt_str("route", a.route);
            w.opt_str("frequency_30d", a.frequency_30d);
            w.opt_str("use_level", a.use_level);
            w.opt_num("age_first_use", a.age_first_use);
            if let Some(b) = a.ever_injected {
                w.bool("ever_injected", b);
            }
            if let Some(b) = a.syringe_sharing {
                w.bool("syringe_sharing", b);
            }
            w.opt_num("standard_drinks_per_day", a.standard_drinks_per_day);
        }
        Body::Consultation(c) => {
            w.str("professional_role", c.role);
            w.str("professional_id", c.professional_id);
            w.str("mode", c.mode);
            w.opt_num("duration_min", c.duration_min);
            w.bool("no_show", c.no_show);
        }
        Body::Synthesis {
            meeting_id,
            roles,
            patient_present,
            decisions,
        } => {
            // Roles first: the corruption of "a bad code" takes the first code it sees.
            w.list("participant_roles", ROLES, u32::from(*roles));
            w.str("meeting_id", meeting_id);
            w.bool("patient_present", *patient_present);
            w.list("decisions", DECISIONS, u32::from(*decisions));
        }
        Body::Screening { target, test, result } => {
            w.str("target", target);
            w.str("test", test);
            w.str("result", result);
        }
        Body::Treatment { kind, molecule, action } => {
            w.str("kind", kind);
            w.opt_str("molecule", *molecule);
            w.str("action", action);
        }
        Body::End(reason) => w.str("reason", reason),
        Body::Claim { year, status, counts } => {
            w.num("year", *year as u32);
            w.num("amount_cents", crate::FORFAIT_CENTS);
            w.str("status", status);
            let names = [
                "gp_consultations",
                "psychologist_consultations",
                "social_worker_consultations",
                "synthesis_meetings",
            ];
            for (name, n) in names.iter().zip(counts) {
                w.num(name, u32::from(*n));
            }
        }
    }
    w.end();
}

/// A JSON object being written: handles the commas.
struct Obj<'a> {
    o: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn new(o: &'a mut String) -> Self {
        o.push('{');
        Self { o, first: true }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.o.push(',');
        }
        self.first = false;
        self.o.push('"');
        self.o.push_str(k);
        self.o.push_str("\":");
    }

    fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        push_json_str(self.o, v);
    }

    fn opt_str(&mut self, k: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.str(k, v);
        }
    }

    fn num(&mut self, k: &str, n: u32) {
        self.key(k);
        push_u32(self.o, n);
    }

    fn opt_num(&mut self, k: &str, n: Option<u32>) {
        if let Some(n) = n {
            self.num(k, n);
        }
    }

    fn bool(&mut self, k: &str, b: bool) {
        self.key(k);
        self.o.push_str(if b { "true" } else { "false" });
    }

    fn local_id(&mut self, n: u32) {
        self.key("local_id");
        self.o.push_str("\"P-");
        let mut digits = [b'0'; 10];
        let mut i = digits.len();
        let mut v = n;
        while v > 0 || i > digits.len() - 6 {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        self.o.push_str(std::str::from_utf8(&digits[i..]).expect("digits"));
        self.o.push('"');
    }

    /// The codes of `codes` whose bit is set in `mask`.
    fn list(&mut self, k: &str, codes: &[&str], mask: u32) {
        self.key(k);
        self.o.push('[');
        let mut first = true;
        for (i, c) in codes.iter().enumerate() {
            if mask & (1 << i) != 0 {
                if !first {
                    self.o.push(',');
                }
                first = false;
                push_json_str(self.o, c);
            }
        }
        self.o.push(']');
    }

    fn end(self) {
        self.o.push('}');
    }
}

fn push_u32(o: &mut String, mut n: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    o.push_str(std::str::from_utf8(&buf[i..]).expect("digits"));
}

/// A JSON string literal (escapes quotes, backslashes and control characters).
fn push_json_str(o: &mut String, s: &str) {
    o.push('"');
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        o.push_str(s);
    } else {
        for c in s.chars() {
            match c {
                '"' => o.push_str("\\\""),
                '\\' => o.push_str("\\\\"),
                c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
                c => o.push(c),
            }
        }
    }
    o.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let mut s = String::new();
        push_json_str(&mut s, "N'Diaye \"x\"\n");
        assert_eq!(s, r#""N'Diaye \"x\"\u000a""#);
        let mut s = String::new();
        let mut w = Obj::new(&mut s);
        w.local_id(123);
        w.local_id(1_234_567);
        w.list("r", ROLES, 0b101);
        w.num("n", 0);
        w.end();
        assert_eq!(
            s,
            r#"{"local_id":"P-000123","local_id":"P-1234567","r":["general_practitioner","social_worker"],"n":0}"#
        );
    }
}
