//! The report as one self-contained HTML page: inline style, inline SVG, no script, no
//! outside resource, so it can be mailed, archived and opened offline.

use crate::escape::escape;
use crate::svg::{self, Chart, Point, Series};
use crate::table::{ChartKind, MARK, Table};
use crate::{Report, sdc};
use std::fmt::Write;

/// Women and men in the same colours in every chart (Okabe-Ito, readable by colour-blind
/// readers); other series take the rest of the palette.
pub const WOMEN_COLOUR: &str = "#D55E00";
pub const MEN_COLOUR: &str = "#0072B2";
const PALETTE: &[&str] = &[
    "#009E73", "#E69F00", "#56B4E9", "#CC79A7", "#000000", "#999999", "#F0E442",
];

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;\
max-width:64rem;color:#222;line-height:1.45;padding:0 1rem}h1{font-size:1.6rem;margin-bottom:.2rem}\
h2{font-size:1.2rem;margin-top:2.5rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}\
.meta{color:#555;font-size:.9rem}table{border-collapse:collapse;margin:.8rem 0;font-size:.9rem}\
th,td{border:1px solid #ccc;padding:.25rem .6rem}td{text-align:right;font-variant-numeric:tabular-nums}\
th{background:#f3f3f3;text-align:left}tr.total td,tr.total th{font-weight:600;background:#fafafa}\
td.masked{color:#777;font-style:italic;background:#f6f6f6}.note{color:#555;font-size:.85rem;max-width:52rem}\
.sdc{background:#fff8e6;border:1px solid #f0d9a0;padding:.6rem .9rem;font-size:.9rem}figure{margin:1rem 0}\
figure svg{max-width:100%;height:auto}";

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n",
        title = escape(&report.title)
    );
    out.push_str("<p class=\"meta\">");
    out.push_str(&escape(&scope(report)));
    out.push_str("<br>");
    out.push_str(&escape(&provenance(report)));
    out.push_str("</p>\n<p class=\"sdc\">");
    out.push_str(&escape(&disclosure(report)));
    out.push_str("</p>\n");
    for table in &report.tables {
        let _ = writeln!(out, "<section id=\"{}\">\n<h2>{}</h2>", table.id, escape(&table.title));
        if let Some(svg) = chart(table) {
            let _ = writeln!(out, "<figure>{svg}</figure>");
        }
        table_html(&mut out, table);
        let _ = writeln!(out, "<p class=\"note\">{}</p>\n</section>", escape(&table.note));
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn scope(report: &Report) -> String {
    let f = &report.settings.filter;
    let mut parts = vec![match &f.network {
        Some(n) => format!("Network {n}"),
        None => "All networks".into(),
    }];
    parts.push(match &f.region {
        Some(r) => format!("residents of {}", crate::labels::region(r)),
        None => "all regions".into(),
    });
    if let Some(y) = report.year {
        parts.push(format!("one-year views: {y}"));
    }
    parts.join(" · ")
}

fn provenance(report: &Report) -> String {
    match (&report.head, &report.study_id) {
        (Some(h), study) => format!(
            "Study {} · ledger record {} (head SHA-256 {}) · committed {}",
            study.as_deref().unwrap_or("?"),
            h.seq,
            h.sha256,
            h.committed_at
        ),
        (None, _) => "Empty zone: no commit yet".into(),
    }
}

fn disclosure(report: &Report) -> String {
    let s = &report.suppressed;
    let mut text = format!(
        "Disclosure control (cell-key method): every count carries a small noise, from \u{2212}{max} to +{max} and \
         most often 0, fixed by the patients or meetings it counts, so the same count reads the same in every \
         table and report; totals are counted with their own noise and need not add up. {mark} marks a \
         confidential figure: a count below {t} before or after the noise ({n} here), or a ratio, share, mean \
         or amount computed from one ({d} here).",
        max = sdc::MAX_NOISE,
        mark = MARK,
        t = report.settings.threshold,
        n = s.small,
        d = s.derived,
    );
    if let Some(u) = report.unknown_sex_display() {
        let _ = write!(
            text,
            " Patients of unknown sex or without an inclusion, not in the tables by sex: {u}."
        );
    }
    text
}

fn table_html(out: &mut String, table: &Table) {
    // Wide tables scroll inside the page instead of overflowing it.
    out.push_str("<div style=\"overflow-x:auto\"><table>\n<thead><tr>");
    let _ = write!(out, "<th scope=\"col\">{}</th>", escape(&table.row_header));
    for c in &table.columns {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(c));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        let class = if row.total { " class=\"total\"" } else { "" };
        let _ = write!(out, "<tr{class}><th scope=\"row\">{}</th>", escape(&row.label));
        for cell in &row.cells {
            let class = if cell.mask.is_some() {
                " class=\"masked\" title=\"confidential\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(&cell.display()));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
}

fn chart(table: &Table) -> Option<String> {
    let spec = table.chart.as_ref()?;
    let rows: Vec<_> = table.rows.iter().filter(|r| !r.total).collect();
    if rows.is_empty() {
        return None;
    }
    let mut others = PALETTE.iter();
    let series = spec
        .series
        .iter()
        .map(|&c| {
            let name = table.columns[c].clone();
            let colour = match name.as_str() {
                "Women" => WOMEN_COLOUR,
                "Men" => MEN_COLOUR,
                _ => others.next().unwrap_or(&"#444444"),
            };
            Series {
                name,
                colour: colour.into(),
                points: rows
                    .iter()
                    .map(|r| {
                        let cell = &r.cells[c];
                        match (cell.mask, cell.published) {
                            (Some(_), _) => Point::Masked,
                            (None, Some(v)) => Point::Value(v, cell.display()),
                            (None, None) => Point::Missing,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let chart = Chart {
        title: table.title.clone(),
        categories: rows.iter().map(|r| r.label.clone()).collect(),
        category_axis: table.row_header.clone(),
        value_axis: spec.value_axis.clone(),
        series,
        masked_label: MARK.into(),
    };
    Some(match spec.kind {
        ChartKind::Bars => svg::bars(&chart),
        ChartKind::Lines => svg::lines(&chart),
    })
}
