//! Inline SVG charts for researcher reports: grouped horizontal bars and yearly lines of
//! patient counts by series (e.g. women and men), under statistical disclosure control.
//!
//! A masked value is never drawn at its size: a bar becomes a fixed 6px hatched stub and a
//! line point a hollow marker on the x axis, both labelled with the chart's masked label, and
//! no line is drawn through it. The output is one self-contained, deterministic `<svg>`
//! element (inline attributes only, no script, no external resource) that is well-formed XML.

use crate::escape::escape;
use std::fmt::Write;

/// One value of a series at one category.
#[derive(Debug, Clone, PartialEq)]
pub enum Point {
    /// A published value and the label drawn on it (e.g. "283" or "43.5").
    Value(f64, String),
    /// A value hidden by disclosure control: drawn as a small hatched stub (bars) or a
    /// hollow marker on the axis (lines), labelled with `masked_label` of the chart, never at its true size.
    Masked,
    /// No value (nothing to draw, e.g. a region without data).
    Missing,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text, e.g. "Women".
    pub name: String,
    /// CSS colour, e.g. "#D55E00".
    pub colour: String,
    /// One per category, same order as the chart's categories.
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    /// Bar groups (bars) or x positions (lines).
    pub categories: Vec<String>,
    /// Axis label for categories, e.g. "Region" or "Year".
    pub category_axis: String,
    /// Axis label for values, e.g. "Patients".
    pub value_axis: String,
    pub series: Vec<Series>,
    /// E.g. "<11".
    pub masked_label: String,
}

const FONT: &str = "Helvetica, Arial, sans-serif";
const INK: &str = "#333333";
const GRID: &str = "#dddddd";
/// Approximate advance of a 12px sans-serif character, to reserve room for labels.
const CHAR_W: f64 = 7.0;
/// Longer category labels are truncated with "…" (the full text stays in a tooltip).
const MAX_CHARS: usize = 40;
/// Width of a masked bar: fixed, so it carries nothing of the hidden value.
const STUB_W: f64 = 6.0;
/// Room above the plot for the title and legend rows.
const TOP: f64 = 72.0;
// Text styles (every text is vertically centred on its y).
const MID: &str = r#" text-anchor="middle""#;
const END: &str = r#" text-anchor="end""#;
const SMALL: &str = r#" font-size="11""#;
const SMALL_MID: &str = r#" text-anchor="middle" font-size="11""#;
const BOLD: &str = r#" font-weight="bold""#;
const BOLD_MID: &str = r#" text-anchor="middle" font-weight="bold""#;
const TITLE: &str = r#" font-size="16" font-weight="bold""#;

/// `write!` into a `String` cannot fail.
macro_rules! put {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}

/// Horizontal grouped bars: one group per category (label on the left), one bar per series in
/// the group, the value label at the end of each bar, a value axis with "nice" ticks (1-2-5 steps)
/// and gridlines, a legend, the title on top. Height grows with the number of categories.
pub fn bars(chart: &Chart) -> String {
    const BAR: f64 = 14.0;
    const GAP: f64 = 2.0;
    const PAD: f64 = 14.0;
    let group = chart.series.len().max(1) as f64 * (BAR + GAP) - GAP + PAD;
    let left = (16.0 + CHAR_W * longest(&chart.categories)).max(72.0);
    let label_chars = points(chart).filter_map(|p| match p {
        Point::Value(_, label) => Some(label.chars().count()),
        Point::Masked => Some(chart.masked_label.chars().count()),
        Point::Missing => None,
    });
    let right = (16.0 + CHAR_W * label_chars.max().unwrap_or(0) as f64).max(40.0);
    let width = (left + right + 240.0)
        .max(left + legend_width(chart) + right)
        .max(720.0);
    let plot_w = width - left - right;
    let bottom = TOP + chart.categories.len().max(1) as f64 * group;
    let (step, top) = nice(max_value(chart));
    let (x, mid) = (|v: f64| left + v / top * plot_w, left + plot_w / 2.0);

    let (mut out, id) = header(chart, "bars", width, bottom + 50.0);
    for t in ticks(step, top) {
        line(&mut out, (x(t), TOP), (x(t), bottom), GRID);
        text(&mut out, x(t), bottom + 14.0, MID, &num(t));
    }
    line(&mut out, (left, TOP), (left, bottom), INK);
    for (i, cat) in chart.categories.iter().enumerate() {
        let gy = TOP + i as f64 * group + PAD / 2.0;
        category_label(&mut out, left - 8.0, gy + (group - PAD) / 2.0, END, cat);
        for (j, s) in chart.series.iter().enumerate() {
            let y = gy + j as f64 * (BAR + GAP);
            let (kind, w, fill, label, masked) = match s.points.get(i) {
                Some(Point::Value(v, label)) => ("bar", x(clamp(*v)) - left, escape(&s.colour), label, false),
                Some(Point::Masked) => ("masked", STUB_W, format!("url(#{id}-hatch)"), &chart.masked_label, true),
                _ => continue,
            };
            let (bx, by, bw, colour, tip) = (c(left), c(y), c(w), escape(&s.colour), tip(s, cat, label, masked));
            put!(
                out,
                r#"<rect data-kind="{kind}" x="{bx}" y="{by}" width="{bw}" height="{BAR}" fill="{fill}" stroke="{colour}">{tip}</rect>"#
            );
            text(&mut out, left + w + 4.0, y + BAR / 2.0, SMALL, label);
        }
    }
    legend(&mut out, chart, &id, left, true);
    text(&mut out, mid, bottom + 38.0, BOLD_MID, &chart.value_axis);
    text(&mut out, 12.0, TOP - 10.0, BOLD, &chart.category_axis);
    out + "</svg>"
}

/// A line chart for yearly trends: categories on the x axis in order, one polyline per series
/// with a marker and value label at each published point; a line is broken (not drawn through)
/// across Masked/Missing points; Masked points show a hollow marker on the x axis and the masked label.
/// Y axis from 0 with nice ticks and gridlines, legend, title, both axis labels.
pub fn lines(chart: &Chart) -> String {
    const PLOT_H: f64 = 260.0;
    const RIGHT: f64 = 24.0;
    let n = chart.categories.len();
    let (step, top) = nice(max_value(chart));
    let ticks = ticks(step, top);
    let left = 40.0 + CHAR_W * ticks.iter().map(|t| num(*t).len()).max().unwrap_or(1) as f64;
    let slot = (CHAR_W * longest(&chart.categories) + 12.0).max(40.0);
    let width = (left + RIGHT + n.max(1) as f64 * slot)
        .max(left + legend_width(chart) + RIGHT)
        .max(720.0);
    let (right, axis) = (width - RIGHT, TOP + PLOT_H);
    // Categories sit at the centres of equal slots, so a single year is centred.
    let x = |i: usize| left + (right - left) / n.max(1) as f64 * (i as f64 + 0.5);
    let y = |v: f64| axis - v / top * PLOT_H;

    let (mut out, id) = header(chart, "lines", width, axis + 60.0);
    for &t in &ticks {
        line(&mut out, (left, y(t)), (right, y(t)), GRID);
        text(&mut out, left - 6.0, y(t), END, &num(t));
    }
    line(&mut out, (left, TOP), (left, axis), INK);
    line(&mut out, (left, axis), (right, axis), INK);
    for (i, cat) in chart.categories.iter().enumerate() {
        category_label(&mut out, x(i), axis + 16.0, MID, cat);
    }
    for (si, s) in chart.series.iter().enumerate() {
        let colour = escape(&s.colour);
        let coords: Vec<Option<String>> = (0..n)
            .map(|i| match s.points.get(i) {
                Some(Point::Value(v, _)) => Some(format!("{},{}", c(x(i)), c(y(clamp(*v))))),
                _ => None,
            })
            .collect();
        // One polyline per run of published points: bridging a masked or missing year would
        // suggest a value there. A lone point gets its marker only.
        for run in coords.split(Option::is_none).filter(|run| run.len() > 1) {
            let pts = run.iter().flatten().cloned().collect::<Vec<_>>().join(" ");
            put!(
                out,
                r#"<polyline data-kind="line" points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>"#
            );
        }
        for (i, cat) in chart.categories.iter().enumerate() {
            match s.points.get(i) {
                Some(Point::Value(v, label)) => {
                    let py = y(clamp(*v));
                    let (cx, cy, tip) = (c(x(i)), c(py), tip(s, cat, label, false));
                    put!(
                        out,
                        r#"<circle data-kind="point" cx="{cx}" cy="{cy}" r="3.5" fill="{colour}">{tip}</circle>"#
                    );
                    // Odd series label below their points, so two close lines stay readable;
                    // beyond two series the labels would overlap: the tooltips and the table
                    // give the values.
                    if chart.series.len() <= 2 {
                        let below = si % 2 == 1 && py + 20.0 < axis;
                        text(&mut out, x(i), py + if below { 12.0 } else { -10.0 }, SMALL_MID, label);
                    }
                }
                Some(Point::Masked) => {
                    let (cx, cy, tip) = (c(x(i)), c(axis), tip(s, cat, &chart.masked_label, true));
                    put!(
                        out,
                        r#"<circle data-kind="masked" cx="{cx}" cy="{cy}" r="4" fill="white" stroke="{colour}" stroke-width="1.5">{tip}</circle>"#
                    );
                    // Stacked above the labels of series masked the same year.
                    let under = chart.series[..si]
                        .iter()
                        .filter(|o| o.points.get(i) == Some(&Point::Masked));
                    let ly = axis - 10.0 - 13.0 * under.count() as f64;
                    text(&mut out, x(i), ly, SMALL_MID, &chart.masked_label);
                }
                _ => {}
            }
        }
    }
    legend(&mut out, chart, &id, left, false);
    text(
        &mut out,
        (left + right) / 2.0,
        axis + 42.0,
        BOLD_MID,
        &chart.category_axis,
    );
    let mid = TOP + PLOT_H / 2.0;
    let rotated = format!(r#" transform="rotate(-90 16 {})"{BOLD_MID}"#, c(mid));
    text(&mut out, 16.0, mid, &rotated, &chart.value_axis);
    out + "</svg>"
}

/// Opens the `<svg>` (accessible title, hatch pattern if needed, background, visible title) and
/// returns it with the chart's id prefix.
fn header(chart: &Chart, kind: &str, width: f64, height: f64) -> (String, String) {
    let id = format!("msma-{kind}-{}", digest(chart));
    let (w, h, title) = (c(width), c(height), escape(&chart.title));
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-title" font-family="{FONT}" font-size="12" fill="{INK}"><title id="{id}-title">{title}</title>"#
    );
    if kind == "bars" && points(chart).any(|p| *p == Point::Masked) {
        // Hatching reads as "a value exists, its size is withheld" without implying a length.
        put!(
            out,
            r#"<defs><pattern id="{id}-hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="4" height="4" fill="white"/><line x1="0" y1="0" x2="0" y2="4" stroke="{INK}" stroke-width="2"/></pattern></defs>"#
        );
    }
    put!(out, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    text(&mut out, 12.0, 22.0, TITLE, &chart.title);
    (out, id)
}

/// One row of swatches: the series, then how masked values look if the chart has any.
/// The width the legend takes, so that the chart is made wide enough for it.
fn legend_width(chart: &Chart) -> f64 {
    let series: f64 = chart
        .series
        .iter()
        .map(|s| 36.0 + CHAR_W * s.name.chars().count() as f64)
        .sum();
    let masked = CHAR_W * (chart.masked_label.chars().count() + 10) as f64 + 24.0;
    series
        + if points(chart).any(|p| *p == Point::Masked) {
            masked
        } else {
            0.0
        }
}

fn legend(out: &mut String, chart: &Chart, id: &str, mut x: f64, bars: bool) {
    for s in &chart.series {
        let (sx, colour) = (c(x), escape(&s.colour));
        put!(out, r#"<rect x="{sx}" y="40" width="12" height="12" fill="{colour}"/>"#);
        text(out, x + 16.0, 46.0, "", &s.name);
        x += 36.0 + CHAR_W * s.name.chars().count() as f64;
    }
    if points(chart).any(|p| *p == Point::Masked) {
        let (sx, cx) = (c(x), c(x + 6.0));
        match bars {
            true => put!(
                out,
                r#"<rect x="{sx}" y="40" width="12" height="12" fill="url(#{id}-hatch)" stroke="{INK}"/>"#
            ),
            false => put!(
                out,
                r#"<circle cx="{cx}" cy="46" r="4" fill="white" stroke="{INK}" stroke-width="1.5"/>"#
            ),
        }
        text(out, x + 16.0, 46.0, "", &format!("{} (masked)", chart.masked_label));
    }
}

fn text(out: &mut String, x: f64, y: f64, style: &str, content: &str) {
    let (x, y, content) = (c(x), c(y), escape(content));
    put!(out, r#"<text x="{x}" y="{y}" dy="0.35em"{style}>{content}</text>"#);
}

fn line(out: &mut String, (x1, y1): (f64, f64), (x2, y2): (f64, f64), s: &str) {
    let (x1, y1, x2, y2) = (c(x1), c(y1), c(x2), c(y2));
    put!(out, r#"<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{s}"/>"#);
}

/// A category label, truncated if long, with the full name as a tooltip then.
fn category_label(out: &mut String, x: f64, y: f64, style: &str, cat: &str) {
    if cat.chars().count() <= MAX_CHARS {
        return text(out, x, y, style, cat);
    }
    let short: String = cat.chars().take(MAX_CHARS - 1).chain(['…']).collect();
    let (x, y, full, short) = (c(x), c(y), escape(cat), escape(&short));
    put!(
        out,
        r#"<text x="{x}" y="{y}" dy="0.35em"{style}><title>{full}</title>{short}</text>"#
    );
}

/// The tooltip "series — category: label", marked when the label stands for a masked value.
fn tip(s: &Series, cat: &str, label: &str, masked: bool) -> String {
    let note = if masked { " (masked)" } else { "" };
    format!(
        "<title>{}</title>",
        escape(&format!("{} — {cat}: {label}{note}", s.name))
    )
}

/// The points actually drawn (one per category).
fn points(chart: &Chart) -> impl Iterator<Item = &Point> {
    let n = chart.categories.len();
    chart.series.iter().flat_map(move |s| s.points.iter().take(n))
}

fn max_value(chart: &Chart) -> f64 {
    let values = points(chart).filter_map(|p| match p {
        Point::Value(v, _) => Some(clamp(*v)),
        _ => None,
    });
    values.fold(0.0, f64::max)
}

/// Negative or non-finite values are not expected; drawing them as 0 keeps the geometry sane.
fn clamp(v: f64) -> f64 {
    if v.is_finite() { v.max(0.0) } else { 0.0 }
}

/// Length in characters of the longest category label, as drawn (truncated).
fn longest(categories: &[String]) -> f64 {
    let chars = categories.iter().map(|c| c.chars().count().min(MAX_CHARS));
    chars.max().unwrap_or(0) as f64
}

/// A "nice" axis for values up to `max` (at least 1, so all-zero data still get an axis): a
/// 1-2-5 step giving three to five intervals, and the first multiple of it at or above `max`.
fn nice(max: f64) -> (f64, f64) {
    let max = max.max(1.0);
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let mut steps = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * mag);
    let step = steps.find(|s| *s >= raw * (1.0 - 1e-9)).unwrap_or(10.0 * mag);
    (step, (max / step - 1e-9).ceil() * step)
}

fn ticks(step: f64, top: f64) -> Vec<f64> {
    (0..=(top / step).round() as usize).map(|i| i as f64 * step).collect()
}

/// A coordinate, with at most one decimal.
fn c(v: f64) -> String {
    trim(format!("{v:.1}"))
}

/// A tick label without needless decimals (0.30000000000000004 → "0.3", 50.0 → "50").
fn num(v: f64) -> String {
    trim(format!("{v:.6}"))
}

fn trim(s: String) -> String {
    let t = s.trim_end_matches('0').trim_end_matches('.');
    if t == "-0" { "0".into() } else { t.into() }
}

/// What the chart shows, hashed: ids stay apart between the charts of one page, and the
/// same chart gets the same id on every build and platform (a hash of its fields as
/// written here, not of `Debug` or std's `Hash`, neither of which promises that).
fn digest(chart: &Chart) -> String {
    use sha2::Digest;
    let mut sha = sha2::Sha256::new();
    let mut field = |s: &str| {
        sha.update((s.len() as u64).to_le_bytes());
        sha.update(s);
    };
    for s in [
        &chart.title,
        &chart.category_axis,
        &chart.value_axis,
        &chart.masked_label,
    ] {
        field(s);
    }
    chart.categories.iter().for_each(|c| field(c));
    for series in &chart.series {
        field(&series.name);
        field(&series.colour);
        for p in &series.points {
            match p {
                Point::Value(v, label) => {
                    field("value");
                    field(&v.to_bits().to_string());
                    field(label);
                }
                Point::Masked => field("masked"),
                Point::Missing => field("missing"),
            }
        }
    }
    let bytes = sha.finalize();
    bytes[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: f64) -> Point {
        Point::Value(x, num(x))
    }

    fn chart(categories: &[&str], women: Vec<Point>, men: Vec<Point>) -> Chart {
        let series = |name: &str, colour: &str, points| Series {
            name: name.into(),
            colour: colour.into(),
            points,
        };
        Chart {
            title: "Patients by region".into(),
            categories: categories.iter().map(|c| c.to_string()).collect(),
            category_axis: "Region".into(),
            value_axis: "Patients".into(),
            series: vec![series("Women", "#D55E00", women), series("Men", "#0072B2", men)],
            masked_label: "<11".into(),
        }
    }

    fn sample() -> Chart {
        let (women, men) = (
            vec![v(283.0), Point::Masked, v(43.0)],
            vec![v(120.0), v(15.0), Point::Missing],
        );
        chart(&["Occitanie", "A&B <x>", "Bretagne"], women, men)
    }

    /// A small but real XML check: one root, balanced tags, quoted attributes, and no raw '<',
    /// '>' or stray '&' in text or attribute values. Returns every attribute (name, raw value).
    fn check_xml(s: &str) -> Result<Vec<(String, String)>, String> {
        let (mut stack, mut attrs, mut roots, mut rest) = (Vec::new(), Vec::new(), 0, s);
        while !rest.is_empty() {
            let Some(after) = rest.strip_prefix('<') else {
                let end = rest.find('<').unwrap_or(rest.len());
                let content = &rest[..end];
                if content.contains('>') || (stack.is_empty() && !content.trim().is_empty()) {
                    return Err(format!("bad text {content:?}"));
                }
                check_entities(content)?;
                rest = &rest[end..];
                continue;
            };
            let (tag, after) = after.split_once('>').ok_or("unclosed tag")?;
            rest = after;
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop() != Some(name) {
                    return Err(format!("bad close {name}"));
                }
                continue;
            }
            let body = tag.strip_suffix('/').unwrap_or(tag);
            let (name, mut list) = body.split_once(' ').unwrap_or((body, ""));
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!("bad tag name {name:?}"));
            }
            while !list.trim().is_empty() {
                let (key, after) = list
                    .trim_start()
                    .split_once("=\"")
                    .ok_or(format!("bad attribute in {tag}"))?;
                let (value, after) = after.split_once('"').ok_or("unterminated attribute")?;
                if !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') || value.contains('<') {
                    return Err(format!("bad attribute {key}={value:?}"));
                }
                check_entities(value)?;
                attrs.push((key.to_string(), value.to_string()));
                list = after;
            }
            roots += usize::from(stack.is_empty());
            if !tag.ends_with('/') {
                stack.push(name);
            }
        }
        if stack.is_empty() && roots == 1 {
            Ok(attrs)
        } else {
            Err(format!("unbalanced: {stack:?}, {roots} roots"))
        }
    }

    fn check_entities(s: &str) -> Result<(), String> {
        let known = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"];
        match s
            .match_indices('&')
            .all(|(i, _)| known.iter().any(|e| s[i..].starts_with(e)))
        {
            true => Ok(()),
            false => Err(format!("raw & in {s:?}")),
        }
    }

    fn count(s: &str, pat: &str) -> usize {
        s.matches(pat).count()
    }

    /// The first element (up to its closing tag) after `marker`.
    fn after<'a>(svg: &'a str, marker: &str) -> &'a str {
        let rest = svg.split(marker).nth(1).expect(marker);
        &rest[..rest.find("</").unwrap()]
    }

    #[test]
    fn well_formed_complete_and_sane_for_all_shapes_of_data() {
        let empty = Chart {
            categories: vec![],
            series: vec![],
            ..sample()
        };
        let zeros = chart(&["2024"], vec![v(0.0)], vec![v(0.0)]);
        let single = chart(&["Bretagne"], vec![Point::Masked], vec![v(7.0)]);
        for data in [sample(), empty, zeros, single] {
            for svg in [bars(&data), lines(&data)] {
                let attrs = check_xml(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
                assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" width=""#));
                assert!(svg.contains(r#"role="img""#) && svg.contains(">Patients by region</title>"));
                for name in data.categories.iter().chain(data.series.iter().map(|s| &s.name)) {
                    assert!(svg.contains(&format!(">{}</text>", escape(name))), "{name}");
                }
                for (key, value) in &attrs {
                    // Coordinates carry at most one decimal; text is at least 11px.
                    for token in value.split([' ', ',']).filter(|t| t.parse::<f64>().is_ok()) {
                        assert!(token.split_once('.').is_none_or(|(_, d)| d.len() == 1), "{key}={value}");
                    }
                    assert!(key != "font-size" || value.parse::<f64>().unwrap() >= 11.0);
                    assert!(!value.contains("NaN") && !value.contains("inf"), "{key}={value}");
                }
            }
        }
    }

    #[test]
    fn masked_bar_is_a_hatched_stub_with_the_escaped_label() {
        let svg = bars(&sample());
        assert_eq!(count(&svg, r#"data-kind="bar""#), 4, "one per published value");
        assert_eq!(count(&svg, r#"data-kind="masked""#), 1);
        let id = after(&svg, "<pattern id=\"").split('"').next().unwrap();
        let stub = after(&svg, r#"data-kind="masked""#);
        assert!(
            stub.contains(r#"width="6""#) && stub.contains(&format!("fill=\"url(#{id})\"")),
            "{stub}"
        );
        assert!(stub.ends_with("<title>Women — A&amp;B &lt;x&gt;: &lt;11 (masked)"));
        assert!(svg.contains(">&lt;11</text>") && !svg.contains("<11"));
        assert!(
            !bars(&chart(&["x"], vec![v(1.0)], vec![])).contains("<pattern"),
            "no masked, no pattern"
        );
    }

    #[test]
    fn lines_break_at_masked_and_missing_points() {
        let years = ["2020", "2021", "2022", "2023", "2024"];
        let women = vec![v(30.0), v(42.0), Point::Masked, v(25.0), v(31.0)];
        let men = vec![v(12.0), Point::Missing, v(14.0), v(15.0), v(18.0)];
        let svg = lines(&chart(&years, women, men));
        // Women: 2020-21 and 2023-24; men: 2022-24 (2020 stands alone: a marker only).
        assert_eq!(count(&svg, "<polyline"), 3);
        assert_eq!(count(&svg, r#"data-kind="point""#), 8);
        let marker = after(&svg, r#"data-kind="masked""#);
        assert!(
            marker.contains(r#"cy="332""#) && marker.contains(r#"fill="white""#),
            "hollow, on the axis"
        );
        assert!(marker.ends_with("<title>Women — 2022: &lt;11 (masked)"));
    }

    #[test]
    fn nice_ticks() {
        let labels = |max: f64| {
            let (step, top) = nice(max);
            ticks(step, top).into_iter().map(num).collect::<Vec<_>>().join(" ")
        };
        assert_eq!(labels(7.0), "0 2 4 6 8");
        assert_eq!(labels(283.0), "0 100 200 300");
        assert_eq!(labels(100.0), "0 20 40 60 80 100");
        assert_eq!(labels(43.5), "0 10 20 30 40 50");
        assert_eq!(labels(2.0), "0 0.5 1 1.5 2");
        assert_eq!(labels(0.0), "0 0.2 0.4 0.6 0.8 1");
        assert_eq!(labels(12_345.0), "0 5000 10000 15000");
    }

    #[test]
    fn data_is_escaped_and_long_labels_truncated() {
        let long = "Auvergne-Rhône-Alpes & Provence-Alpes-Côte d'Azur réunies";
        let mut data = sample();
        data.categories[2] = long.into();
        data.series[0].name = "Women \"F\"".into();
        let svg = bars(&data);
        check_xml(&svg).unwrap();
        assert!(svg.contains(">A&amp;B &lt;x&gt;</text>") && !svg.contains("A&B"));
        assert!(svg.contains("Women &quot;F&quot;") && svg.contains("d&apos;Azur réunies</title>"));
        let shown: String = long.chars().take(39).collect();
        assert!(svg.contains(&format!("{}…</text>", escape(&shown))));
    }

    #[test]
    fn deterministic_ids_differ_between_charts_and_negatives_clamp() {
        let data = chart(&["a"], vec![v(-5.0)], vec![Point::Masked]);
        assert_eq!(bars(&data), bars(&data));
        assert!(bars(&data).contains(r#"data-kind="bar" x="72" y="79" width="0""#));
        let other = Chart {
            title: "Other".into(),
            ..data.clone()
        };
        let id = |svg: &str| after(svg, "<pattern id=\"").split('"').next().unwrap().to_string();
        assert_ne!(id(&bars(&data)), id(&bars(&other)));
        assert_ne!(
            id(&lines(&data).replace("<title id=\"", "<pattern id=\"")),
            id(&bars(&data))
        );
    }
}
