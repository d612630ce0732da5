//! The JSON Schema (draft 2020-12) of each event type and version. Self-contained (no
//! cross-file `$ref`): the envelope comes from the same declarations for every type, so
//! it is byte-identical in every file.

use crate::envelope::{ENVELOPE, Member, PATIENT};
use crate::field::{Field, Rule};
use crate::payload::EventType;
use serde::ser::{Serialize, SerializeMap, Serializer};

const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";
const ID_BASE: &str = "https://msma.invalid/schemas";

/// A JSON value whose members keep the order they are written in.
enum J {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(&'static str, J)>),
}

impl Serialize for J {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::Null => s.serialize_none(),
            J::Bool(b) => s.serialize_bool(*b),
            J::Int(i) => s.serialize_i64(*i),
            J::Str(t) => s.serialize_str(t),
            J::Arr(items) => s.collect_seq(items),
            J::Obj(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

fn str(s: &str) -> J {
    J::Str(s.to_owned())
}

/// `"string"`, or `["string", "null"]` for an optional field.
fn ty(name: &str, nullable: bool) -> J {
    if nullable {
        J::Arr(vec![str(name), str("null")])
    } else {
        str(name)
    }
}

fn codes(list: &[&str]) -> Vec<J> {
    list.iter().map(|c| str(c)).collect()
}

fn field_schema(f: &Field) -> J {
    let nullable = !f.required;
    let mut s = Vec::new();
    match &f.rule {
        Rule::Text(t) => {
            s.push(("type", ty("string", nullable)));
            if let Some(n) = t.min_len {
                s.push(("minLength", J::Int(n as i64)));
            }
            if let Some(n) = t.max_len {
                s.push(("maxLength", J::Int(n as i64)));
            }
            if let Some(p) = t.pattern {
                s.push(("pattern", str(p)));
            }
            if let Some(format) = t.format {
                s.push(("format", str(format)));
            }
        }
        Rule::Code(list) => {
            let mut values = codes(list.codes);
            if nullable {
                values.push(J::Null);
            }
            s.push(("type", ty("string", nullable)));
            s.push(("enum", J::Arr(values)));
            s.push(("x-msma-code-list", str(list.name)));
        }
        Rule::Codes { list, min_items } => {
            s.push(("type", str("array")));
            if *min_items > 0 {
                s.push(("minItems", J::Int(*min_items as i64)));
            }
            s.push(("uniqueItems", J::Bool(true)));
            let items = vec![("type", str("string")), ("enum", J::Arr(codes(list.codes)))];
            s.push(("items", J::Obj(items)));
            s.push(("x-msma-code-list", str(list.name)));
        }
        Rule::Int { min, max } => {
            s.push(("type", ty("integer", nullable)));
            s.push(("minimum", J::Int(*min)));
            s.push(("maximum", J::Int(*max)));
        }
        Rule::Bool => s.push(("type", ty("boolean", nullable))),
    }
    let optional = if f.required {
        ""
    } else {
        " Optional: may be absent or null."
    };
    s.push(("description", J::Str(format!("{}{optional}", f.doc))));
    if let Some(recap) = f.recap {
        s.push(("x-recap", str(recap)));
    }
    s.push(("x-msma-class", str(f.class.as_str())));
    J::Obj(s)
}

fn object_schema(fields: &[Field], description: &str) -> J {
    let required = fields.iter().filter(|f| f.required).map(|f| str(f.name)).collect();
    let properties = fields.iter().map(|f| (f.name, field_schema(f))).collect();
    J::Obj(vec![
        ("type", str("object")),
        ("description", str(description)),
        ("additionalProperties", J::Bool(false)),
        ("required", J::Arr(required)),
        ("properties", J::Obj(properties)),
    ])
}

fn member_name(m: &Member) -> &'static str {
    match m {
        Member::Field(f) => f.name,
        Member::EventType => "event_type",
        Member::SchemaVersion => "schema_version",
        Member::Patient => "patient",
        Member::Payload => "payload",
    }
}

/// The schema of `event_type` at `version`, as `schemas/<type>/v<version>.schema.json`
/// holds it; `None` when there is no such version.
pub fn json_schema(event_type: EventType, version: u16) -> Option<String> {
    let payload = event_type.fields(version)?;
    let code = event_type.as_str();
    let member = |m: &Member| match m {
        Member::Field(f) => field_schema(f),
        Member::EventType => J::Obj(vec![
            ("type", str("string")),
            ("const", str(code)),
            ("description", str("The event type; selects this schema.")),
            ("x-msma-class", str("attribute")),
        ]),
        Member::SchemaVersion => J::Obj(vec![
            ("type", str("integer")),
            ("const", J::Int(version.into())),
            (
                "description",
                str("Version of this event type's schema (1 and 1.0 are the same integer)."),
            ),
            ("x-msma-class", str("attribute")),
        ]),
        Member::Patient => object_schema(
            PATIENT,
            "The patient as the network's software knows them. Only local_id is required; every identity \
             field may be absent or null (anonymous care).",
        ),
        Member::Payload => object_schema(payload, event_type.doc()),
    };
    let schema = J::Obj(vec![
        ("$schema", str(DIALECT)),
        ("$id", J::Str(format!("{ID_BASE}/{code}/v{version}.schema.json"))),
        ("title", J::Str(format!("msma event: {code} v{version}"))),
        (
            "description",
            J::Str(format!(
                "{}: {} Generated by msma-schema; patterns are ECMA-262 regular expressions and formats \
                 must be asserted.",
                event_type.title(),
                event_type.doc()
            )),
        ),
        ("type", str("object")),
        ("additionalProperties", J::Bool(false)),
        (
            "required",
            J::Arr(ENVELOPE.iter().map(|m| str(member_name(m))).collect()),
        ),
        (
            "properties",
            J::Obj(ENVELOPE.iter().map(|m| (member_name(m), member(m))).collect()),
        ),
    ]);
    let mut text = serde_json::to_string_pretty(&schema).expect("a JSON value always serialises");
    text.push('\n');
    Some(text)
}
