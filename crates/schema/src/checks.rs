//! The contract's patterns (ECMA-262, written into the JSON Schemas), each beside its
//! hand-written check, which accepts exactly the strings the pattern accepts (ASCII
//! only, no `\d` or `\s` surprises). The schema-agreement test holds them to it.

fn all(s: &str, f: impl Fn(u8) -> bool) -> bool {
    s.bytes().all(f)
}

fn digits(s: &str) -> bool {
    all(s, |b| b.is_ascii_digit())
}

pub const UUID: &str = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// Matches [`UUID`].
pub fn uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

pub const NETWORK_ID: &str = r"^[A-Z][A-Z-]*([0-9]{1,4}[A-Z-]+)*[0-9]{0,4}$";

/// Matches [`NETWORK_ID`], 2 to 16 characters: a letter first
/// and never five digits in a row, so that no number that identifies a person (NIR,
/// phone, RPPS, ADELI, FINESS, postcode, compact date) fits. The decoder also refuses
/// the shapes a pattern cannot see ([`crate::shapes::in_code`]).
pub fn network_id(s: &str) -> bool {
    let b = s.as_bytes();
    (2..=16).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'-')
        && !b.windows(5).any(|w| w.iter().all(u8::is_ascii_digit))
}

pub const TOKEN: &str = r"^[!-~]{1,64}$";

/// The rule of a network code, where a field takes one (an event's `network_id`, a
/// policy's `networks`, `pseudonymise --network`): what is wrong, without the value.
pub fn network_id_rule(s: &str) -> Result<(), String> {
    if !network_id(s) {
        return Err("expected 2 to 16 of A-Z 0-9 -, a letter first, never five digits in a row".into());
    }
    match crate::shapes::in_code(s) {
        Some(kind) => Err(format!(
            "shaped like an identifier ({kind}), expected the code of a network"
        )),
        None => Ok(()),
    }
}

/// Matches [`TOKEN`]: printable ASCII without spaces.
pub fn token(s: &str) -> bool {
    (1..=64).contains(&s.len()) && all(s, |b| b.is_ascii_graphic())
}

pub const LOCAL_ID: &str = r"^[ \t]*[!-~]([ -~]*[!-~])?[ \t]*$";

/// Matches [`LOCAL_ID`] with at most 64 characters: printable ASCII,
/// spaces inside, spaces and tabs around (trimmed by [`trim_local_id`]).
pub fn local_id(s: &str) -> bool {
    let core = trim_local_id(s);
    s.len() <= 64 && !core.is_empty() && all(core, |b| b == b' ' || b.is_ascii_graphic())
}

/// Removes the spaces and tabs that may surround a `local_id`.
pub fn trim_local_id(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

pub const INS: &str = r"^[12378][0-9]{4}(2[AB]|[0-9]{2})[0-9]{8}$";

/// Matches [`INS`]: the shape of a NIR with its key.
pub fn ins(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 15
        && s.is_ascii()
        && matches!(b[0], b'1' | b'2' | b'3' | b'7' | b'8')
        && digits(&s[1..5])
        && (digits(&s[5..7]) || &s[5..7] == "2A" || &s[5..7] == "2B")
        && digits(&s[7..])
}

pub const POSTCODE: &str = r"^[0-9]{5}$";

/// Matches [`POSTCODE`].
pub fn postcode(s: &str) -> bool {
    s.len() == 5 && digits(s)
}

pub const PHONE: &str = r"^(\+33|0033|0)[1-9]([ .-]?[0-9]{2}){4}$";

/// Matches [`PHONE`].
pub fn phone(s: &str) -> bool {
    phone_tails(s).any(str::is_empty)
}

/// What may follow a French phone number that starts `s`, for each way `s` can start
/// with one (`(\+33|0033|0)[1-9]([ .-]?[0-9]{2}){4}`): the leak scanner looks for one
/// followed by no letter or digit, the schema for one followed by nothing.
pub fn phone_tails(s: &str) -> impl Iterator<Item = &str> {
    ["+33", "0033", "0"]
        .into_iter()
        .filter_map(|p| s.strip_prefix(p))
        .filter_map(phone_rest)
}

fn phone_rest(s: &str) -> Option<&str> {
    let mut b = s;
    match b.as_bytes().first() {
        Some(b'1'..=b'9') => b = &b[1..],
        _ => return None,
    }
    for _ in 0..4 {
        if let Some(rest) = b.strip_prefix([' ', '.', '-']) {
            b = rest;
        }
        let d = b.as_bytes();
        if d.len() < 2 || !d[0].is_ascii_digit() || !d[1].is_ascii_digit() {
            return None;
        }
        b = &b[2..];
    }
    Some(b)
}

pub const EMAIL: &str = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$";

/// Matches [`EMAIL`].
pub fn email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let Some((host, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    !local.is_empty()
        && all(local, |b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b))
        && !host.is_empty()
        && all(host, |b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && tld.len() >= 2
        && all(tld, |b| b.is_ascii_alphabetic())
}

pub const BIRTH_DATE: &str = r"^(19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}$";

/// Matches [`BIRTH_DATE`] and a real calendar date.
pub fn birth_date(s: &str) -> Option<chrono::NaiveDate> {
    (s.starts_with("19") || s.starts_with("20")).then(|| date(s)).flatten()
}

fn date(s: &str) -> Option<chrono::NaiveDate> {
    let b = s.as_bytes();
    let shaped =
        b.len() == 10 && b[4] == b'-' && b[7] == b'-' && digits(&s[..4]) && digits(&s[5..7]) && digits(&s[8..]);
    if !shaped {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

pub const OCCURRED_AT: &str =
    r"^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$";

/// Matches [`OCCURRED_AT`] and is a real RFC 3339 date-time (an offset is required).
pub fn occurred_at(s: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let b = s.as_bytes();
    if b.len() < 20 || !s.is_ascii() || !s.starts_with("20") || date(&s[..10]).is_none() || b[10] != b'T' {
        return None;
    }
    let time = &b[11..19];
    // Seconds 00-59: chrono takes 60 (a leap second), RFC 3339 format checkers do not.
    let time_ok = time[2] == b':'
        && time[5] == b':'
        && time[6] <= b'5'
        && [0, 1, 3, 4, 6, 7].iter().all(|&i| time[i].is_ascii_digit());
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=9).contains(&n) {
            return None;
        }
        rest = &frac[n..];
    }
    let zone_ok = rest == "Z"
        || (rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':'
            && digits(&rest[1..3])
            && digits(&rest[4..]));
    if !(time_ok && zone_ok) {
        return None;
    }
    chrono::DateTime::parse_from_rfc3339(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(uuid("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(!uuid("0f8fad5b-d9cb-469f-a165-70867728950"));
        assert!(network_id("RMS-ALSACE") && !network_id("-RMS") && !network_id("rms"));
        assert!(network_id("RMS-GRAND-EST-01") && network_id("A1234B1234"));
        assert!(!network_id("75011") && !network_id("1RMS") && !network_id("RMS-12345"));
        assert!(local_id("  P-00012 ") && !local_id("   ") && !local_id("P\u{202e}1"));
        assert_eq!(trim_local_id("\t P 1 \t"), "P 1");
        assert!(ins("185057800608491") && ins("185052A00608491") && !ins("18505780060849"));
        assert!(phone("06 12 34 56 78") && phone("+33612345678") && phone("00336.12.34.56.78"));
        assert!(!phone("06 12 34 56 7") && !phone("00 12 34 56 78"));
        assert!(email("a.b@example.fr") && !email("a@b") && !email("a@@b.fr"));
        assert!(birth_date("1980-02-29").is_some() && birth_date("1981-02-29").is_none());
        assert!(birth_date("1880-01-01").is_none());
        assert!(occurred_at("2024-03-05T10:00:00+01:00").is_some());
        assert!(occurred_at("2024-03-05T10:00:00.123Z").is_some());
        assert!(occurred_at("2024-03-05T10:00:00").is_none());
        assert!(occurred_at("2024-03-05 10:00:00Z").is_none());
        assert!(occurred_at("2024-02-30T10:00:00Z").is_none());
    }
}
