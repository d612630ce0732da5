//! What a direct identifier looks like: the one set of detectors that `audit scan`
//! searches zones with and that checks codes (network ids) before they become folder
//! names. Each says what it found, never the value; docs/STEWARDS.md lists them.

/// The identifier a free-text value holds, if any: a NIR with a valid key, an email
/// address, a French phone number, an RPPS number with a valid key. These hold in any
/// text; the shapes of [`in_code`] would also match counts and dates in a dataset.
pub fn in_text(value: &str) -> Option<&'static str> {
    could_hold_one(value).then(|| text_shapes(value)).flatten()
}

fn text_shapes(value: &str) -> Option<&'static str> {
    if value.contains('@') && has_email(value) {
        return Some("email");
    }
    let compact: String = value.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect();
    if words(value).any(is_nir) || (compact.len() == 15 && is_nir(&compact)) {
        return Some("nir");
    }
    if has_phone(value) {
        return Some("phone");
    }
    if words(value).any(is_rpps) {
        return Some("rpps");
    }
    None
}

/// The identifier a code (a network id, a partition value) holds, if any: those of
/// [`in_text`], and a word that is a date, a postcode, or an ADELI or FINESS number (9
/// characters, digits or 2A/2B first), which no code of msma's is made of.
pub fn in_code(value: &str) -> Option<&'static str> {
    could_hold_one(value).then(|| code_shapes(value)).flatten()
}

fn code_shapes(value: &str) -> Option<&'static str> {
    text_shapes(value).or_else(|| {
        let all: Vec<&str> = words(value).collect();
        if all.iter().any(|w| is_date(w)) || all.windows(3).any(|w| is_date(&w.join("-"))) {
            Some("date")
        } else if all.iter().any(|w| w.len() == 5 && digits(w)) {
            Some("postcode")
        } else if all.iter().any(|w| is_adeli_or_finess(w)) {
            Some("adeli_or_finess")
        } else {
            None
        }
    })
}

/// Every shape but an email address holds at least five ASCII digits (a postcode; the
/// others more): a cheap test that spares most values, and every network id of an
/// ingest, the work of the detectors.
fn could_hold_one(value: &str) -> bool {
    value.contains('@') || value.bytes().filter(u8::is_ascii_digit).nth(4).is_some()
}

/// Parts of a value between characters other than ASCII letters, digits and `+`.
pub fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_ascii_alphanumeric() && c != '+')
        .filter(|w| !w.is_empty())
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// 15 characters: sex digit, year, month, département (2A/2B or digits), commune,
/// order, and a key equal to 97 - (the 13-digit number mod 97), 2A as 19 and 2B as 18.
pub fn is_nir(w: &str) -> bool {
    let b = w.as_bytes();
    if b.len() != 15 || !w.is_ascii() || !matches!(b[0], b'1' | b'2' | b'3' | b'4' | b'7' | b'8') {
        return false;
    }
    let digits13 = match &w[5..7] {
        "2A" | "2a" => format!("{}19{}", &w[..5], &w[7..13]),
        "2B" | "2b" => format!("{}18{}", &w[..5], &w[7..13]),
        _ => w[..13].to_owned(),
    };
    if !digits(&digits13) || !digits(&w[13..]) {
        return false;
    }
    let (Ok(n), Ok(key)) = (digits13.parse::<u64>(), w[13..].parse::<u64>()) else {
        return false;
    };
    key == 97 - n % 97
}

/// `(+33|0033|0)[1-9]([ .-]?[0-9]{2}){4}` standing as a word of its own (no letter or
/// digit right before or after it, so hex pseudonyms do not count).
pub fn has_phone(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len()).any(|start| {
        (start == 0 || !b[start - 1].is_ascii_alphanumeric())
            && s.is_char_boundary(start)
            && crate::checks::phone_tails(&s[start..])
                .any(|rest| rest.bytes().next().is_none_or(|c| !c.is_ascii_alphanumeric()))
    })
}

/// An address `local@host.tld` anywhere in `s`.
pub fn has_email(s: &str) -> bool {
    s.match_indices('@').any(|(i, _)| {
        let local = s[..i]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || "._%+-".contains(*c))
            .count();
        let domain: String = s[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || ".-".contains(*c))
            .collect();
        local > 0
            && domain
                .trim_end_matches('.')
                .rsplit_once('.')
                .is_some_and(|(h, tld)| !h.is_empty() && tld.len() >= 2)
    })
}

/// 11 digits starting with 10 and a valid Luhn key, as RPPS numbers are.
pub fn is_rpps(w: &str) -> bool {
    w.len() == 11 && w.starts_with("10") && digits(w) && luhn(w)
}

/// 9 characters, a département (digits, 2A or 2B) and 7 digits: ADELI numbers (no key)
/// and FINESS numbers (a Luhn key) both have this shape.
fn is_adeli_or_finess(w: &str) -> bool {
    w.len() == 9 && w.is_ascii() && (digits(&w[..2]) || matches!(&w[..2], "2A" | "2B")) && digits(&w[2..])
}

/// A calendar date from 1900 to 2099: YYYY-MM-DD, DD-MM-YYYY (any separator once split
/// into words, joined back with `-`), or YYYYMMDD.
fn is_date(w: &str) -> bool {
    let ymd = |y: &str, m: &str, d: &str| {
        let num = |s: &str| s.parse::<u32>().ok();
        [y, m, d].iter().all(|p| digits(p))
            && (y.starts_with("19") || y.starts_with("20"))
            && match (num(y), num(m), num(d)) {
                (Some(y), Some(m), Some(d)) => chrono::NaiveDate::from_ymd_opt(y as i32, m, d).is_some(),
                _ => false,
            }
    };
    let parts: Vec<&str> = w.split('-').collect();
    match parts[..] {
        [a, b, c] if a.len() == 4 && b.len() == 2 && c.len() == 2 => ymd(a, b, c),
        [a, b, c] if a.len() == 2 && b.len() == 2 && c.len() == 4 => ymd(c, b, a),
        [a] if a.len() == 8 => ymd(&a[..4], &a[4..6], &a[6..]),
        _ => false,
    }
}

/// The Luhn key of a string of digits holds.
pub fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = u32::from(c - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text() {
        assert_eq!(in_text("185057800608491"), Some("nir"));
        assert_eq!(in_text("1 85 05 78 006 084 91"), Some("nir"));
        assert_eq!(in_text("185057800608490"), None, "wrong key");
        assert_eq!(in_text("appelez le 06 12 34 56 78"), Some("phone"));
        assert_eq!(in_text("+33612345678"), Some("phone"));
        assert_eq!(in_text("a.b@example.fr"), Some("email"));
        assert_eq!(in_text("10001234567").is_some(), luhn("10001234567"));
        assert_eq!(in_text("alcohol"), None);
        assert_eq!(in_text("40-44"), None);
        let pseudo = "165414417fbfe331f58f39980f7d697c2c6db513d89465f1463de2796e73ad34";
        assert_eq!(in_text(pseudo), None);
        assert_eq!(in_text("a0612345678b"), None, "inside a hex word");
        assert_eq!(in_text("é 06 12 34 56 78 é"), Some("phone"), "non-ASCII around");
        assert_eq!(in_text("éàü"), None);
    }

    #[test]
    fn codes() {
        for (value, kind) in [
            ("176051330326187", "nir"),
            ("0612345678", "phone"),
            ("RMS-06-12-34-56-78", "phone"),
            ("1985-03-14", "date"),
            ("RMS-14-03-1985", "date"),
            ("19850314", "date"),
            ("75011", "postcode"),
            ("2A0000012", "adeli_or_finess"),
            ("671234567", "adeli_or_finess"),
            ("jean@example.fr", "email"),
        ] {
            assert_eq!(in_code(value), Some(kind), "{value}");
        }
        for clean in ["RMS-ALSACE", "RMS-GRAND-EST-01", "year=2024", "2024", "RMS-BFC"] {
            assert_eq!(in_code(clean), None, "{clean}");
        }
        assert_eq!(in_code("1985-02-30"), None, "not a date");
    }

    #[test]
    fn values_the_quick_test_spares_hold_no_shape() {
        // Every string of up to 12 of these characters with fewer than five digits,
        // sampled by a fixed linear congruential walk.
        let alphabet = b"0123456789-. +/2ABx@";
        let mut state = 1u64;
        let mut spared = 0;
        for _ in 0..200_000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = 1 + (state >> 60) as usize % 12;
            let value: String = (0..len)
                .map(|i| alphabet[(state >> (i * 5 % 55)) as usize % alphabet.len()] as char)
                .collect();
            if !could_hold_one(&value) {
                spared += 1;
                assert_eq!(code_shapes(&value), None, "{value}");
            }
        }
        assert!(spared > 10_000, "the sample spared only {spared}");
        assert!(could_hold_one("75011") && could_hold_one("a@b") && !could_hold_one("RMS-2024"));
    }

    #[test]
    fn nir_keys_with_corsica() {
        // 2A is computed as 19: key = 97 - (1850519006084 mod 97).
        let n: u64 = 1850519006084;
        assert!(is_nir(&format!("185052A006084{:02}", 97 - n % 97)));
        let n: u64 = 1850518006084;
        assert!(is_nir(&format!("185052B006084{:02}", 97 - n % 97)));
    }
}
