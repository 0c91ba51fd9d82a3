//! A second segmenter for the `tier` slot in tests: splits customers by lifetime
//! spend, so activating it visibly changes everyone's segment.

use retain_plugin_sdk::{Classified, Feature, Money, PluginInfo, Profile, Segmenter};
use serde::Deserialize;

retain_plugin_sdk::segments! {
    /// Big or small spenders.
    pub enum Spender {
        Big("big", "Big spender", "Spent at least `threshold` in their lifetime."),
        Small("small", "Small spender", "Spent less than `threshold` in their lifetime."),
    }
}

/// `{}` gives a ¥1000 threshold.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Lifetime spend that makes a big spender, in yuan.
    pub threshold: Money,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            threshold: Money::major(1000),
        }
    }
}

/// Big or small by lifetime spend.
pub struct BigSpenders;

impl Segmenter for BigSpenders {
    type Config = Config;
    type Segment = Spender;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "big-spenders",
            version: "1.0.0",
            description: "Big or small spenders by lifetime spend.",
            features: &[Feature::LifetimeSpend],
        }
    }

    fn classify(config: &Config, profile: &Profile<'_>) -> Classified<Spender> {
        if profile.lifetime_spend() >= config.threshold.minor_units() {
            Classified::new(Spender::Big, 1.0)
        } else {
            Classified::new(Spender::Small, 0.0)
        }
    }
}

retain_plugin_sdk::export_segmenter!(BigSpenders);
