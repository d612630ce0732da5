//! The envelope shared by every event, and the strict decoder that turns one NDJSON
//! line into an [`Event`] or a [`Rejection`] with its reason.

use crate::checks;
use crate::codes::Sex;
use crate::field::TOKEN_RULE;
use crate::payload::{EventType, Payload};
use crate::read::{Envelope, Slot};
use crate::rejection::{RejectKind, Rejection};
use crate::strict::{from_object, json_rejection};
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

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

/// A valid event, borrowing its strings from the line it was decoded from.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// A UUID; a redelivered event keeps it.
    pub event_id: Cow<'a, str>,
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

/// Decodes and validates one event. Duplicate keys are rejected (RFC 8259 leaves them
/// undefined; accepting the last one would let a second value hide behind the first).
pub fn decode(line: &[u8]) -> Result<Event<'_>, Rejection> {
    let text = std::str::from_utf8(line).map_err(|e| {
        Rejection::new(
            RejectKind::InvalidUtf8,
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    let env = from_object(PhantomData::<Envelope>, text)
        .map_err(|e| json_rejection(PhantomData::<Envelope>, text, 0, "", e))?;
    let event_type = EventType::from_code(&env.event_type).ok_or_else(|| {
        Rejection::new(
            RejectKind::UnknownEventType,
            format!("event_type: unknown, expected one of {:?}", EventType::CODES),
        )
    })?;
    let version = env.schema_version.get() as u16;
    let no_such_version = || {
        Rejection::new(
            RejectKind::UnknownSchemaVersion,
            format!(
                "schema_version: {event_type} has no such version, expected one of {:?}",
                event_type.versions()
            ),
        )
    };
    let payload = match env.payload {
        Slot::Decoded(payload) => payload.check().map(|()| payload),
        Slot::Raw(raw) => {
            let raw = raw.get();
            // Where the payload starts in the line, for the columns of its errors.
            let offset = raw.as_ptr() as usize - text.as_ptr() as usize;
            Payload::decode(event_type, version, raw, offset).ok_or_else(no_such_version)?
        }
        Slot::Skipped => return Err(no_such_version()),
    }
    .map_err(Rejection::violation)?;

    let check = |ok: bool, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(Rejection::violation(what.to_owned()))
        }
    };
    check(checks::uuid(&env.event_id), "event_id: expected a UUID")?;
    checks::network_id_rule(&env.network_id).map_err(|rule| Rejection::violation(format!("network_id: {rule}")))?;
    if !checks::token(&env.microstructure_id) {
        return Err(Rejection::violation(format!("microstructure_id: {TOKEN_RULE}")));
    }
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
        event_id: env.event_id,
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
