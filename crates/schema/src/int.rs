//! Integers as JSON Schema sees them: `1` and `1.0` are the same integer, `true` is not
//! one, and bounds are part of the type so that a violation names them.

use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// An integer known to lie in `MIN..=MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Int<const MIN: i64, const MAX: i64>(i64);

impl<const MIN: i64, const MAX: i64> Int<MIN, MAX> {
    /// The value, or `None` when it lies outside the bounds.
    pub fn new(v: i64) -> Option<Self> {
        (MIN..=MAX).contains(&v).then_some(Self(v))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl<'de, const MIN: i64, const MAX: i64> de::Deserialize<'de> for Int<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const MIN: i64, const MAX: i64>;
        impl<const MIN: i64, const MAX: i64> V<MIN, MAX> {
            fn check<E: de::Error>(v: i128) -> Result<Int<MIN, MAX>, E> {
                if (MIN as i128..=MAX as i128).contains(&v) {
                    Ok(Int(v as i64))
                } else {
                    Err(E::custom(format_args!("integer out of range, expected {MIN} to {MAX}")))
                }
            }
        }
        impl<const MIN: i64, const MAX: i64> Visitor<'_> for V<MIN, MAX> {
            type Value = Int<MIN, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "an integer from {MIN} to {MAX}")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Self::check(v as i128)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Self::check(v as i128)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                if v.fract() != 0.0 || !v.is_finite() {
                    return Err(E::custom("expected an integer, found a fraction"));
                }
                if v.abs() > 1e18 {
                    return Err(E::custom(format_args!("integer out of range, expected {MIN} to {MAX}")));
                }
                Self::check(v as i128)
            }
        }
        d.deserialize_any(V::<MIN, MAX>)
    }
}

impl<const MIN: i64, const MAX: i64> serde::Serialize for Int<MIN, MAX> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_schema_integers() {
        let ok = |s: &str| serde_json::from_str::<Int<0, 10>>(s).map(Int::get).ok();
        assert_eq!(ok("3"), Some(3));
        assert_eq!(ok("3.0"), Some(3));
        assert_eq!(ok("3.5"), None);
        assert_eq!(ok("11"), None);
        assert_eq!(ok("-1"), None);
        assert_eq!(ok("true"), None);
        assert_eq!(ok("\"3\""), None);
        assert_eq!(ok("1e400"), None);
        assert_eq!(ok("123456789012345678901234567890"), None);
    }
}
