//! The report's tables for scripts. Masked cells carry the mark and the reason, never
//! their value.

use crate::table::{Cell, Mask};
use crate::{Report, sdc};
use serde_json::{Value as Json, json};

/// One line per cell: `table,row,row_label,column,value,masked`, quoted only where a
/// field needs it (RFC 4180, `\n` line ends).
pub fn csv(report: &Report) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = ["table", "row", "row_label", "column", "value", "masked"];
    out.write_record(header).expect("CSV in memory");
    for table in &report.tables {
        for row in &table.rows {
            for (column, cell) in table.columns.iter().zip(&row.cells) {
                let mask = cell.mask.map_or("", mask_name);
                let fields = [table.id, &row.key, &row.label, column, &cell.display(), mask];
                out.write_record(fields).expect("CSV in memory");
            }
        }
    }
    let bytes = out.into_inner().expect("CSV in memory");
    String::from_utf8(bytes).expect("fields are text")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Row, Table};

    #[test]
    fn csv_quotes_only_the_fields_that_need_it() {
        let row = |key: &str, label: &str| Row {
            key: key.into(),
            label: label.into(),
            cells: vec![Cell {
                value: None,
                mask: None,
                published: None,
            }],
            total: false,
        };
        let report = Report {
            kind: "test",
            title: String::new(),
            head: None,
            study_id: None,
            settings: crate::Settings::default(),
            year: None,
            unknown_sex: None,
            tables: vec![Table {
                id: "t",
                title: String::new(),
                note: String::new(),
                row_header: String::new(),
                columns: vec!["a\nb".into()],
                rows: vec![row("x,y", "say \"hi\""), row("cr\r", "plain")],
                chart: None,
            }],
            suppressed: sdc::Suppressed::default(),
        };
        assert_eq!(
            csv(&report),
            "table,row,row_label,column,value,masked\n\
             t,\"x,y\",\"say \"\"hi\"\"\",\"a\nb\",–,\n\
             t,\"cr\r\",plain,\"a\nb\",–,\n"
        );
    }
}
