//! Membership levels by lifetime spend and repurchases.
//!
//! A customer holds the highest level whose two minimums they both meet
//! (defaults shown, all configurable; money in yuan):
//!
//! | level      | lifetime spend | lifetime repurchases |
//! |------------|----------------|----------------------|
//! | `diamond`  | ¥50 000        | 10                   |
//! | `gold`     | ¥10 000        | 5                    |
//! | `silver`   | ¥2 000         | 2                    |
//! | `ordinary` | —              | —                    |
//!
//! *Repurchases* are `lifetime_orders − 1`: the first order is a purchase, not a
//! repurchase. Both minimums count, so a single ¥60 000 order is still
//! `ordinary`: levels reward loyalty, not one big basket.
//!
//! Levels are recomputed from lifetime figures on every run. Those only fall on
//! refunds, so a level is kept unless its spend is refunded.
//!
//! Score: progress from the customer's level to the next one, the lesser of the
//! spend and repurchase progress (both are needed); 1 at `diamond`.

use retain_plugin_sdk::score::fraction;
use retain_plugin_sdk::{
    Classified, Feature, Money, PluginInfo, Profile, SegmentSet, Segmenter, TagTable,
};
use serde::Deserialize;

retain_plugin_sdk::segments! {
    /// Membership levels, lowest first.
    pub enum Level {
        Ordinary("ordinary", "Ordinary", "Every member below silver."),
        Silver(
            "silver",
            "Silver",
            "Lifetime spend of at least ¥2000 and at least 2 repurchases (defaults)."
        ),
        Gold(
            "gold",
            "Gold",
            "Lifetime spend of at least ¥10 000 and at least 5 repurchases (defaults)."
        ),
        Diamond(
            "diamond",
            "Diamond",
            "Lifetime spend of at least ¥50 000 and at least 10 repurchases (defaults)."
        ),
    }
}

/// The slot's configuration. `{}` gives the documented defaults; a level given
/// here states both its minimums.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Minimums for `silver` (default ¥2000, 2 repurchases).
    pub silver: LevelRule,
    /// Minimums for `gold` (default ¥10 000, 5 repurchases).
    pub gold: LevelRule,
    /// Minimums for `diamond` (default ¥50 000, 10 repurchases).
    pub diamond: LevelRule,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            silver: LevelRule {
                min_spend: Money::major(2000),
                min_repurchases: 2,
            },
            gold: LevelRule {
                min_spend: Money::major(10_000),
                min_repurchases: 5,
            },
            diamond: LevelRule {
                min_spend: Money::major(50_000),
                min_repurchases: 10,
            },
        }
    }
}

impl Config {
    /// Every level's minimums, in [`Level`] order; `ordinary` has none.
    fn ladder(&self) -> [LevelRule; 4] {
        let ordinary = LevelRule {
            min_spend: Money::minor(0),
            min_repurchases: 0,
        };
        [ordinary, self.silver, self.gold, self.diamond]
    }
}

/// The minimums a customer must both meet to hold a level.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LevelRule {
    /// Lifetime spend, in yuan.
    pub min_spend: Money,
    /// Lifetime repurchases (`lifetime_orders − 1`).
    pub min_repurchases: u32,
}

impl LevelRule {
    fn admits(&self, spend: i64, repurchases: u32) -> bool {
        spend >= self.min_spend.minor_units() && repurchases >= self.min_repurchases
    }

    /// How far from this level's minimums towards `next`'s the customer is.
    fn progress(&self, next: &LevelRule, spend: i64, repurchases: u32) -> f32 {
        let spend = fraction(
            (spend - self.min_spend.minor_units()) as f64,
            (next.min_spend.minor_units() - self.min_spend.minor_units()) as f64,
        );
        let repurchases = fraction(
            f64::from(repurchases) - f64::from(self.min_repurchases),
            f64::from(next.min_repurchases) - f64::from(self.min_repurchases),
        );
        spend.min(repurchases)
    }
}

/// The membership level segmenter.
pub struct MembershipLevel;

impl Segmenter for MembershipLevel {
    type Config = Config;
    type Segment = Level;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "membership-level",
            version: env!("CARGO_PKG_VERSION"),
            description: "Ordinary, silver, gold or diamond, by lifetime spend and \
                          repurchases; the score is progress to the next level.",
            features: &[Feature::LifetimeSpend, Feature::LifetimeOrders],
        }
    }

    /// Rejects minimums that fall from one level to the next, which would make a
    /// level unreachable.
    fn prepare(config: &mut Config, _tags: &TagTable<'_>) -> Result<(), String> {
        let steps = [
            ("silver", config.silver, "gold", config.gold),
            ("gold", config.gold, "diamond", config.diamond),
        ];
        for (lower_name, lower, higher_name, higher) in steps {
            if higher.min_spend < lower.min_spend || higher.min_repurchases < lower.min_repurchases
            {
                return Err(format!(
                    "{higher_name}'s minimums must not be below {lower_name}'s"
                ));
            }
        }
        Ok(())
    }

    #[inline]
    fn classify(config: &Config, profile: &Profile<'_>) -> Classified<Level> {
        let (spend, repurchases) = (profile.lifetime_spend(), profile.lifetime_repurchases());
        let ladder = config.ladder();
        let held = ladder
            .iter()
            .rposition(|rule| rule.admits(spend, repurchases))
            .unwrap_or(0);
        let score = match ladder.get(held + 1) {
            Some(next) => ladder[held].progress(next, spend, repurchases),
            None => 1.0,
        };
        Classified::new(Level::ALL[held], score)
    }
}

retain_plugin_sdk::export_segmenter!(MembershipLevel);

#[cfg(test)]
mod tests {
    use retain_plugin_sdk::testing::{classify, classify_one, yuan};

    use super::*;

    /// A member with `spend` fen over `repurchases + 1` orders.
    fn member(spend: i64, repurchases: u32) -> Classified<Level> {
        let profile = Profile::builder()
            .lifetime_spend(spend)
            .lifetime_orders(repurchases + 1);
        classify_one::<MembershipLevel>("{}", profile.build())
    }

    fn level(spend: i64, repurchases: u32) -> Level {
        member(spend, repurchases).segment
    }

    #[test]
    fn silver_needs_2000_and_2_repurchases() {
        assert_eq!(level(yuan(2000), 2), Level::Silver);
        assert_eq!(level(yuan(2000) - 1, 2), Level::Ordinary);
        assert_eq!(level(yuan(2000), 1), Level::Ordinary);
        assert_eq!(level(yuan(2000) + 1, 3), Level::Silver);
    }

    #[test]
    fn gold_needs_10000_and_5_repurchases() {
        assert_eq!(level(yuan(10_000), 5), Level::Gold);
        assert_eq!(level(yuan(10_000) - 1, 5), Level::Silver);
        assert_eq!(level(yuan(10_000), 4), Level::Silver);
        assert_eq!(level(yuan(10_000) + 1, 6), Level::Gold);
    }

    #[test]
    fn diamond_needs_50000_and_10_repurchases() {
        assert_eq!(level(yuan(50_000), 10), Level::Diamond);
        assert_eq!(level(yuan(50_000) - 1, 10), Level::Gold);
        assert_eq!(level(yuan(50_000), 9), Level::Gold);
        assert_eq!(level(yuan(90_000), 40), Level::Diamond);
    }

    #[test]
    fn one_big_order_is_not_loyalty() {
        assert_eq!(level(yuan(60_000), 0), Level::Ordinary);
        assert_eq!(
            classify_one::<MembershipLevel>("{}", Profile::builder().build()).segment,
            Level::Ordinary
        );
    }

    #[test]
    fn score_is_progress_to_the_next_level_limited_by_the_lagging_minimum() {
        assert_eq!(
            member(yuan(1000), 1).score,
            0.5,
            "halfway to silver on both"
        );
        assert_eq!(member(yuan(2000), 2).score, 0.0, "just reached silver");
        assert_eq!(
            member(yuan(6000), 5).score,
            0.5,
            "silver: spend halfway to gold"
        );
        assert_eq!(member(yuan(60_000), 0).score, 0.0, "no repurchase yet");
        assert_eq!(member(yuan(50_000), 10).score, 1.0, "diamond is the top");
    }

    #[test]
    fn every_minimum_is_configurable() {
        let config = r#"{"silver": {"min_spend": 500, "min_repurchases": 1},
                         "gold": {"min_spend": 5000, "min_repurchases": 3},
                         "diamond": {"min_spend": 20000, "min_repurchases": 6}}"#;
        let level = |spend: i64, repurchases: u32| {
            let profile = Profile::builder()
                .lifetime_spend(spend)
                .lifetime_orders(repurchases + 1);
            classify_one::<MembershipLevel>(config, profile.build()).segment
        };
        assert_eq!(level(yuan(500) - 1, 1), Level::Ordinary);
        assert_eq!(level(yuan(500), 1), Level::Silver);
        assert_eq!(level(yuan(5000), 3), Level::Gold);
        assert_eq!(level(yuan(20_000), 6), Level::Diamond);
    }

    #[test]
    fn falling_minimums_are_rejected() {
        let config = r#"{"gold": {"min_spend": 1000, "min_repurchases": 5}}"#;
        let error = classify::<MembershipLevel>(config, &[]).unwrap_err();
        assert_eq!(error, "gold's minimums must not be below silver's");
    }
}
