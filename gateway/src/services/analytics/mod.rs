//! Retention analytics: KPIs per calendar month (`periods`), cohort retention by
//! first-order month (`cohorts`), the segment distribution over runs
//! (`distribution`), and customer lifetime value (`clv` for the models,
//! `lifetime_value` for fitting them on the order history and applying them).
//!
//! Purchases are orders in a paid, shipped or delivered status, dated by when
//! they were placed; months are UTC calendar months.

pub mod clv;
pub mod cohorts;
pub mod distribution;
pub mod lifetime_value;
pub mod periods;

use chrono::{Datelike, NaiveDate, NaiveTime};

use crate::error::{ServiceError, ServiceResult};

/// A calendar month, written `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    first_day: NaiveDate,
}

impl Month {
    /// The month `text` (`YYYY-MM`) names; `field` names it in the error.
    pub fn parse(field: &str, text: &str) -> ServiceResult<Self> {
        NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
            .ok()
            .filter(|_| text.len() == 7)
            .map(|first_day| Self { first_day })
            .ok_or_else(|| {
                ServiceError::invalid(field, format!("{text:?} is not a month (YYYY-MM)"))
            })
    }

    pub fn of(date: NaiveDate) -> Self {
        Self {
            first_day: date.with_day(1).expect("every month has a first day"),
        }
    }

    pub fn next(self) -> Self {
        Self::of(self.first_day + chrono::Months::new(1))
    }

    pub fn previous(self) -> Self {
        Self::of(self.first_day - chrono::Months::new(1))
    }

    /// Months from `self` to `later` (0 for the same month).
    pub fn months_until(self, later: Month) -> i32 {
        (later.first_day.year() - self.first_day.year()) * 12 + later.first_day.month() as i32
            - self.first_day.month() as i32
    }

    /// Midnight UTC on the first day, as timestamps compare.
    pub fn start(self) -> chrono::DateTime<chrono::Utc> {
        self.first_day.and_time(NaiveTime::MIN).and_utc()
    }

    /// `self`, `self.next()`, … up to and including `last`.
    pub fn through(self, last: Month) -> impl Iterator<Item = Month> {
        std::iter::successors(Some(self), move |m| Some(m.next()).filter(|n| *n <= last))
            .take_while(move |m| *m <= last)
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.first_day.format("%Y-%m"))
    }
}

/// A month as the SQL helpers (`database::month_of`) write it.
impl std::str::FromStr for Month {
    type Err = ServiceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse("month", text)
    }
}

/// A range of months, checked: `from` no later than `to`, and not longer than
/// `max` months, which bounds the work one report asks for.
pub fn month_range(from: Month, to: Month, max: i32) -> ServiceResult<Vec<Month>> {
    if to < from {
        return Err(ServiceError::invalid(
            "to",
            format!("{to} is before {from}"),
        ));
    }
    if from.months_until(to) >= max {
        return Err(ServiceError::invalid(
            "to",
            format!("a report covers at most {max} months"),
        ));
    }
    Ok(from.through(to).collect())
}

/// `part / whole`, or none without a whole.
pub fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_step_and_count() {
        let jan = Month::parse("from", "2026-01").unwrap();
        assert_eq!(jan.previous().to_string(), "2025-12");
        assert_eq!(jan.next().next().to_string(), "2026-03");
        assert_eq!(jan.months_until(Month::parse("to", "2027-02").unwrap()), 13);
        let range: Vec<String> = month_range(jan, jan.next().next(), 24)
            .unwrap()
            .iter()
            .map(Month::to_string)
            .collect();
        assert_eq!(range, ["2026-01", "2026-02", "2026-03"]);
        assert_eq!(
            Month::parse("from", "2026-1").unwrap_err().to_string(),
            "from: \"2026-1\" is not a month (YYYY-MM)"
        );
        assert_eq!(
            month_range(jan, jan.previous(), 24)
                .unwrap_err()
                .to_string(),
            "to: 2025-12 is before 2026-01"
        );
    }
}
