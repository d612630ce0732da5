//! docs/SCHEMAS.md: the event contract for the networks' software.

use crate::codes::CodeList;
use crate::envelope::{ENVELOPE, Member, PATIENT};
use crate::field::{Field, Rule};
use crate::payload::EventType;
use std::fmt::Write;

/// Escapes a Markdown table cell (GFM splits cells on every unescaped pipe).
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn shape(f: &Field) -> String {
    match &f.rule {
        Rule::Text(t) => t.shape.to_owned(),
        Rule::Code(_) => "code".to_owned(),
        Rule::Codes { min_items, .. } => format!("array of codes, unique, {min_items}+ items"),
        Rule::Int { min, max } => format!("integer {min}..{max}"),
        Rule::Bool => "boolean".to_owned(),
    }
}

fn required(f: &Field) -> &'static str {
    if f.required { "yes" } else { "no (nullable)" }
}

fn quoted(codes: &[&str]) -> String {
    codes.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
}

fn envelope_fields() -> impl Iterator<Item = &'static Field> {
    ENVELOPE.iter().filter_map(|m| match m {
        Member::Field(f) => Some(f),
        _ => None,
    })
}

fn payload_fields() -> impl Iterator<Item = (EventType, &'static Field)> {
    EventType::all().iter().flat_map(|&t| {
        t.versions()
            .iter()
            .flat_map(move |&v| t.fields(v).unwrap_or_default().iter().map(move |f| (t, f)))
    })
}

/// Every field with a pattern, by pattern, in the order they first appear.
fn patterns() -> Vec<(&'static str, Vec<String>, String)> {
    let named = envelope_fields()
        .map(|f| (f.name.to_owned(), f))
        .chain(payload_fields().map(|(_, f)| (f.name.to_owned(), f)))
        .chain(PATIENT.iter().map(|f| (format!("patient.{}", f.name), f)));
    let mut out: Vec<(&'static str, Vec<String>, String)> = Vec::new();
    for (name, f) in named {
        let Rule::Text(t) = &f.rule else { continue };
        let Some(pattern) = t.pattern else { continue };
        if let Some(group) = out.iter_mut().find(|(p, ..)| *p == pattern) {
            if !group.1.contains(&name) {
                group.1.push(name);
            }
            continue;
        }
        let mut also = Vec::new();
        also.extend(t.format.map(|f| format!("format `{f}`")));
        also.extend(t.min_len.map(|n| format!("minLength {n}")));
        also.extend(t.max_len.map(|n| format!("maxLength {n}")));
        out.push((pattern, vec![name], also.join(", ")));
    }
    out
}

/// Who uses each code list, in the order lists are first used.
fn code_lists() -> Vec<(&'static CodeList, Vec<String>)> {
    let used = PATIENT
        .iter()
        .map(|f| (format!("patient.{}", f.name), f))
        .chain(payload_fields().map(|(t, f)| (format!("{t}.{}", f.name), f)));
    let mut out: Vec<(&'static CodeList, Vec<String>)> = Vec::new();
    for (name, f) in used {
        let list = match &f.rule {
            Rule::Code(list) | Rule::Codes { list, .. } => *list,
            _ => continue,
        };
        match out.iter_mut().find(|(l, _)| *l == list) {
            Some((_, users)) => users.push(name),
            None => out.push((list, vec![name])),
        }
    }
    out
}

/// docs/SCHEMAS.md, showing `example` (an event of `schemas/examples/valid/`, `name`).
pub fn schemas_md(example_name: &str, example: &str) -> String {
    let mut out = String::from(INTRO);
    let _ = writeln!(
        out,
        "An event (`{example_name}`):\n\n```json\n{}\n```\n",
        example.trim_end_matches('\n')
    );
    out.push_str("## The envelope\n\nEvery event is one JSON object with exactly these eight members:\n\n");
    out.push_str("| field | type | class | meaning |\n|---|---|---|---|\n");
    for m in ENVELOPE {
        let _ = match m {
            Member::Field(f) => writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                f.name,
                cell(&shape(f)),
                f.class.as_str(),
                cell(f.doc)
            ),
            Member::EventType => writeln!(
                out,
                "| `event_type` | string | attribute | One of the {} event types below; selects the schema. |",
                EventType::all().len()
            ),
            Member::SchemaVersion => writeln!(
                out,
                "| `schema_version` | integer | attribute | Version of that event type's schema. |"
            ),
            Member::Patient => writeln!(out, "| `patient` | object | | Identity fields, below. |"),
            Member::Payload => writeln!(out, "| `payload` | object | | The event type's fields, below. |"),
        };
    }
    out.push_str(
        "\nExact patterns (ECMA-262; `$` is the end of the string):\n\n| field | pattern | also |\n|---|---|---|\n",
    );
    for (pattern, names, also) in patterns() {
        let _ = writeln!(out, "| {} | `{}` | {also} |", names.join(", "), cell(pattern));
    }
    out.push_str(PATIENT_INTRO);
    out.push_str("| field | type | required | class | meaning | RECAP / TDI |\n|---|---|---|---|---|---|\n");
    for f in PATIENT {
        let ty = match &f.rule {
            Rule::Code(list) => format!("code `{}`: {}", list.name, quoted(list.codes)),
            _ => shape(f),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            f.name,
            cell(&ty),
            required(f),
            f.class.as_str(),
            cell(f.doc),
            cell(f.recap.unwrap_or_default())
        );
    }
    out.push_str(
        "\n## Event types\n\nSchemas: `schemas/<event_type>/v<N>.schema.json`. Every payload field is an attribute \
         except those marked pseudonymised.\n\n",
    );
    for &t in EventType::all() {
        for &v in t.versions() {
            let _ = writeln!(out, "### `{t}` v{v}\n\n{}\n", t.doc());
            out.push_str(
                "| field | type | required | class | code list | meaning | RECAP / TDI |\n|---|---|---|---|---|---|---|\n",
            );
            for f in t.fields(v).unwrap_or_default() {
                let list = match &f.rule {
                    Rule::Code(list) | Rule::Codes { list, .. } => format!("`{}`", list.name),
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} | {list} | {} | {} |",
                    f.name,
                    cell(&shape(f)),
                    required(f),
                    f.class.as_str(),
                    cell(f.doc),
                    cell(f.recap.unwrap_or_default())
                );
            }
            out.push('\n');
        }
    }
    out.push_str(RULES);
    out.push_str(CODE_LISTS_INTRO);
    out.push_str("| code list | used by | codes | RECAP | TDI 3.0 |\n|---|---|---|---|---|\n");
    for (list, users) in code_lists() {
        let users: Vec<String> = users.iter().map(|u| format!("`{u}`")).collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            list.name,
            users.join(", "),
            quoted(list.codes),
            list.recap,
            list.tdi
        );
    }
    out
}

const INTRO: &str = "\
# msma event contract

<!-- Generated by msma-schema (crates/schema) from the declarations the decoder is built
from: edit them, then run `MSMA_BLESS=1 cargo test --release --workspace --test generated`. -->

Network software sends msma one event per line (NDJSON, UTF-8). Each event is checked
against the JSON Schema (draft 2020-12) of its `event_type` and `schema_version`, under
`schemas/<event_type>/v<N>.schema.json`. The Rust decoder (`msma_schema::decode`) accepts
exactly the documents those schemas accept; `tests/py/check_schemas.py` is the reference
Python validator. Examples: `schemas/examples/valid/` and `schemas/examples/invalid/`
(one event per file, named after what it shows).

Field classes (`x-msma-class` in the schemas): `direct_identifier` (dropped),
`pseudonymised` (replaced by a keyed pseudonym), `quasi_identifier` (generalised),
`attribute` (kept). `x-recap` names the RECAP / TDI item a field maps to;
`x-msma-code-list` names the code list.

";

const PATIENT_INTRO: &str = "
### `patient`

Only `local_id` is required. Identity fields are optional and nullable: send what the
software has, nothing more. Direct identifiers never reach a dataset; quasi-identifiers
are generalised (birth date to age band, postcode to département and region,
`occurred_at` to a period).

";

const CODE_LISTS_INTRO: &str = "## Code lists and their RECAP / EMCDDA TDI 3.0 items

Codes are English snake_case, declared once in `crates/schema/src/codes.rs`. TDI item
numbers follow the TDI 3.0 protocol; \"none\" means the list has no RECAP or TDI
counterpart (microstructure activity data).

";

const RULES: &str = include_str!("rules.md");
