//! RFM tiers: segments customers by yearly spend (monetary), repurchases
//! (frequency) and recent activity (recency and engagement).
//!
//! Rules, checked in this order (all thresholds configurable):
//!
//! 1. `dormant`: no paid order for more than `dormant_after_days` (default 180), never
//!    ordered, or yearly spend below `basic_min_spend` (default ¥500).
//! 2. `core-loyal`: yearly spend ≥ ¥5000, ≥ 4 repurchases and ≥ 2 interactions
//!    in the last 30 days.
//! 3. `potential`: yearly spend ≥ ¥2000, ≥ 2 repurchases and ≥ 1 interaction.
//! 4. `basic`: everyone else, i.e. active in the last 180 days with at least ¥500
//!    spent but not qualifying for a higher tier.
//!
//! A customer who misses one minimum of a tier falls to the next tier whose
//! minimums they meet: ¥8000 with 6 repurchases but a single interaction is
//! `potential`; without any interaction, `basic`. The upper bounds of the usual
//! description ("¥2000–5000, 2–3 repurchases") follow from that order.
//!
//! *Repurchases* are `orders_365d − 1`: the first order of the year is a
//! purchase, not a repurchase. A first-time buyer of ¥600 is therefore `basic`,
//! not `dormant`: they are active, just not repeat customers yet.
//!
//! Score: yearly spend as a share of the `core-loyal` minimum, capped at 1.

use retain_plugin_sdk::score::fraction;
use retain_plugin_sdk::{Classified, Feature, Money, PluginInfo, Profile, Segmenter, TagTable};
use serde::Deserialize;

retain_plugin_sdk::segments! {
    /// RFM tiers, most valuable first.
    pub enum Tier {
        CoreLoyal(
            "core-loyal",
            "Core loyal",
            "Spent at least ¥5000 in the last year, with at least 4 repurchases and \
             2 interactions in the last 30 days (defaults)."
        ),
        Potential(
            "potential",
            "Potential",
            "Spent ¥2000–5000 in the last year, with 2–3 repurchases and at least \
             1 interaction in the last 30 days (defaults)."
        ),
        Basic(
            "basic",
            "Basic",
            "Ordered in the last 180 days and spent at least ¥500 in the last year, \
             without qualifying for a higher tier; typically 1–2 repurchases (defaults)."
        ),
        Dormant(
            "dormant",
            "Dormant",
            "No paid order for more than 180 days, or less than ¥500 spent in the \
             last year (defaults)."
        ),
    }
}

/// The slot's configuration; money in yuan. `{}` gives the documented defaults.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Minimums for `core-loyal` (default ¥5000, 4 repurchases, 2 interactions).
    pub core_loyal: TierRule,
    /// Minimums for `potential` (default ¥2000, 2 repurchases, 1 interaction).
    pub potential: TierRule,
    /// Yearly spend below which an active customer is still `dormant` (default ¥500).
    pub basic_min_spend: Money,
    /// Days without a paid order after which a customer is `dormant` (default 180).
    pub dormant_after_days: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            core_loyal: TierRule {
                min_spend: Money::major(5000),
                min_repurchases: 4,
                min_interactions_30d: 2,
            },
            potential: TierRule {
                min_spend: Money::major(2000),
                min_repurchases: 2,
                min_interactions_30d: 1,
            },
            basic_min_spend: Money::major(500),
            dormant_after_days: 180,
        }
    }
}

/// The minimums a customer must all meet to enter a tier. A tier given in the
/// config states all three.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TierRule {
    /// Spend in the last 365 days, in yuan.
    pub min_spend: Money,
    /// Repurchases (`orders_365d − 1`) in the last 365 days.
    pub min_repurchases: u32,
    /// Interactions in the last 30 days.
    pub min_interactions_30d: u32,
}

impl TierRule {
    fn admits(&self, profile: &Profile<'_>) -> bool {
        profile.spend_365d() >= self.min_spend.minor_units()
            && profile.repurchases_365d() >= self.min_repurchases
            && profile.interactions_30d() >= self.min_interactions_30d
    }
}

/// The RFM tiers segmenter.
pub struct RfmTiers;

impl Segmenter for RfmTiers {
    type Config = Config;
    type Segment = Tier;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "rfm-tiers",
            version: env!("CARGO_PKG_VERSION"),
            description: "Core loyal, potential, basic or dormant, by yearly spend, \
                          repurchases, interactions and days since the last order.",
            features: &[
                Feature::DaysSinceLastOrder,
                Feature::Orders365d,
                Feature::Spend365d,
                Feature::Interactions30d,
            ],
        }
    }

    /// Rejects spend minimums that do not descend from tier to tier, which would
    /// make a lower tier unreachable.
    fn prepare(config: &mut Config, _tags: &TagTable<'_>) -> Result<(), String> {
        let (core, potential, basic) = (
            config.core_loyal.min_spend,
            config.potential.min_spend,
            config.basic_min_spend,
        );
        if core < potential || potential < basic {
            return Err(format!(
                "spend minimums must descend: core_loyal {} ≥ potential {} ≥ basic {} (fen)",
                core.minor_units(),
                potential.minor_units(),
                basic.minor_units()
            ));
        }
        Ok(())
    }

    #[inline]
    fn classify(config: &Config, profile: &Profile<'_>) -> Classified<Tier> {
        let spend = profile.spend_365d();
        let active = profile
            .days_since_last_order()
            .is_some_and(|days| days <= config.dormant_after_days);
        let tier = if !active || spend < config.basic_min_spend.minor_units() {
            Tier::Dormant
        } else if config.core_loyal.admits(profile) {
            Tier::CoreLoyal
        } else if config.potential.admits(profile) {
            Tier::Potential
        } else {
            Tier::Basic
        };
        let score = fraction(
            spend as f64,
            config.core_loyal.min_spend.minor_units() as f64,
        );
        Classified::new(tier, score)
    }
}

retain_plugin_sdk::export_segmenter!(RfmTiers);

#[cfg(test)]
mod tests {
    use retain_plugin_sdk::testing::{ProfileBuilder, classify, classify_one, yuan};

    use super::*;

    fn tier(config: &str, customer: ProfileBuilder) -> Tier {
        classify_one::<RfmTiers>(config, customer.build()).segment
    }

    /// Exactly at every `core-loyal` minimum, ordered 10 days ago.
    fn core_loyal() -> ProfileBuilder {
        Profile::builder()
            .days_since_last_order(10)
            .spend_365d(yuan(5000))
            .orders_365d(5)
            .interactions_30d(2)
    }

    /// Exactly at every `potential` minimum, ordered 10 days ago.
    fn potential() -> ProfileBuilder {
        Profile::builder()
            .days_since_last_order(10)
            .spend_365d(yuan(2000))
            .orders_365d(3)
            .interactions_30d(1)
    }

    #[test]
    fn core_loyal_needs_every_minimum() {
        assert_eq!(tier("{}", core_loyal()), Tier::CoreLoyal);
        assert_eq!(
            tier("{}", core_loyal().spend_365d(yuan(5000) + 1)),
            Tier::CoreLoyal
        );
        assert_eq!(
            tier("{}", core_loyal().spend_365d(yuan(5000) - 1)),
            Tier::Potential
        );
        assert_eq!(
            tier("{}", core_loyal().orders_365d(4)),
            Tier::Potential,
            "3 repurchases"
        );
        assert_eq!(
            tier("{}", core_loyal().interactions_30d(1)),
            Tier::Potential
        );
        assert_eq!(
            tier("{}", core_loyal().interactions_30d(60)),
            Tier::CoreLoyal
        );
    }

    #[test]
    fn potential_needs_every_minimum() {
        assert_eq!(tier("{}", potential()), Tier::Potential);
        assert_eq!(
            tier("{}", potential().spend_365d(yuan(2000) - 1)),
            Tier::Basic
        );
        assert_eq!(
            tier("{}", potential().orders_365d(2)),
            Tier::Basic,
            "1 repurchase"
        );
        assert_eq!(tier("{}", potential().interactions_30d(0)), Tier::Basic);
        assert_eq!(
            tier("{}", potential().orders_365d(4)),
            Tier::Potential,
            "3 repurchases"
        );
    }

    #[test]
    fn big_spenders_missing_a_minimum_fall_to_the_next_tier_they_meet() {
        let big = core_loyal().spend_365d(yuan(8000)).orders_365d(7);
        assert_eq!(tier("{}", big.clone().interactions_30d(1)), Tier::Potential);
        assert_eq!(tier("{}", big.clone().interactions_30d(0)), Tier::Basic);
        assert_eq!(tier("{}", big.orders_365d(1)), Tier::Basic, "no repurchase");
    }

    #[test]
    fn below_the_basic_spend_is_dormant() {
        let buyer = Profile::builder().days_since_last_order(3).orders_365d(1);
        assert_eq!(tier("{}", buyer.clone().spend_365d(yuan(500))), Tier::Basic);
        assert_eq!(
            tier("{}", buyer.clone().spend_365d(yuan(500) - 1)),
            Tier::Dormant
        );
        assert_eq!(
            tier("{}", buyer.spend_365d(yuan(600))),
            Tier::Basic,
            "first-time buyer"
        );
    }

    #[test]
    fn no_order_for_more_than_180_days_is_dormant() {
        assert_eq!(
            tier("{}", core_loyal().days_since_last_order(180)),
            Tier::CoreLoyal
        );
        assert_eq!(
            tier("{}", core_loyal().days_since_last_order(181)),
            Tier::Dormant
        );
        assert_eq!(
            tier("{}", Profile::builder()),
            Tier::Dormant,
            "never ordered"
        );
    }

    #[test]
    fn score_is_spend_as_a_share_of_the_core_loyal_minimum() {
        let scores: Vec<f32> = classify::<RfmTiers>(
            "{}",
            &[0, yuan(2500), yuan(5000), yuan(20_000)]
                .map(|spend| core_loyal().spend_365d(spend).build()),
        )
        .unwrap()
        .iter()
        .map(|classified| classified.score)
        .collect();
        assert_eq!(scores, [0.0, 0.5, 1.0, 1.0]);
    }

    #[test]
    fn every_threshold_is_configurable() {
        let config = r#"{
            "core_loyal": {"min_spend": 6000, "min_repurchases": 5, "min_interactions_30d": 3},
            "potential": {"min_spend": 3000, "min_repurchases": 3, "min_interactions_30d": 2},
            "basic_min_spend": 1000,
            "dormant_after_days": 90
        }"#;
        assert_eq!(tier(config, core_loyal()), Tier::Potential);
        let raised = core_loyal()
            .spend_365d(yuan(6000))
            .orders_365d(6)
            .interactions_30d(3);
        assert_eq!(tier(config, raised.clone()), Tier::CoreLoyal);
        assert_eq!(
            tier(config, raised.clone().days_since_last_order(91)),
            Tier::Dormant
        );
        assert_eq!(
            tier(config, raised.spend_365d(yuan(1000) - 1)),
            Tier::Dormant
        );
    }

    #[test]
    fn bad_configs_are_rejected_with_the_reason() {
        let partial_tier = r#"{"potential": {"min_spend": 3000}}"#;
        let error = classify::<RfmTiers>(partial_tier, &[]).unwrap_err();
        assert!(
            error.contains("`potential`") && error.contains("min_repurchases"),
            "{error}"
        );

        let inverted = r#"{"basic_min_spend": 2500}"#;
        let error = classify::<RfmTiers>(inverted, &[]).unwrap_err();
        assert!(error.contains("must descend"), "{error}");
    }
}
