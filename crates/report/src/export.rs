//! The report's tables for scripts. Masked cells carry the mark and the reason, never
//! their value.

use crate::table::{Cell, Mask};
use crate::{Report, sdc};
use serde_json::{Value as Json, json};

/// One line per cell: `table,row,row_label,column,value,masked`.
pub fn csv(report: &Report) -> String {
    let mut out = String::from("table,row,row_label,column,value,masked\n");
    for table in &report.tables {
        for row in &table.rows {
            for (column, cell) in table.columns.iter().zip(&row.cells) {
                let fields = [
                    table.id,
                    &row.key,
                    &row.label,
                    column,
                    &cell.display(),
                    cell.mask.map_or("", |m| mask_name(m)),
                ];
                let line: Vec<String> = fields.iter().map(|f| quote(f)).collect();
                out.push_str(&line.join(","));
                out.push('\n');
            }
        }
    }
    out
}

pub fn json(report: &Report) -> String {
    let tables: Vec<Json> = report
        .tables
        .iter()
        .map(|t| {
            json!({
                "id": t.id,
                "title": t.title,
                "note": t.note,
                "row_header": t.row_header,
                "columns": t.columns,
                "rows": t.rows.iter().map(|r| json!({
                    "key": r.key,
                    "label": r.label,
                    "total": r.total,
                    "cells": r.cells.iter().map(cell).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = json!({
        "report": report.kind,
        "title": report.title,
        "data": {
            "study_id": report.study_id,
            "ledger_seq": report.head.as_ref().map(|h| h.seq),
            "ledger_head_sha256": report.head.as_ref().map(|h| &h.sha256),
        },
        "scope": {
            "network": report.settings.filter.network,
            "region": report.settings.filter.region,
            "year": report.year,
        },
        "threshold": report.settings.threshold,
        "perturbation": sdc::describe(),
        "unknown_sex": report.unknown_sex_display(),
        "suppressed": report.suppressed,
        "tables": tables,
    });
    let mut text = serde_json::to_string_pretty(&doc).expect("reports serialise");
    text.push('\n');
    text
}

fn cell(c: &Cell) -> Json {
    let value = match (c.as_count(), c.rounded()) {
        (Some(_), Some(n)) => json!(n as u64),
        (_, v) => json!(v),
    };
    json!({
        "value": value,
        "display": c.display(),
        "masked": c.mask.map(mask_name),
    })
}

fn mask_name(m: Mask) -> &'static str {
    match m {
        Mask::Small => "small",
        Mask::Derived => "derived",
    }
}

fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}
