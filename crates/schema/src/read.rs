//! The envelope as the decoder reads it, in one pass over the line: the payload is
//! decoded in place when its type and version come before it (as producers write them),
//! and kept raw, to be decoded once the envelope is read, when they come after it.
//! Errors are those serde's derive would give: unknown, duplicate and missing fields.

use crate::event::Patient;
use crate::int::Int;
use crate::payload::{EventType, Payload};
use crate::strict::object;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

pub(crate) struct Envelope<'a> {
    pub event_id: Cow<'a, str>,
    pub event_type: Cow<'a, str>,
    pub schema_version: Int<1, 65535>,
    pub network_id: Cow<'a, str>,
    pub microstructure_id: Cow<'a, str>,
    pub occurred_at: Cow<'a, str>,
    pub patient: Patient<'a>,
    pub payload: Slot<'a>,
}

/// The payload, as far as the envelope could read it.
pub(crate) enum Slot<'a> {
    /// Decoded in place: its type and version came first.
    Decoded(Payload<'a>),
    /// Read before its type or version.
    Raw(&'a RawValue),
    /// Of a type or version that does not exist, which the decoder then says.
    Skipped,
}

/// The envelope's members, in the order serde reports them missing.
const FIELDS: &[&str] = &[
    "event_id",
    "event_type",
    "schema_version",
    "network_id",
    "microstructure_id",
    "occurred_at",
    "patient",
    "payload",
];

impl<'de> Deserialize<'de> for Envelope<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct("Envelope", FIELDS, EnvelopeVisitor)
    }
}

struct EnvelopeVisitor;

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("struct Envelope")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<'de>, A::Error> {
        let (mut event_id, mut event_type, mut network_id) = (None, None, None);
        let (mut microstructure_id, mut occurred_at) = (None, None);
        let mut schema_version: Option<Int<1, 65535>> = None;
        let mut patient: Option<Patient<'de>> = None;
        let mut payload: Option<Slot<'de>> = None;
        while let Some(key) = map.next_key::<Key>()? {
            let text = |slot: &Option<Cow<str>>, map: &mut A| {
                vacant(slot, key)?;
                map.next_value::<Text>().map(|t| Some(t.0))
            };
            match key {
                Key::EventId => event_id = text(&event_id, &mut map)?,
                Key::EventType => event_type = text(&event_type, &mut map)?,
                Key::NetworkId => network_id = text(&network_id, &mut map)?,
                Key::MicrostructureId => microstructure_id = text(&microstructure_id, &mut map)?,
                Key::OccurredAt => occurred_at = text(&occurred_at, &mut map)?,
                Key::SchemaVersion => {
                    vacant(&schema_version, key)?;
                    schema_version = Some(map.next_value()?);
                }
                Key::Patient => {
                    vacant(&patient, key)?;
                    patient = Some(map.next_value::<ObjectOf<Patient>>()?.0);
                }
                Key::Payload => {
                    vacant(&payload, key)?;
                    let seed = event_type
                        .as_deref()
                        .zip(schema_version)
                        .map(|(t, v)| EventType::from_code(t).and_then(|t| Payload::seed(t, v.get() as u16)));
                    payload = Some(match seed {
                        Some(Some(seed)) => Slot::Decoded(map.next_value_seed(seed)?),
                        Some(None) => map.next_value::<IgnoredAny>().map(|_| Slot::Skipped)?,
                        None => Slot::Raw(map.next_value()?),
                    });
                }
            }
        }
        let missing = |key: Key| de::Error::missing_field(FIELDS[key as usize]);
        Ok(Envelope {
            event_id: event_id.ok_or_else(|| missing(Key::EventId))?,
            event_type: event_type.ok_or_else(|| missing(Key::EventType))?,
            schema_version: schema_version.ok_or_else(|| missing(Key::SchemaVersion))?,
            network_id: network_id.ok_or_else(|| missing(Key::NetworkId))?,
            microstructure_id: microstructure_id.ok_or_else(|| missing(Key::MicrostructureId))?,
            occurred_at: occurred_at.ok_or_else(|| missing(Key::OccurredAt))?,
            patient: patient.ok_or_else(|| missing(Key::Patient))?,
            payload: payload.ok_or_else(|| missing(Key::Payload))?,
        })
    }
}

fn vacant<T, E: de::Error>(slot: &Option<T>, key: Key) -> Result<(), E> {
    match slot {
        Some(_) => Err(E::duplicate_field(FIELDS[key as usize])),
        None => Ok(()),
    }
}

/// A member of the envelope, numbered as in [`FIELDS`]; any other key is refused, as
/// `deny_unknown_fields` does.
#[derive(Clone, Copy)]
enum Key {
    EventId,
    EventType,
    SchemaVersion,
    NetworkId,
    MicrostructureId,
    OccurredAt,
    Patient,
    Payload,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("field identifier")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                const KEYS: [Key; 8] = [
                    Key::EventId,
                    Key::EventType,
                    Key::SchemaVersion,
                    Key::NetworkId,
                    Key::MicrostructureId,
                    Key::OccurredAt,
                    Key::Patient,
                    Key::Payload,
                ];
                let place = FIELDS.iter().position(|f| *f == v);
                place.map(|i| KEYS[i]).ok_or_else(|| E::unknown_field(v, FIELDS))
            }
        }
        d.deserialize_identifier(V)
    }
}

/// A string, borrowed from the line unless it holds escapes (serde's `borrow`).
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A `T` from a JSON object only (see [`object`]).
struct ObjectOf<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOf<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        object(d).map(ObjectOf)
    }
}

#[cfg(test)]
mod tests {
    use crate::decode;

    const MEMBERS: [&str; 8] = [
        r#""event_id":"7f1c9a34-3b4e-4c7d-9a51-2f8e0c6d1b23""#,
        r#""event_type":"consultation""#,
        r#""schema_version":1"#,
        r#""network_id":"RMS-PACA""#,
        r#""microstructure_id":"MS-13-001""#,
        r#""occurred_at":"2024-03-05T10:00:00+01:00""#,
        r#""patient":{"local_id":"P-1"}"#,
        r#""payload":{"professional_role":"psychologist","professional_id":"DR-1","mode":"in_person","no_show":false}"#,
    ];

    fn line(order: &[usize]) -> String {
        let members: Vec<&str> = order.iter().map(|&i| MEMBERS[i]).collect();
        format!("{{{}}}", members.join(","))
    }

    fn detail(line: &str) -> String {
        decode(line.as_bytes())
            .map(|_| "valid".to_owned())
            .unwrap_or_else(|r| r.detail)
    }

    #[test]
    fn the_payload_decodes_the_same_before_or_after_its_type_and_version() {
        let inline = format!("{:?}", decode(line(&[0, 1, 2, 3, 4, 5, 6, 7]).as_bytes()).unwrap());
        for order in [
            [7, 0, 1, 2, 3, 4, 5, 6],
            [1, 7, 2, 0, 3, 4, 5, 6],
            [6, 5, 4, 3, 2, 1, 0, 7],
        ] {
            assert_eq!(
                format!("{:?}", decode(line(&order).as_bytes()).unwrap()),
                inline,
                "{order:?}"
            );
        }
        let wrong = line(&[0, 1, 2, 3, 4, 5, 6, 7]).replace(r#""no_show":false"#, r#""no_show":0"#);
        let raw = line(&[7, 0, 1, 2, 3, 4, 5, 6]).replace(r#""no_show":false"#, r#""no_show":0"#);
        let (a, b) = (detail(&wrong), detail(&raw));
        assert!(a.starts_with("payload.no_show: invalid type"), "{a}");
        assert_eq!(a.split(" (column").next(), b.split(" (column").next());
        // A number no type holds breaks the schema, read in place or raw.
        for order in [[0, 1, 2, 3, 4, 5, 6, 7], [7, 0, 1, 2, 3, 4, 5, 6]] {
            let huge = line(&order).replace(r#""no_show":false"#, r#""no_show":false,"duration_min":1e400"#);
            let kind = decode(huge.as_bytes()).map(|_| ()).unwrap_err().kind;
            assert_eq!(kind, crate::RejectKind::SchemaViolation, "{order:?}");
        }
    }

    #[test]
    fn members_are_refused_as_serde_refuses_them() {
        let all = line(&[0, 1, 2, 3, 4, 5, 6, 7]);
        let dup = all.replacen(r#""network_id""#, r#""network_id":"RMS-A","network_id""#, 1);
        assert!(
            detail(&dup).starts_with("event: duplicate field `network_id`"),
            "{}",
            detail(&dup)
        );
        let unknown = all.replacen('{', r#"{"nir":"x","#, 1);
        assert!(
            detail(&unknown).starts_with("event: unknown field, expected one of"),
            "{}",
            detail(&unknown)
        );
        let missing = line(&[0, 1, 2, 3, 4, 6, 7]);
        assert!(
            detail(&missing).starts_with("event: missing field `occurred_at`"),
            "{}",
            detail(&missing)
        );
        let escaped = all.replacen(r#""network_id""#, r#""network_\u0069d""#, 1);
        assert_eq!(detail(&escaped), "valid");
        assert!(detail(&format!("[{all}]")).starts_with("event: invalid type"));
        let version = all.replacen(r#""schema_version":1"#, r#""schema_version":9"#, 1);
        assert!(detail(&version).starts_with("schema_version: consultation has no such version"));
    }
}
