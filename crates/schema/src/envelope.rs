//! The envelope every event shares and the patient it is about, as the contract states
//! them (the decoder in `event.rs` checks each field by the function beside its pattern
//! in `checks.rs`).

use crate::checks;
use crate::codes::Sex;
use crate::field::{Class, Field, Rule, Text};

/// A member of the envelope, in the order the JSON Schemas list them.
#[derive(Debug)]
pub enum Member {
    Field(Field),
    /// Selects the event type.
    EventType,
    /// Selects the version of the event type's schema.
    SchemaVersion,
    /// The identity fields, [`PATIENT`].
    Patient,
    /// The event type's own fields.
    Payload,
}

/// The envelope: exactly these members, all required.
pub const ENVELOPE: &[Member] = &[
    Member::Field(Field {
        name: "event_id",
        rule: Rule::Text(Text {
            pattern: Some(checks::UUID),
            min_len: None,
            max_len: None,
            format: None,
            shape: "string, UUID",
        }),
        required: true,
        class: Class::Attribute,
        doc: "Identifies the event: a UUID (any version, hexadecimal digits in either case). A redelivered event keeps its event_id. Carries no patient information.",
        recap: None,
    }),
    Member::EventType,
    Member::SchemaVersion,
    Member::Field(Field {
        name: "network_id",
        rule: Rule::Text(Text {
            pattern: Some(checks::NETWORK_ID),
            min_len: Some(2),
            max_len: Some(16),
            format: None,
            shape: "string, 2-16 of A-Z 0-9 -, a letter first",
        }),
        required: true,
        class: Class::Attribute,
        doc: "Code of the regional network (RMS) that sends the event: 2 to 16 characters, uppercase letters, digits and hyphens, a letter first and never five digits in a row, so that no number identifying a person fits (it becomes a folder name). msma also refuses a date or a phone number written with hyphens (`RMS-06-12-34-56-78`), and ingest takes only the networks its study's policy declares.",
        recap: None,
    }),
    Member::Field(Field {
        name: "microstructure_id",
        rule: Rule::Text(Text {
            pattern: Some(checks::TOKEN),
            min_len: None,
            max_len: None,
            format: None,
            shape: "string, 1-64 printable ASCII, no space",
        }),
        required: true,
        class: Class::Pseudonymised,
        doc: "Identifier of the microstructure (GP practice) in the network: 1 to 64 printable ASCII characters without spaces. Replaced by a keyed pseudonym.",
        recap: None,
    }),
    Member::Field(Field {
        name: "occurred_at",
        rule: Rule::Text(Text {
            pattern: Some(checks::OCCURRED_AT),
            min_len: None,
            max_len: None,
            format: Some("date-time"),
            shape: "date-time 2000-2099 with offset",
        }),
        required: true,
        class: Class::QuasiIdentifier,
        doc: "When the event happened: an RFC 3339 date-time from 2000 to 2099 with a seconds field, an optional fraction of 1 to 9 digits and a mandatory offset (Z or +hh:mm / -hh:mm), uppercase T and Z. Generalised to a period (month by default).",
        recap: None,
    }),
    Member::Patient,
    Member::Payload,
];

/// The patient as the network's software knows them: only `local_id` is required.
pub const PATIENT: &[Field] = &[
    Field {
        name: "local_id",
        rule: Rule::Text(Text {
            pattern: Some(checks::LOCAL_ID),
            min_len: None,
            max_len: Some(64),
            format: None,
            shape: "string, 1-64 printable ASCII",
        }),
        required: true,
        class: Class::Pseudonymised,
        doc: "Patient number in the network's software, stable across the patient's events. 1 to 64 printable ASCII characters; spaces inside are kept, spaces and tabs around are trimmed before pseudonymisation (the whole value, spaces included, is at most 64 characters). Replaced by a keyed pseudonym of network_id and local_id.",
        recap: None,
    },
    Field {
        name: "ins",
        rule: Rule::Text(Text {
            pattern: Some(checks::INS),
            min_len: None,
            max_len: None,
            format: None,
            shape: "string, NIR shape",
        }),
        required: false,
        class: Class::DirectIdentifier,
        doc: "INS / NIR (French national health identifier) with its 2-digit key: 15 characters, département 2A or 2B allowed. Only the shape is checked, not the key. Never reaches a dataset. Absent when the patient asked for anonymous care.",
        recap: None,
    },
    Field {
        name: "last_name",
        rule: Rule::Text(Text {
            pattern: None,
            min_len: Some(1),
            max_len: Some(100),
            format: None,
            shape: "string, 1-100 chars",
        }),
        required: false,
        class: Class::DirectIdentifier,
        doc: "Last name (birth or usual name), 1 to 100 characters. Never reaches a dataset.",
        recap: None,
    },
    Field {
        name: "first_name",
        rule: Rule::Text(Text {
            pattern: None,
            min_len: Some(1),
            max_len: Some(100),
            format: None,
            shape: "string, 1-100 chars",
        }),
        required: false,
        class: Class::DirectIdentifier,
        doc: "First name, 1 to 100 characters. Never reaches a dataset.",
        recap: None,
    },
    Field {
        name: "birth_date",
        rule: Rule::Text(Text {
            pattern: Some(checks::BIRTH_DATE),
            min_len: None,
            max_len: None,
            format: Some("date"),
            shape: "date 1900-2099",
        }),
        required: false,
        class: Class::QuasiIdentifier,
        doc: "Date of birth (YYYY-MM-DD, a real calendar date from 1900 to 2099). Generalised to an age and an age band.",
        recap: Some("RECAP: âge; TDI 3.0: age / year of birth"),
    },
    Field {
        name: "sex",
        rule: Rule::Code(&Sex::LIST),
        required: false,
        class: Class::QuasiIdentifier,
        doc: "Administrative sex: F, M, or U for unknown / not stated.",
        recap: Some("RECAP: sexe; TDI 3.0: gender"),
    },
    Field {
        name: "postcode",
        rule: Rule::Text(Text {
            pattern: Some(checks::POSTCODE),
            min_len: None,
            max_len: None,
            format: None,
            shape: "string, 5 digits",
        }),
        required: false,
        class: Class::QuasiIdentifier,
        doc: "Postcode of residence (5 digits). Generalised to a département and a region.",
        recap: Some("RECAP: lieu de résidence (département)"),
    },
    Field {
        name: "phone",
        rule: Rule::Text(Text {
            pattern: Some(checks::PHONE),
            min_len: None,
            max_len: None,
            format: None,
            shape: "string, French phone",
        }),
        required: false,
        class: Class::DirectIdentifier,
        doc: "French phone number: +33, 0033 or 0, then a digit 1-9 and 8 digits, in pairs optionally separated by a space, dot or hyphen. Never reaches a dataset.",
        recap: None,
    },
    Field {
        name: "email",
        rule: Rule::Text(Text {
            pattern: Some(checks::EMAIL),
            min_len: None,
            max_len: Some(254),
            format: None,
            shape: "string, email",
        }),
        required: false,
        class: Class::DirectIdentifier,
        doc: "Email address (at most 254 characters, ASCII local@domain.tld). Never reaches a dataset.",
        recap: None,
    },
];
