//! Strict JSON decoding shared by the envelope and the payloads: structs only from
//! JSON objects, and rejections that name the field without quoting the input.

use crate::rejection::{RejectKind, Rejection};
use serde::Deserialize;
use serde::de::DeserializeSeed;

/// Why `text` (at `offset` in its line) does not decode as a `T`: the field, found by a
/// second, tracking pass (on this error path only, so the valid path pays nothing),
/// serde's rule without the value it quotes, and the column in the line.
pub(crate) fn json_rejection<'a, S: DeserializeSeed<'a>>(
    seed: S,
    text: &'a str,
    offset: usize,
    prefix: &str,
    e: serde_json::Error,
) -> Rejection {
    let full = e.to_string();
    // JSON's grammar has numbers of any size: one no type can hold breaks a schema's
    // rule, not the syntax (serde_json files it under syntax).
    let kind = match e.classify() {
        serde_json::error::Category::Data => RejectKind::SchemaViolation,
        _ if full.starts_with("number out of range") => RejectKind::SchemaViolation,
        _ => RejectKind::MalformedJson,
    };
    let message = full
        .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
        .unwrap_or(&full);
    let mut track = serde_path_to_error::Track::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let same = (seed.deserialize(ObjectOnly(serde_path_to_error::Deserializer::new(&mut de, &mut track))))
        .err()
        .is_some_and(|again| again.to_string() == full);
    let segments: Vec<String> = if same {
        track.path().iter().map(ToString::to_string).collect()
    } else {
        Vec::new()
    };
    // Every key on the path is one of the schema's (an unknown one fails as a key,
    // before any path goes through it), but an unknown key itself came from the input.
    let unknown = message
        .strip_prefix("unknown field `")
        .and_then(|m| m.split('`').next());
    let path: Vec<&str> = segments
        .iter()
        .map(String::as_str)
        .filter(|s| Some(*s) != unknown && *s != "?")
        .collect();
    let path = path.join(".").replace(".[", "[");
    let field = match (prefix, path.as_str()) {
        ("", "") => "event".to_owned(),
        (p, "") => p.to_owned(),
        ("", rest) => rest.to_owned(),
        (p, rest) => format!("{p}.{rest}"),
    };
    let column = offset + e.column();
    Rejection::new(
        kind,
        format!("{field}: {} (column {column})", crate::redact::rule(message)),
    )
}

/// `serde_json::from_str`, but structs only from JSON objects: serde's derive also takes
/// an array of the field values, which `"type": "object"` rejects.
/// `seed` decodes what `T::deserialize` would (`PhantomData<T>` for a plain type).
pub(crate) fn from_object<'a, S: DeserializeSeed<'a>>(seed: S, text: &'a str) -> serde_json::Result<S::Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = seed.deserialize(ObjectOnly(&mut de))?;
    de.end()?;
    Ok(value)
}

pub(crate) fn object<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    T::deserialize(ObjectOnly(d))
}

/// A deserializer that turns `deserialize_struct` into `deserialize_map`.
struct ObjectOnly<D>(D);

impl<'de, D: serde::Deserializer<'de>> serde::Deserializer<'de> for ObjectOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(v)
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(v)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}
