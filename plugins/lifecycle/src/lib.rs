//! Lifecycle stages: where a customer is in their relationship with the shop.
//!
//! Rules, checked in this order (all thresholds configurable):
//!
//! 1. `new`: signed up at most `new_within_days` (default 30) days ago with at most
//!    `new_max_orders` (default 1) paid orders.
//! 2. `churned`: never ordered (and no longer new).
//! 3. `active`: last paid order at most `active_within_days` (default 90) days ago.
//! 4. `silent`: last paid order at most `churned_after_days` (default 180) days ago.
//! 5. `churned`: last paid order longer ago than that.
//!
//! A recent signup with a second order is no longer `new` but `active`: two
//! orders show a habit forming.
//!
//! Score: recency, 1 for an order today falling linearly to 0 at
//! `churned_after_days`; 0 for customers who never ordered.

use retain_plugin_sdk::score::fraction;
use retain_plugin_sdk::{Classified, Feature, PluginInfo, Profile, Segmenter, TagTable};
use serde::Deserialize;

retain_plugin_sdk::segments! {
    /// Lifecycle stages, earliest first.
    pub enum Stage {
        New(
            "new",
            "New",
            "Signed up in the last 30 days with at most one paid order (defaults)."
        ),
        Active("active", "Active", "Ordered in the last 90 days (defaults)."),
        Silent("silent", "Silent", "Last ordered 91–180 days ago (defaults)."),
        Churned(
            "churned",
            "Churned",
            "Last ordered more than 180 days ago, or never ordered and signed up more \
             than 30 days ago (defaults)."
        ),
    }
}

/// The slot's configuration. `{}` gives the documented defaults.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How long after signup a customer can still be `new` (default 30 days).
    pub new_within_days: u32,
    /// Most paid orders a `new` customer can have (default 1).
    pub new_max_orders: u32,
    /// Last order at most this many days ago is `active` (default 90).
    pub active_within_days: u32,
    /// Last order more than this many days ago is `churned` (default 180).
    pub churned_after_days: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            new_within_days: 30,
            new_max_orders: 1,
            active_within_days: 90,
            churned_after_days: 180,
        }
    }
}

/// The lifecycle segmenter.
pub struct Lifecycle;

impl Segmenter for Lifecycle {
    type Config = Config;
    type Segment = Stage;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "lifecycle",
            version: env!("CARGO_PKG_VERSION"),
            description: "New, active, silent or churned, by signup date and days since \
                          the last order.",
            features: &[
                Feature::DaysSinceSignup,
                Feature::LifetimeOrders,
                Feature::DaysSinceLastOrder,
            ],
        }
    }

    /// Rejects an `active` window longer than the `churned` one, which would
    /// leave no room for `silent`.
    fn prepare(config: &mut Config, _tags: &TagTable<'_>) -> Result<(), String> {
        if config.active_within_days > config.churned_after_days {
            return Err(format!(
                "active_within_days ({}) must not exceed churned_after_days ({})",
                config.active_within_days, config.churned_after_days
            ));
        }
        Ok(())
    }

    #[inline]
    fn classify(config: &Config, profile: &Profile<'_>) -> Classified<Stage> {
        let last_order = profile.days_since_last_order();
        let stage = if profile.days_since_signup() <= config.new_within_days
            && profile.lifetime_orders() <= config.new_max_orders
        {
            Stage::New
        } else {
            match last_order {
                Some(days) if days <= config.active_within_days => Stage::Active,
                Some(days) if days <= config.churned_after_days => Stage::Silent,
                _ => Stage::Churned,
            }
        };
        let horizon = f64::from(config.churned_after_days);
        let recency = last_order.map_or(0.0, |days| 1.0 - fraction(f64::from(days), horizon));
        Classified::new(stage, recency)
    }
}

retain_plugin_sdk::export_segmenter!(Lifecycle);

#[cfg(test)]
mod tests {
    use retain_plugin_sdk::testing::{ProfileBuilder, classify, classify_one};

    use super::*;

    fn stage(config: &str, customer: ProfileBuilder) -> Stage {
        classify_one::<Lifecycle>(config, customer.build()).segment
    }

    /// Signed up a year ago, with repeat orders.
    fn regular(days_since_last_order: u32) -> ProfileBuilder {
        Profile::builder()
            .days_since_signup(365)
            .lifetime_orders(6)
            .days_since_last_order(days_since_last_order)
    }

    #[test]
    fn new_means_a_recent_signup_with_at_most_one_order() {
        let signup = |days| Profile::builder().days_since_signup(days);
        assert_eq!(stage("{}", signup(0)), Stage::New, "signed up today");
        assert_eq!(stage("{}", signup(30)), Stage::New);
        assert_eq!(stage("{}", signup(31)), Stage::Churned, "never ordered");
        let one_order = signup(30).lifetime_orders(1).days_since_last_order(2);
        assert_eq!(stage("{}", one_order.clone()), Stage::New);
        assert_eq!(
            stage("{}", one_order.clone().lifetime_orders(2)),
            Stage::Active
        );
        assert_eq!(stage("{}", one_order.days_since_signup(31)), Stage::Active);
    }

    #[test]
    fn active_silent_and_churned_by_days_since_the_last_order() {
        assert_eq!(stage("{}", regular(0)), Stage::Active);
        assert_eq!(stage("{}", regular(90)), Stage::Active);
        assert_eq!(stage("{}", regular(91)), Stage::Silent);
        assert_eq!(stage("{}", regular(180)), Stage::Silent);
        assert_eq!(stage("{}", regular(181)), Stage::Churned);
    }

    #[test]
    fn score_is_recency_over_the_churn_horizon() {
        let customers = [
            regular(0),
            regular(90),
            regular(180),
            regular(400),
            Profile::builder(),
        ];
        let scores: Vec<f32> = classify::<Lifecycle>("{}", &customers.map(ProfileBuilder::build))
            .unwrap()
            .iter()
            .map(|classified| classified.score)
            .collect();
        assert_eq!(scores, [1.0, 0.5, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn every_threshold_is_configurable() {
        let config = r#"{"new_within_days": 7, "new_max_orders": 0,
                         "active_within_days": 30, "churned_after_days": 60}"#;
        let signup = |days| Profile::builder().days_since_signup(days);
        assert_eq!(stage(config, signup(7)), Stage::New);
        assert_eq!(stage(config, signup(8)), Stage::Churned);
        assert_eq!(
            stage(
                config,
                signup(3).lifetime_orders(1).days_since_last_order(3)
            ),
            Stage::Active
        );
        assert_eq!(stage(config, regular(30)), Stage::Active);
        assert_eq!(stage(config, regular(31)), Stage::Silent);
        assert_eq!(stage(config, regular(61)), Stage::Churned);
    }

    #[test]
    fn an_active_window_past_the_churn_horizon_is_rejected() {
        let error = classify::<Lifecycle>(r#"{"active_within_days": 200}"#, &[]).unwrap_err();
        assert!(
            error.contains("must not exceed churned_after_days"),
            "{error}"
        );
    }
}
