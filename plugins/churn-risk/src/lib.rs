//! Churn risk: how overdue a customer's next purchase is, against their own rhythm.
//!
//! The *overdue ratio* is days since the last order divided by the customer's
//! rhythm, the mean days between their orders. Risk is 0 until the next order
//! is due (ratio 1) and rises linearly to 1 at `full_risk_ratio` (default 3): a customer
//! who usually orders monthly is at full risk after three quiet months, one who
//! orders weekly after three quiet weeks.
//!
//! - Customers with a single order have no rhythm yet and are measured against
//!   `default_rhythm_days` (default 60).
//! - Customers who never ordered are measured the same way from their signup:
//!   the risk is that they never convert.
//! - A rhythm is never shorter than `min_rhythm_days` (default 7), so a customer who
//!   ordered twice on one day is not at risk after a quiet weekend.
//!
//! Segments by risk score: `low` below `medium_from` (default 0.3), `medium` below
//! `high_from` (default 0.7), `high` from there. The score is the risk.

use retain_plugin_sdk::{Classified, Feature, PluginInfo, Profile, Segmenter, TagTable};
use serde::Deserialize;

retain_plugin_sdk::segments! {
    /// Churn risk, lowest first.
    pub enum Risk {
        Low("low", "Low risk", "Buying on rhythm: risk below 0.3 (default)."),
        Medium("medium", "Medium risk", "Overdue: risk from 0.3 to below 0.7 (defaults)."),
        High("high", "High risk", "Long overdue: risk of 0.7 or more (default)."),
    }
}

/// The slot's configuration. `{}` gives the documented defaults.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Rhythm assumed for customers with fewer than two orders (default 60 days).
    pub default_rhythm_days: u32,
    /// Shortest rhythm used (default 7 days).
    pub min_rhythm_days: u32,
    /// Overdue ratio at which risk reaches 1 (default 3.0); must be above 1.
    pub full_risk_ratio: f64,
    /// Lowest risk that is `medium` (default 0.3).
    pub medium_from: f64,
    /// Lowest risk that is `high` (default 0.7).
    pub high_from: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            default_rhythm_days: 60,
            min_rhythm_days: 7,
            full_risk_ratio: 3.0,
            medium_from: 0.3,
            high_from: 0.7,
        }
    }
}

/// The churn risk segmenter.
pub struct ChurnRisk;

impl Segmenter for ChurnRisk {
    type Config = Config;
    type Segment = Risk;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "churn-risk",
            version: env!("CARGO_PKG_VERSION"),
            description: "Low, medium or high churn risk: how overdue the next order is \
                          against the customer's own rhythm.",
            features: &[
                Feature::DaysSinceLastOrder,
                Feature::DaysBetweenOrders,
                Feature::DaysSinceSignup,
            ],
        }
    }

    fn prepare(config: &mut Config, _tags: &TagTable<'_>) -> Result<(), String> {
        if config.full_risk_ratio.is_nan() || config.full_risk_ratio <= 1.0 {
            return Err(format!(
                "full_risk_ratio ({}) must be above 1",
                config.full_risk_ratio
            ));
        }
        let ordered = 0.0 <= config.medium_from
            && config.medium_from <= config.high_from
            && config.high_from <= 1.0;
        if !ordered {
            return Err(format!(
                "need 0 ≤ medium_from ({}) ≤ high_from ({}) ≤ 1",
                config.medium_from, config.high_from
            ));
        }
        // A zero rhythm would divide by zero.
        config.min_rhythm_days = config.min_rhythm_days.max(1);
        Ok(())
    }

    #[inline]
    fn classify(config: &Config, profile: &Profile<'_>) -> Classified<Risk> {
        let (quiet_days, rhythm) = match profile.days_since_last_order() {
            Some(days) => (
                days,
                profile
                    .days_between_orders()
                    .unwrap_or(config.default_rhythm_days),
            ),
            None => (profile.days_since_signup(), config.default_rhythm_days),
        };
        let rhythm = rhythm.max(config.min_rhythm_days);
        let overdue = f64::from(quiet_days) / f64::from(rhythm);
        let risk = ((overdue - 1.0) / (config.full_risk_ratio - 1.0)).clamp(0.0, 1.0);
        // Risk comes out of a division: a customer exactly on a boundary (57 days
        // at a 30-day rhythm is ratio 1.9) must not fall below it by rounding.
        let at_least = |threshold: f64| risk + 1e-9 >= threshold;
        let segment = if at_least(config.high_from) {
            Risk::High
        } else if at_least(config.medium_from) {
            Risk::Medium
        } else {
            Risk::Low
        };
        Classified::new(segment, risk as f32)
    }
}

retain_plugin_sdk::export_segmenter!(ChurnRisk);

#[cfg(test)]
mod tests {
    use retain_plugin_sdk::testing::{ProfileBuilder, classify, classify_one};

    use super::*;

    fn assess(config: &str, customer: ProfileBuilder) -> Classified<Risk> {
        classify_one::<ChurnRisk>(config, customer.build())
    }

    fn risk(customer: ProfileBuilder) -> Risk {
        assess("{}", customer).segment
    }

    /// Orders every 30 days on average; last ordered `quiet` days ago.
    fn monthly(quiet: u32) -> ProfileBuilder {
        Profile::builder()
            .days_since_signup(400)
            .days_between_orders(30)
            .days_since_last_order(quiet)
    }

    /// A single order, `quiet` days ago: measured against the 60-day default.
    fn one_order(quiet: u32) -> ProfileBuilder {
        Profile::builder()
            .days_since_signup(400)
            .days_since_last_order(quiet)
    }

    #[test]
    fn own_rhythm_sets_the_boundaries() {
        // Risk 0.3 at 1.6 × 30 = 48 days, 0.7 at 2.4 × 30 = 72 days.
        assert_eq!(risk(monthly(30)), Risk::Low);
        assert_eq!(risk(monthly(47)), Risk::Low);
        assert_eq!(risk(monthly(48)), Risk::Medium);
        assert_eq!(risk(monthly(71)), Risk::Medium);
        assert_eq!(risk(monthly(72)), Risk::High);
    }

    #[test]
    fn a_single_order_is_measured_against_the_default_rhythm() {
        // Risk 0.3 at 96 days, 0.7 at 144 days.
        assert_eq!(risk(one_order(95)), Risk::Low);
        assert_eq!(risk(one_order(96)), Risk::Medium);
        assert_eq!(risk(one_order(143)), Risk::Medium);
        assert_eq!(risk(one_order(144)), Risk::High);
    }

    #[test]
    fn never_ordered_is_measured_from_signup() {
        let signed_up = |days| Profile::builder().days_since_signup(days);
        assert_eq!(risk(signed_up(10)), Risk::Low);
        assert_eq!(risk(signed_up(95)), Risk::Low);
        assert_eq!(risk(signed_up(96)), Risk::Medium);
        assert_eq!(risk(signed_up(144)), Risk::High);
    }

    #[test]
    fn rhythms_shorter_than_a_week_count_as_a_week() {
        let frequent = |quiet| {
            Profile::builder()
                .days_between_orders(1)
                .days_since_last_order(quiet)
        };
        assert_eq!(assess("{}", frequent(7)).score, 0.0);
        assert_eq!(assess("{}", frequent(14)).score, 0.5);
        assert_eq!(risk(frequent(14)), Risk::Medium);
    }

    #[test]
    fn score_rises_from_due_to_full_risk() {
        let scores: Vec<f32> = classify::<ChurnRisk>(
            "{}",
            &[0, 30, 45, 60, 90, 500].map(|quiet| monthly(quiet).build()),
        )
        .unwrap()
        .iter()
        .map(|classified| classified.score)
        .collect();
        assert_eq!(scores, [0.0, 0.0, 0.25, 0.5, 1.0, 1.0]);
    }

    #[test]
    fn every_threshold_is_configurable() {
        let config = r#"{"default_rhythm_days": 30, "min_rhythm_days": 14,
                         "full_risk_ratio": 2.0, "medium_from": 0.5, "high_from": 0.9}"#;
        assert_eq!(assess(config, one_order(44)).segment, Risk::Low);
        assert_eq!(assess(config, one_order(45)).segment, Risk::Medium);
        assert_eq!(assess(config, one_order(56)).segment, Risk::Medium);
        assert_eq!(assess(config, one_order(57)).segment, Risk::High);
        let frequent = Profile::builder()
            .days_between_orders(1)
            .days_since_last_order(21);
        assert_eq!(assess(config, frequent).segment, Risk::Medium);
    }

    #[test]
    fn bad_thresholds_are_rejected() {
        for config in [
            r#"{"full_risk_ratio": 1.0}"#,
            r#"{"medium_from": 0.8}"#,
            r#"{"high_from": 1.5}"#,
        ] {
            assert!(classify::<ChurnRisk>(config, &[]).is_err(), "{config}");
        }
    }
}
