//! A small segmenter exercising config, `prepare` and tags, for the SDK's own tests.

use serde::Deserialize;

use crate::{Classified, Feature, Money, PluginInfo, Profile, Segmenter, TagCode, TagTable};

crate::segments! {
    /// Test segments.
    pub enum Kind {
        Vip("vip", "VIP", "Carries the configured tag."),
        Spender("spender", "Spender", "Spent at least `min_spend` in a year."),
        Other("other", "Other", "Everyone else."),
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub vip_tag: String,
    pub min_spend: Money,
    #[serde(skip)]
    pub vip: Option<TagCode>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            vip_tag: "vip".into(),
            min_spend: Money::major(100),
            vip: None,
        }
    }
}

pub struct TagSegmenter;

impl Segmenter for TagSegmenter {
    type Config = Config;
    type Segment = Kind;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "tag-segmenter",
            version: "1.2.3",
            description: "VIPs by tag, then spenders.",
            features: &[Feature::Spend365d, Feature::Tags],
        }
    }

    fn prepare(config: &mut Config, tags: &TagTable<'_>) -> Result<(), String> {
        if config.vip_tag.is_empty() {
            return Err("vip_tag must not be empty".into());
        }
        config.vip = tags.code(&config.vip_tag);
        Ok(())
    }

    fn classify(config: &Config, profile: &Profile<'_>) -> Classified<Kind> {
        let kind = if config.vip.is_some_and(|vip| profile.has_tag(vip)) {
            Kind::Vip
        } else if profile.spend_365d() >= config.min_spend.minor_units() {
            Kind::Spender
        } else {
            Kind::Other
        };
        Classified::new(kind, 0.5)
    }
}
