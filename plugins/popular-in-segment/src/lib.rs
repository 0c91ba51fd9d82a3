//! Popular products for the customer's segment, topped up with what is popular
//! overall.
//!
//! 1. The products most popular (recency-weighted, as the host ranks them) with
//!    customers of the context segment, reason "popular with core-loyal customers".
//! 2. When the segment gives fewer than `limit` products (a small or new
//!    segment, or a customer without one), the rest comes from overall
//!    popularity, reason "popular right now".
//!
//! Products the customer already bought are left out unless
//! `exclude_purchased` is off, which suits consumables bought again and again.
//!
//! Scores: a product's popularity relative to the most popular product of its
//! list (0–1]; top-ups are scaled below the last segment pick, so scores fall
//! in answer order.

use std::collections::HashSet;

use retain_plugin_sdk::{Catalog, CustomerContext, PluginInfo, Recommendation, Recommender};
use serde::Deserialize;

/// The slot's configuration. `{}` gives the documented defaults.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Leave out products the customer bought recently (default true).
    pub exclude_purchased: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            exclude_purchased: true,
        }
    }
}

/// The popular-in-segment recommender.
pub struct PopularInSegment;

impl Recommender for PopularInSegment {
    type Config = Config;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "popular-in-segment",
            version: env!("CARGO_PKG_VERSION"),
            description: "Products popular with the customer's segment, topped up with \
                          products popular overall.",
            features: &[],
        }
    }

    fn recommend(
        config: &Config,
        context: &CustomerContext,
        catalog: &dyn Catalog,
        limit: u32,
    ) -> Result<Vec<Recommendation>, String> {
        let mut skip = if config.exclude_purchased {
            context.purchased_products()
        } else {
            HashSet::new()
        };
        let mut picks = Vec::new();
        if let Some(segment) = context.segment.as_deref() {
            let reason = format!("popular with {segment} customers");
            add_popular(
                &mut picks,
                catalog,
                Some(segment),
                &reason,
                &mut skip,
                limit,
            );
        }
        add_popular(
            &mut picks,
            catalog,
            None,
            "popular right now",
            &mut skip,
            limit,
        );
        Ok(picks)
    }
}

/// Appends products popular in `segment` until `picks` holds `limit`, skipping
/// (and then remembering) those in `skip`. Scores are relative to the list's
/// most popular product and stay below the last pick already in `picks`.
fn add_popular(
    picks: &mut Vec<Recommendation>,
    catalog: &dyn Catalog,
    segment: Option<&str>,
    reason: &str,
    skip: &mut HashSet<i64>,
    limit: u32,
) {
    let missing = (limit as usize).saturating_sub(picks.len());
    if missing == 0 {
        return;
    }
    // Ask for enough to still fill the gap after skipping.
    let wanted = u32::try_from(missing + skip.len()).unwrap_or(u32::MAX);
    let popular = catalog.popular_in_segment(segment, wanted);
    let strongest = popular
        .first()
        .map(|hit| hit.weight)
        .filter(|&weight| weight > 0.0)
        .unwrap_or(1.0);
    let ceiling = picks.last().map_or(1.0, |pick| pick.score);
    let fresh: Vec<_> = popular
        .into_iter()
        .filter(|hit| skip.insert(hit.product))
        .take(missing)
        .collect();
    picks.extend(fresh.into_iter().map(|hit| Recommendation {
        product: hit.product,
        score: ceiling * hit.weight / strongest,
        reason: reason.to_owned(),
    }));
}

retain_plugin_sdk::export_recommender!(PopularInSegment);

#[cfg(test)]
mod tests {
    use retain_plugin_sdk::Purchase;
    use retain_plugin_sdk::testing::{FixtureCatalog, recommend};

    use super::*;

    fn catalog() -> FixtureCatalog {
        FixtureCatalog::new()
            .popular(Some("core-loyal"), 1, 40.0)
            .popular(Some("core-loyal"), 2, 20.0)
            .popular(Some("core-loyal"), 3, 10.0)
            .popular(None, 2, 90.0)
            .popular(None, 4, 60.0)
            .popular(None, 5, 30.0)
    }

    fn customer(segment: Option<&str>, bought: &[i64]) -> CustomerContext {
        CustomerContext {
            segment: segment.map(str::to_owned),
            purchases: bought
                .iter()
                .map(|&product| Purchase {
                    product,
                    quantity: 1,
                    days_ago: 3,
                })
                .collect(),
            ..CustomerContext::default()
        }
    }

    fn picks(config: &str, context: &CustomerContext, limit: u32) -> Vec<(i64, f64, String)> {
        recommend::<PopularInSegment>(config, context, &catalog(), limit)
            .unwrap()
            .into_iter()
            .map(|pick| (pick.product, pick.score, pick.reason))
            .collect()
    }

    fn products(config: &str, context: &CustomerContext, limit: u32) -> Vec<i64> {
        picks(config, context, limit)
            .into_iter()
            .map(|(product, ..)| product)
            .collect()
    }

    #[test]
    fn a_full_segment_list_needs_no_top_up() {
        let answer = picks("{}", &customer(Some("core-loyal"), &[]), 3);
        let segment = "popular with core-loyal customers".to_owned();
        assert_eq!(
            answer,
            [
                (1, 1.0, segment.clone()),
                (2, 0.5, segment.clone()),
                (3, 0.25, segment)
            ]
        );
    }

    #[test]
    fn a_short_segment_list_is_topped_up_from_everyone() {
        let answer = picks("{}", &customer(Some("core-loyal"), &[]), 5);
        let top_ups: Vec<_> = answer[3..]
            .iter()
            .map(|(product, score, reason)| (*product, *score, reason.as_str()))
            .collect();
        assert_eq!(
            top_ups,
            [
                (4, 0.25 * 60.0 / 90.0, "popular right now"),
                (5, 0.25 * 30.0 / 90.0, "popular right now")
            ]
        );
    }

    #[test]
    fn without_a_segment_everyone_counts() {
        assert_eq!(products("{}", &customer(None, &[]), 2), [2, 4]);
        assert_eq!(
            products("{}", &customer(Some("new-segment"), &[]), 2),
            [2, 4]
        );
    }

    #[test]
    fn purchased_products_are_left_out_unless_configured() {
        let context = customer(Some("core-loyal"), &[1, 4]);
        assert_eq!(products("{}", &context, 4), [2, 3, 5]);
        assert_eq!(
            products(r#"{"exclude_purchased": false}"#, &context, 4),
            [1, 2, 3, 4]
        );
    }

    #[test]
    fn answers_at_most_limit() {
        assert_eq!(products("{}", &customer(Some("core-loyal"), &[]), 1), [1]);
        assert!(products("{}", &customer(Some("core-loyal"), &[]), 0).is_empty());
    }
}
