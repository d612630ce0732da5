//! The envelope shared by every event, and the strict decoder that turns one NDJSON
//! line into an [`Event`] or a [`Rejection`] with its reason.

use crate::checks;
use crate::codes::Sex;
use crate::int::Int;
use crate::payload::{EventType, Payload};
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// Identity fields of the patient as the network's software knows them. All but
/// `local_id` are optional; none of them reaches a dataset as it is.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patient<'a> {
    #[serde(borrow)]
    pub local_id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub ins: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub last_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub first_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub birth_date: Option<Cow<'a, str>>,
    #[serde(default)]
    pub sex: Option<Sex>,
    #[serde(borrow, default)]
    pub postcode: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub phone: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub email: Option<Cow<'a, str>>,
}

/// Identity fields never print: a panic or a log line with a `Patient` in it shows
/// nothing identifying.
impl fmt::Debug for Patient<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Patient { .. }")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow)]
    event_id: Cow<'a, str>,
    #[serde(borrow)]
    event_type: Cow<'a, str>,
    schema_version: Int<1, 65535>,
    #[serde(borrow)]
    network_id: Cow<'a, str>,
    #[serde(borrow)]
    microstructure_id: Cow<'a, str>,
    #[serde(borrow)]
    occurred_at: Cow<'a, str>,
    #[serde(borrow, deserialize_with = "object")]
    patient: Patient<'a>,
    #[serde(borrow)]
    payload: &'a RawValue,
}

/// A valid event, borrowing its strings from the line it was decoded from.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub event_type: EventType,
    pub schema_version: u16,
    pub network_id: Cow<'a, str>,
    pub microstructure_id: Cow<'a, str>,
    pub occurred_at: DateTime<FixedOffset>,
    pub patient: Patient<'a>,
    /// `patient.birth_date`, parsed.
    pub birth_date: Option<NaiveDate>,
    pub payload: Payload<'a>,
}

/// Why an event was rejected: a small fixed set, fit for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectKind {
    /// The line is not UTF-8.
    InvalidUtf8,
    /// The line is not one JSON value.
    MalformedJson,
    /// The line is longer than the configured limit.
    OversizedLine,
    /// `event_type` names no known event type.
    UnknownEventType,
    /// `schema_version` is not a version of that event type that this build knows.
    UnknownSchemaVersion,
    /// The event breaks its JSON Schema.
    SchemaViolation,
    /// A valid event of a network the study's policy does not declare.
    NetworkNotDeclared,
    /// A valid event of a year outside the policy's window.
    YearOutsideWindow,
    /// A valid event of a partition beyond the cap of partitions in one commit.
    PartitionCap,
}

impl RejectKind {
    pub const ALL: [RejectKind; 9] = [
        Self::InvalidUtf8,
        Self::MalformedJson,
        Self::OversizedLine,
        Self::UnknownEventType,
        Self::UnknownSchemaVersion,
        Self::SchemaViolation,
        Self::NetworkNotDeclared,
        Self::YearOutsideWindow,
        Self::PartitionCap,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidUtf8 => "invalid_utf8",
            Self::MalformedJson => "malformed_json",
            Self::OversizedLine => "oversized_line",
            Self::UnknownEventType => "unknown_event_type",
            Self::UnknownSchemaVersion => "unknown_schema_version",
            Self::SchemaViolation => "schema_violation",
            Self::NetworkNotDeclared => "network_not_declared",
            Self::YearOutsideWindow => "year_outside_window",
            Self::PartitionCap => "partition_cap",
        }
    }
}

/// A rejected event: the kind, and a detail that names the field, the rule and the
/// column, never a value of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: RejectKind,
    pub detail: String,
}

impl Rejection {
    pub fn new(kind: RejectKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    fn violation(detail: impl Into<String>) -> Self {
        Self::new(RejectKind::SchemaViolation, detail)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.detail)
    }
}

/// Decodes and validates one event. Duplicate keys are rejected (RFC 8259 leaves them
/// undefined; accepting the last one would let a second value hide behind the first).
pub fn decode(line: &[u8]) -> Result<Event<'_>, Rejection> {
    let text = std::str::from_utf8(line).map_err(|e| {
        Rejection::new(
            RejectKind::InvalidUtf8,
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    let env: Envelope = from_object(text).map_err(|e| json_rejection::<Envelope>(text, 0, "", e))?;
    let event_type = EventType::from_code(&env.event_type).ok_or_else(|| {
        Rejection::new(
            RejectKind::UnknownEventType,
            format!("event_type: unknown, expected one of {:?}", EventType::CODES),
        )
    })?;
    let version = env.schema_version.get() as u16;
    let raw = env.payload.get();
    // Where the payload starts in the line, for the columns of its errors.
    let offset = raw.as_ptr() as usize - text.as_ptr() as usize;
    let payload = Payload::decode(event_type, version, raw, offset)
        .ok_or_else(|| {
            Rejection::new(
                RejectKind::UnknownSchemaVersion,
                format!(
                    "schema_version: {event_type} has no such version, expected one of {:?}",
                    event_type.versions()
                ),
            )
        })?
        .map_err(Rejection::violation)?;

    let check = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(Rejection::violation(what.to_owned()))
        }
    };
    check(checks::uuid(&env.event_id), "event_id: expected a UUID")?;
    check(
        checks::network_id(&env.network_id),
        "network_id: expected 2 to 16 of A-Z 0-9 -, a letter first, never five digits in a row",
    )?;
    if let Some(kind) = crate::shapes::in_code(&env.network_id) {
        return Err(Rejection::violation(format!(
            "network_id: shaped like an identifier ({kind}), expected the code of a network"
        )));
    }
    check(
        checks::token(&env.microstructure_id),
        "microstructure_id: expected 1 to 64 printable ASCII characters without spaces",
    )?;
    let occurred_at = checks::occurred_at(&env.occurred_at).ok_or_else(|| {
        Rejection::violation("occurred_at: expected an RFC 3339 date-time from 2000 to 2099 with an offset")
    })?;
    let p = &env.patient;
    check(
        checks::local_id(&p.local_id),
        "patient.local_id: expected 1 to 64 printable ASCII characters (spaces and tabs around are trimmed)",
    )?;
    let opt = |v: &Option<Cow<str>>, ok: fn(&str) -> bool, what: &str| match v {
        Some(s) if !ok(s) => Err(Rejection::violation(what.to_owned())),
        _ => Ok(()),
    };
    opt(&p.ins, checks::ins, "patient.ins: expected a NIR of 15 characters")?;
    let name = |s: &str| (1..=100).contains(&s.chars().count());
    opt(&p.last_name, name, "patient.last_name: expected 1 to 100 characters")?;
    opt(&p.first_name, name, "patient.first_name: expected 1 to 100 characters")?;
    opt(&p.postcode, checks::postcode, "patient.postcode: expected 5 digits")?;
    opt(&p.phone, checks::phone, "patient.phone: expected a French phone number")?;
    let email = |s: &str| s.len() <= 254 && checks::email(s);
    opt(&p.email, email, "patient.email: expected an email address")?;
    let birth_date = match &p.birth_date {
        None => None,
        Some(s) => Some(checks::birth_date(s).ok_or_else(|| {
            Rejection::violation("patient.birth_date: expected a date (YYYY-MM-DD) from 1900 to 2099")
        })?),
    };

    Ok(Event {
        event_type,
        schema_version: version,
        network_id: env.network_id,
        microstructure_id: env.microstructure_id,
        occurred_at,
        patient: env.patient,
        birth_date,
        payload,
    })
}

/// Why `text` (at `offset` in its line) does not decode as a `T`: the field, found by a
/// second, tracking pass (on this error path only, so the valid path pays nothing),
/// serde's rule without the value it quotes, and the column in the line.
pub(crate) fn json_rejection<'a, T: Deserialize<'a>>(
    text: &'a str,
    offset: usize,
    prefix: &str,
    e: serde_json::Error,
) -> Rejection {
    let kind = match e.classify() {
        serde_json::error::Category::Data => RejectKind::SchemaViolation,
        _ => RejectKind::MalformedJson,
    };
    let full = e.to_string();
    let message = full
        .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
        .unwrap_or(&full);
    let mut track = serde_path_to_error::Track::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let same = T::deserialize(ObjectOnly(serde_path_to_error::Deserializer::new(&mut de, &mut track)))
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
pub(crate) fn from_object<'a, T: Deserialize<'a>>(text: &'a str) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(ObjectOnly(&mut de))?;
    de.end()?;
    Ok(value)
}

fn object<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
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
