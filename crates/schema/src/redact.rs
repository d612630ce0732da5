//! Parser messages without the values they quote. serde's messages name what they were
//! given ("invalid type: integer `176051330326187`, expected a string", "unknown variant
//! `Santoni`"), and that is identified data, or a secret in a configuration file: every
//! message from serde_json or toml goes through [`rule`] before anyone sees it. What is
//! left is the rule; the caller adds the field and the position.

/// The rule a serde or parser message states, without the value it quotes.
pub fn rule(message: &str) -> String {
    let message = message.trim_end();
    // serde's forms that quote the input: "<what>: <value>, expected <rule>", or
    // "<what> `<value>`, expected <rule>". The rule comes from the schema, never from
    // the input: the last ", expected " starts it.
    let quoting = [
        "invalid type",
        "invalid value",
        "invalid length",
        "unknown variant",
        "unknown field",
        "duplicate key",
    ];
    if let Some(what) = quoting.iter().find(|w| message.starts_with(*w)) {
        return match message.rfind(", expected ") {
            Some(at) => format!("{what}, {}", &message[at + 2..]),
            None => (*what).to_owned(),
        };
    }
    // Other messages (syntax errors, missing or duplicate fields of the schema, msma's
    // own range checks) quote nothing but the schema; anything else with a quote or a
    // backtick in it is reduced to its first words, to be safe.
    let known = [
        "missing field",
        "duplicate field",
        "integer out of range",
        "expected",
        "EOF while parsing",
        "trailing",
        "key must be",
        "control character",
        "recursion limit",
        "lone leading surrogate",
        "unexpected end of hex escape",
        "number out of range",
        "string values must be quoted",
        "extra characters",
        "unclosed",
        "unterminated",
    ];
    if known.iter().any(|k| message.starts_with(k)) || !message.contains(['`', '"', '\'']) {
        message.to_owned()
    } else {
        message
            .split(['`', '"', '\''])
            .next()
            .unwrap_or_default()
            .trim_end()
            .to_owned()
    }
}

/// A parse error of a configuration file (TOML) as "line L, column C: [key: ]rule": the
/// key is named when the line sets one of `keys`, the value never is. An unknown key is
/// named when it is shaped as msma's keys are (lower-case letters and `_`, a typo):
/// anything else, such as a pasted secret, shows only by its line.
pub fn at(text: &str, span: Option<std::ops::Range<usize>>, message: &str, keys: &[&str]) -> String {
    let Some(span) = span.filter(|s| s.start <= text.len() && text.is_char_boundary(s.start)) else {
        return rule(message);
    };
    let before = &text[..span.start];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    let line_text = text[line_start..].lines().next().unwrap_or_default();
    let key = line_text
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| keys.contains(k))
        .map(|k| format!("{k}: "))
        .unwrap_or_default();
    let typo = message
        .strip_prefix("unknown field `")
        .and_then(|m| m.split('`').next())
        .filter(|k| (1..=32).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .map(|k| format!("`{k}` "))
        .unwrap_or_default();
    format!("line {line}, column {column}: {key}{typo}{}", rule(message))
}

#[cfg(test)]
mod tests {
    use super::rule;

    #[test]
    fn values_are_dropped_rules_kept() {
        assert_eq!(
            rule("invalid type: integer `176051330326187`, expected a string"),
            "invalid type, expected a string"
        );
        assert_eq!(
            rule("unknown variant `Santoni`, expected one of `in_person`, `phone`"),
            "unknown variant, expected one of `in_person`, `phone`"
        );
        assert_eq!(
            rule("invalid type: string \"a, expected b\", expected usize"),
            "invalid type, expected usize"
        );
        assert_eq!(
            rule("unknown field `JEAN`, expected `a` or `b`"),
            "unknown field, expected `a` or `b`"
        );
        assert_eq!(rule("missing field `no_show`"), "missing field `no_show`");
        assert_eq!(rule("expected `,` or `}`"), "expected `,` or `}`");
        assert_eq!(rule("something `secret` happened"), "something");
    }

    #[test]
    fn positions_and_known_keys() {
        let text = "a = 1\nsecret_key = \"3f9a\"\nflush = \"3f9a\"\n";
        let at_value = |needle: &str| {
            let start = text.find(needle).unwrap();
            Some(start..start + 4)
        };
        let m = "invalid type: string \"3f9a\", expected usize";
        assert_eq!(
            super::at(text, at_value("\"3f9a\"\nflush"), m, &["flush"]),
            "line 2, column 14: invalid type, expected usize"
        );
        let last = text.rfind("\"3f9a").unwrap();
        assert_eq!(
            super::at(text, Some(last..last + 6), m, &["flush"]),
            "line 3, column 9: flush: invalid type, expected usize"
        );
    }
}
