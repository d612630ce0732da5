//! Why an event is rejected: a kind from a small fixed set, and a detail that names
//! the field and the rule.

use std::fmt;

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
    /// An event whose id the zone already holds with other content.
    ConflictingDuplicate,
    /// A valid event of a patient who withdrew from the study (`msma withdraw`).
    Withdrawn,
}

impl RejectKind {
    pub const ALL: [RejectKind; 11] = [
        Self::InvalidUtf8,
        Self::MalformedJson,
        Self::OversizedLine,
        Self::UnknownEventType,
        Self::UnknownSchemaVersion,
        Self::SchemaViolation,
        Self::NetworkNotDeclared,
        Self::YearOutsideWindow,
        Self::PartitionCap,
        Self::ConflictingDuplicate,
        Self::Withdrawn,
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
            Self::ConflictingDuplicate => "conflicting_duplicate",
            Self::Withdrawn => "withdrawn",
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

    pub(crate) fn violation(detail: impl Into<String>) -> Self {
        Self::new(RejectKind::SchemaViolation, detail)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.detail)
    }
}
