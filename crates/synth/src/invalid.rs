//! Realistic broken events, replacing a deterministic share of the lines: truncated
//! JSON, an unknown field, a code outside its list, a missing `local_id`, an unknown
//! `schema_version`. Each one is rejected by the strict decoder.

use crate::rng::Rng;

pub struct Corruptor {
    rng: Rng,
    per_million: u64,
}

impl Corruptor {
    pub fn new(seed: u64, per_million: u32) -> Self {
        Self {
            rng: Rng::stream(seed, "invalid"),
            per_million: u64::from(per_million),
        }
    }

    /// Appends `line`, or a broken version of it, to `out`. True when broken.
    pub fn line(&mut self, line: &str, out: &mut Vec<u8>) -> bool {
        if self.per_million == 0 || self.rng.below(1_000_000) >= self.per_million {
            out.extend_from_slice(line.as_bytes());
            return false;
        }
        let broken = match self.rng.below(5) {
            0 => truncated(&mut self.rng, line),
            1 => unknown_field(&mut self.rng, line),
            2 => bad_code(line),
            3 => missing_local_id(line),
            _ => line.replacen("\"schema_version\":1,", "\"schema_version\":2,", 1),
        };
        debug_assert_ne!(broken, line);
        out.extend_from_slice(broken.as_bytes());
        true
    }
}

/// Cut somewhere in the line (an export interrupted, a line split by a transfer).
fn truncated(rng: &mut Rng, line: &str) -> String {
    let mut cut = line.len() / 4 + rng.below((line.len() / 2) as u64) as usize;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    line[..cut].to_owned()
}

/// A field the contract does not have, as an older export adds.
fn unknown_field(rng: &mut Rng, line: &str) -> String {
    let field = rng.pick(&[
        "\"comment\":\"saisie manuelle\",",
        "\"source_system\":\"legacy-export\",",
        "\"site\":\"cabinet\",",
    ]);
    format!("{{{field}{}", &line[1..])
}

/// The payload's first code in capitals, as some software exports its lists.
fn bad_code(line: &str) -> String {
    let payload = line.find("\"payload\":{").expect("payload") + "\"payload\":{".len();
    let rest = &line[payload..];
    let value = [":\"", ":[\""]
        .iter()
        .filter_map(|p| rest.find(p).map(|i| i + p.len()))
        .min()
        .expect("every payload has a code");
    let start = payload + value;
    let end = start + line[start..].find('"').expect("closing quote");
    format!("{}{}{}", &line[..start], line[start..end].to_uppercase(), &line[end..])
}

/// No `local_id` in the patient object (an anonymous record exported as is).
fn missing_local_id(line: &str) -> String {
    let start = line.find("\"local_id\":\"").expect("local_id");
    let close = start + "\"local_id\":\"".len() + line[start + 12..].find('"').expect("quote") + 1;
    let end = if line.as_bytes()[close] == b',' {
        close + 1
    } else {
        close
    };
    format!("{}{}", &line[..start], &line[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"event_id":"x","schema_version":1,"patient":{"local_id":"P-000001","sex":"F"},"payload":{"participant_roles":["psychologist"],"meeting_id":"S"}}"#;

    #[test]
    fn corruptions() {
        assert!(bad_code(LINE).contains(r#"["PSYCHOLOGIST"]"#));
        assert!(missing_local_id(LINE).contains(r#""patient":{"sex":"F"}"#));
        let only = r#"{"patient":{"local_id":"P-1"},"payload":{}}"#;
        assert_eq!(missing_local_id(only), r#"{"patient":{},"payload":{}}"#);
        assert!(unknown_field(&mut Rng::new(1), LINE).starts_with("{\""));
        let t = truncated(&mut Rng::new(1), LINE);
        assert!(t.len() < LINE.len() && LINE.starts_with(&t));
    }
}
