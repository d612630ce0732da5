//! What the contract says of each field: its JSON type and rule, whether it is required,
//! what it is to privacy (its class), its meaning and RECAP item. A payload field's Rust
//! type carries its rule, class and column ([`Value`]), so declaring the field once in
//! `payload.rs` gives the decoder, the JSON Schema, the docs and the dataset column.

use crate::codes::CodeList;
use crate::dataset::{CellSink, ColumnType};
use crate::int::Int;
use serde::Deserialize;
use std::borrow::Cow;
use std::marker::PhantomData;

/// One field of an event, as the contract states it.
#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub rule: Rule,
    /// Required and non-null; otherwise it may be absent or null.
    pub required: bool,
    pub class: Class,
    pub doc: &'static str,
    /// The RECAP / TDI item the field maps to.
    pub recap: Option<&'static str>,
}

/// What a field's JSON value must be.
#[derive(Debug)]
pub enum Rule {
    Text(Text),
    Code(&'static CodeList),
    /// An array of distinct codes.
    Codes {
        list: &'static CodeList,
        min_items: usize,
    },
    Int {
        min: i64,
        max: i64,
    },
    Bool,
}

/// A string's rule. `pattern` is ECMA-262, and the decoder's hand-written check
/// (`checks.rs`) accepts exactly what it accepts.
#[derive(Debug)]
pub struct Text {
    pub pattern: Option<&'static str>,
    pub min_len: Option<usize>,
    pub max_len: Option<usize>,
    /// A JSON Schema format, asserted.
    pub format: Option<&'static str>,
    /// The type as the docs show it.
    pub shape: &'static str,
}

/// What a field is to privacy (`x-msma-class` in the JSON Schemas).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Dropped: never reaches a dataset.
    DirectIdentifier,
    /// Replaced by a keyed pseudonym.
    Pseudonymised,
    /// Generalised by the study's policy.
    QuasiIdentifier,
    /// Kept as it is.
    Attribute,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DirectIdentifier => "direct_identifier",
            Self::Pseudonymised => "pseudonymised",
            Self::QuasiIdentifier => "quasi_identifier",
            Self::Attribute => "attribute",
        }
    }
}

/// The kinds of value, other than patients, pseudonymised so that they stay linkable
/// across events; each has pseudonyms of its own, never equal to another kind's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    Microstructure,
    Professional,
    Meeting,
}

impl Domain {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Microstructure => "microstructure",
            Self::Professional => "professional",
            Self::Meeting => "meeting",
        }
    }
}

/// A payload field's Rust type: what the contract says of it, and how it fills its
/// dataset column.
pub trait Value {
    const RULE: Rule;
    const COLUMN: ColumnType;
    const REQUIRED: bool = true;
    const CLASS: Class = Class::Attribute;

    /// Writes the cell; `pseudonymise` turns an identifying value into its pseudonym, so
    /// that no identifier can reach a dataset by this path.
    fn write(v: Option<&Self>, out: &mut dyn CellSink, pseudonymise: &mut dyn FnMut(Domain, &str) -> String);

    /// The rules serde cannot check, named after `field`.
    fn check(&self, _field: &str) -> Result<(), String> {
        Ok(())
    }
}

/// Optional: may be absent or null.
impl<T: Value> Value for Option<T> {
    const RULE: Rule = T::RULE;
    const COLUMN: ColumnType = T::COLUMN;
    const REQUIRED: bool = false;
    const CLASS: Class = T::CLASS;

    fn write(v: Option<&Self>, out: &mut dyn CellSink, pseudonymise: &mut dyn FnMut(Domain, &str) -> String) {
        T::write(v.and_then(Option::as_ref), out, pseudonymise);
    }

    fn check(&self, field: &str) -> Result<(), String> {
        self.as_ref().map_or(Ok(()), |v| v.check(field))
    }
}

impl Value for bool {
    const RULE: Rule = Rule::Bool;
    const COLUMN: ColumnType = ColumnType::Bool;

    fn write(v: Option<&Self>, out: &mut dyn CellSink, _: &mut dyn FnMut(Domain, &str) -> String) {
        out.bool(v.copied());
    }
}

/// Stored as int16 when the bounds fit, else int64.
impl<const MIN: i64, const MAX: i64> Value for Int<MIN, MAX> {
    const RULE: Rule = Rule::Int { min: MIN, max: MAX };
    const COLUMN: ColumnType = if MIN >= i16::MIN as i64 && MAX <= i16::MAX as i64 {
        ColumnType::Int16
    } else {
        ColumnType::Int64
    };

    fn write(v: Option<&Self>, out: &mut dyn CellSink, _: &mut dyn FnMut(Domain, &str) -> String) {
        out.int(v.map(|i| i.get()));
    }
}

/// The kind of value a [`Token`] identifies.
pub trait Identifies {
    const DOMAIN: Domain;
}

/// A professional (RPPS, ADELI or local identifier).
#[derive(Debug, Clone)]
pub struct Professional;
impl Identifies for Professional {
    const DOMAIN: Domain = Domain::Professional;
}

/// A synthesis meeting.
#[derive(Debug, Clone)]
pub struct Meeting;
impl Identifies for Meeting {
    const DOMAIN: Domain = Domain::Meeting;
}

pub(crate) const TOKEN_RULE: &str = "expected 1 to 64 printable ASCII characters without spaces";

/// An identifier of a `D`, 1 to 64 printable ASCII characters without spaces: its
/// column holds its pseudonym.
#[derive(Clone)]
pub struct Token<'a, D>(Cow<'a, str>, PhantomData<D>);

impl<D> Token<'_, D> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Identifiers never print.
impl<D> std::fmt::Debug for Token<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl<'de: 'a, 'a, D> Deserialize<'de> for Token<'a, D> {
    fn deserialize<De: serde::Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Cow<'a, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(s))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(s.to_owned()))
            }
        }
        Ok(Token(d.deserialize_str(V(PhantomData))?, PhantomData))
    }
}

impl<D: Identifies> Value for Token<'_, D> {
    const RULE: Rule = Rule::Text(Text {
        pattern: Some(crate::checks::TOKEN),
        min_len: None,
        max_len: None,
        format: None,
        shape: "string, 1-64 printable ASCII, no space",
    });
    const COLUMN: ColumnType = ColumnType::Text;
    const CLASS: Class = Class::Pseudonymised;

    fn write(v: Option<&Self>, out: &mut dyn CellSink, pseudonymise: &mut dyn FnMut(Domain, &str) -> String) {
        out.text(v.map(|t| pseudonymise(D::DOMAIN, &t.0)).as_deref());
    }

    fn check(&self, field: &str) -> Result<(), String> {
        if crate::checks::token(&self.0) {
            Ok(())
        } else {
            Err(format!("{field}: {TOKEN_RULE}"))
        }
    }
}

/// Distinct codes of a list, at least `MIN`; their order carries no meaning.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Codes<T, const MIN: usize>(Vec<T>);

impl<T, const MIN: usize> std::ops::Deref for Codes<T, MIN> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

/// The code lists a [`Codes`] may hold.
pub trait Coded: Copy + Ord {
    const LIST: &'static CodeList;
    fn as_str(self) -> &'static str;
}

impl<T: Coded, const MIN: usize> Value for Codes<T, MIN> {
    const RULE: Rule = Rule::Codes {
        list: T::LIST,
        min_items: MIN,
    };
    const COLUMN: ColumnType = ColumnType::CodeList(T::LIST.codes);

    fn write(v: Option<&Self>, out: &mut dyn CellSink, _: &mut dyn FnMut(Domain, &str) -> String) {
        out.codes(&mut v.into_iter().flat_map(|c| c.0.iter().map(|c| c.as_str())));
    }

    fn check(&self, field: &str) -> Result<(), String> {
        if self.0.len() < MIN {
            return Err(format!("{field}: at least {MIN} code(s) expected"));
        }
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return Err(format!("{field}: items must be unique"));
        }
        Ok(())
    }
}
