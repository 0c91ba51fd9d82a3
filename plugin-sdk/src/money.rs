//! Amounts of the shop currency in plugin configuration.

use serde::{Deserialize, Deserializer};

/// Minor units per major unit: fen per yuan, cents per dollar or euro.
const MINOR_PER_MAJOR: i64 = 100;

/// An amount of the shop currency.
///
/// Profiles carry money in minor units (fen); people write thresholds in major
/// units (yuan). A `Money` config field deserializes from a major-unit number
/// (`5000` or `49.9`) and compares against profile values in minor units, so the
/// conversion happens once per batch, never per customer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money {
    minor: i64,
}

impl Money {
    /// An amount in whole major units, e.g. `Money::major(5000)` for ¥5000.
    pub const fn major(units: i64) -> Self {
        Self {
            minor: units * MINOR_PER_MAJOR,
        }
    }

    /// An amount in minor units, e.g. `Money::minor(4999_99)`.
    pub const fn minor(units: i64) -> Self {
        Self { minor: units }
    }

    /// The amount in minor units, the unit of every profile money column.
    #[inline]
    pub const fn minor_units(self) -> i64 {
        self.minor
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let major = f64::deserialize(deserializer)?;
        let minor = (major * MINOR_PER_MAJOR as f64).round();
        if !minor.is_finite() || minor.abs() > i64::MAX as f64 {
            return Err(serde::de::Error::custom(format!(
                "{major} is not an amount of money"
            )));
        }
        Ok(Self::minor(minor as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::Money;

    fn parse(json: &str) -> Result<Money, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn major_units_become_minor_units() {
        assert_eq!(parse("5000").unwrap(), Money::major(5000));
        assert_eq!(parse("49.9").unwrap().minor_units(), 4990);
        assert_eq!(parse("0.01").unwrap(), Money::minor(1));
    }

    #[test]
    fn rejects_non_numbers_and_absurd_amounts() {
        assert!(parse("\"5000\"").is_err());
        assert!(parse("1e300").is_err());
    }
}
