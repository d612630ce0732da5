//! The one escaping function of the report's HTML and SVG: every text or attribute
//! value taken from a report goes through it. Hand-written rather than a template engine:
//! the page and charts are assembled with `write!`, and the output stays byte-identical.

/// Escapes XML (and HTML) specials; drops control characters XML 1.0 cannot carry.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            _ if ch.is_control() => {}
            _ => out.push(ch),
        }
    }
    out
}
