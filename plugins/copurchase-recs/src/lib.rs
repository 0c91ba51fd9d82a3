//! Item-to-item recommendations: what other customers bought together with this
//! customer's recent purchases.
//!
//! 1. Seeds: the customer's `recent_products` (default 10) most recently bought distinct
//!    products, each weighted by recency, halving every `half_life_days` (default 30).
//! 2. For each seed, its `neighbours_per_product` (default 20) strongest co-purchased
//!    products. Weights are scaled so each seed's strongest neighbour counts 1,
//!    so one best-seller seed does not drown the others.
//! 3. A candidate's score is the sum over seeds of seed weight × scaled
//!    co-purchase weight. Products the customer already bought are left out.
//! 4. Best score first (ties by product id); the reason names the seed that
//!    contributed most: "bought together with Organic cotton onesie".
//!
//! Customers without purchase history, or whose purchases have no co-purchase
//! data, get products popular with their segment instead ("popular with
//! core-loyal customers"), or overall ("popular right now").

use std::collections::{HashMap, HashSet};

use retain_plugin_sdk::{
    Catalog, CustomerContext, PluginInfo, Purchase, Recommendation, Recommender, log,
};
use serde::Deserialize;

/// The slot's configuration. `{}` gives the documented defaults.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Distinct recent products used as seeds (default 10).
    pub recent_products: u32,
    /// Days after which a purchase counts half as much as one made today (default 30).
    pub half_life_days: f64,
    /// Co-purchased products fetched per seed (default 20).
    pub neighbours_per_product: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            recent_products: 10,
            half_life_days: 30.0,
            neighbours_per_product: 20,
        }
    }
}

/// A candidate product's running score.
#[derive(Default)]
struct Candidate {
    score: f64,
    /// The seed that contributed most, named in the reason.
    top_seed: i64,
    top_contribution: f64,
}

/// The co-purchase recommender.
pub struct CoPurchase;

impl Recommender for CoPurchase {
    type Config = Config;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "copurchase-recs",
            version: env!("CARGO_PKG_VERSION"),
            description: "Products bought together with the customer's recent purchases, \
                          weighted by recency; popular products for customers without history.",
            features: &[],
        }
    }

    fn recommend(
        config: &Config,
        context: &CustomerContext,
        catalog: &dyn Catalog,
        limit: u32,
    ) -> Result<Vec<Recommendation>, String> {
        if config.half_life_days.is_nan() || config.half_life_days <= 0.0 {
            return Err(format!(
                "half_life_days ({}) must be above 0",
                config.half_life_days
            ));
        }
        let bought = context.purchased_products();
        let candidates = co_purchased(config, &context.purchases, &bought, catalog);
        if candidates.is_empty() {
            log::debug("no co-purchase data for this customer; recommending popular products");
            return Ok(popular(context, &bought, catalog, limit));
        }
        let mut ranked: Vec<(i64, Candidate)> = candidates.into_iter().collect();
        ranked.sort_by(|(a_id, a), (b_id, b)| b.score.total_cmp(&a.score).then(a_id.cmp(b_id)));
        ranked.truncate(limit as usize);

        let seeds: Vec<i64> = ranked
            .iter()
            .map(|(_, candidate)| candidate.top_seed)
            .collect();
        let names: HashMap<i64, String> = catalog
            .products(&seeds)
            .into_iter()
            .map(|product| (product.id, product.name))
            .collect();
        Ok(ranked
            .into_iter()
            .map(|(product, candidate)| Recommendation {
                product,
                score: candidate.score,
                reason: match names.get(&candidate.top_seed) {
                    Some(name) => format!("bought together with {name}"),
                    None => "bought together with your recent purchases".to_owned(),
                },
            })
            .collect())
    }
}

/// Scores every product co-purchased with the customer's recent purchases.
fn co_purchased(
    config: &Config,
    purchases: &[Purchase],
    bought: &HashSet<i64>,
    catalog: &dyn Catalog,
) -> HashMap<i64, Candidate> {
    let mut candidates: HashMap<i64, Candidate> = HashMap::new();
    for (seed, seed_weight) in seeds(config, purchases) {
        let neighbours = catalog.co_purchased(seed, config.neighbours_per_product);
        let strongest = neighbours
            .iter()
            .map(|neighbour| neighbour.weight)
            .fold(0.0, f64::max);
        if strongest <= 0.0 {
            continue;
        }
        for neighbour in neighbours
            .iter()
            .filter(|neighbour| !bought.contains(&neighbour.product))
        {
            let contribution = seed_weight * neighbour.weight / strongest;
            let candidate = candidates.entry(neighbour.product).or_default();
            candidate.score += contribution;
            if contribution > candidate.top_contribution {
                candidate.top_seed = seed;
                candidate.top_contribution = contribution;
            }
        }
    }
    candidates
}

/// The most recent distinct products, newest first, with their recency weight.
fn seeds(config: &Config, purchases: &[Purchase]) -> Vec<(i64, f64)> {
    let mut seen = HashSet::new();
    purchases
        .iter()
        .filter(|purchase| seen.insert(purchase.product))
        .take(config.recent_products as usize)
        .map(|purchase| {
            let weight = 0.5_f64.powf(f64::from(purchase.days_ago) / config.half_life_days);
            (purchase.product, weight)
        })
        .collect()
}

/// Popular with the customer's segment (or overall), minus what they bought.
fn popular(
    context: &CustomerContext,
    bought: &HashSet<i64>,
    catalog: &dyn Catalog,
    limit: u32,
) -> Vec<Recommendation> {
    let segment = context.segment.as_deref();
    let reason = match segment {
        Some(segment) => format!("popular with {segment} customers"),
        None => "popular right now".to_owned(),
    };
    // Ask for enough to still have `limit` after leaving out what was bought.
    let wanted = limit.saturating_add(u32::try_from(bought.len()).unwrap_or(u32::MAX));
    catalog
        .popular_in_segment(segment, wanted)
        .into_iter()
        .filter(|hit| !bought.contains(&hit.product))
        .take(limit as usize)
        .map(|hit| Recommendation {
            product: hit.product,
            score: hit.weight,
            reason: reason.clone(),
        })
        .collect()
}

retain_plugin_sdk::export_recommender!(CoPurchase);

#[cfg(test)]
mod tests {
    use retain_plugin_sdk::testing::{FixtureCatalog, recommend};

    use super::*;

    const ONESIE: i64 = 1;
    const BOTTLE: i64 = 2;
    const WIPES: i64 = 3;
    const RATTLE: i64 = 4;
    const YOGA_MAT: i64 = 5;
    const BANDS: i64 = 6;

    fn catalog() -> FixtureCatalog {
        FixtureCatalog::new()
            .product(ONESIE, "Organic cotton onesie", "baby")
            .product(BOTTLE, "Glass baby bottle", "baby")
            .product(WIPES, "Sensitive wipes", "baby")
            .product(RATTLE, "Wooden rattle", "baby")
            .product(YOGA_MAT, "Yoga mat", "fitness")
            .product(BANDS, "Resistance bands", "fitness")
            .bought_together(ONESIE, BOTTLE, 40.0)
            .bought_together(ONESIE, WIPES, 20.0)
            .bought_together(ONESIE, RATTLE, 10.0)
            .bought_together(YOGA_MAT, BANDS, 5.0)
            .popular(Some("core-loyal"), WIPES, 9.0)
            .popular(Some("core-loyal"), RATTLE, 8.0)
            .popular(None, YOGA_MAT, 30.0)
            .popular(None, BOTTLE, 20.0)
    }

    fn customer(purchases: &[(i64, u32)]) -> CustomerContext {
        CustomerContext {
            customer: 42,
            purchases: purchases
                .iter()
                .map(|&(product, days_ago)| Purchase {
                    product,
                    quantity: 1,
                    days_ago,
                })
                .collect(),
            ..CustomerContext::default()
        }
    }

    fn products(recommendations: &[Recommendation]) -> Vec<i64> {
        recommendations
            .iter()
            .map(|recommendation| recommendation.product)
            .collect()
    }

    #[test]
    fn recommends_what_was_bought_together_strongest_first() {
        let picks =
            recommend::<CoPurchase>("{}", &customer(&[(ONESIE, 0)]), &catalog(), 10).unwrap();
        assert_eq!(products(&picks), [BOTTLE, WIPES, RATTLE]);
        assert_eq!(
            picks[0].reason,
            "bought together with Organic cotton onesie"
        );
        assert_eq!(
            picks.iter().map(|pick| pick.score).collect::<Vec<_>>(),
            [1.0, 0.5, 0.25]
        );
    }

    #[test]
    fn leaves_out_products_already_bought() {
        let context = customer(&[(ONESIE, 0), (BOTTLE, 5)]);
        let picks = recommend::<CoPurchase>("{}", &context, &catalog(), 10).unwrap();
        assert_eq!(products(&picks), [WIPES, RATTLE]);
    }

    #[test]
    fn recent_purchases_weigh_more() {
        // The yoga mat, bought today, outweighs the onesie bought two half-lives ago.
        let context = customer(&[(YOGA_MAT, 0), (ONESIE, 60)]);
        let picks = recommend::<CoPurchase>("{}", &context, &catalog(), 2).unwrap();
        assert_eq!(products(&picks), [BANDS, BOTTLE]);
        assert_eq!(picks[0].reason, "bought together with Yoga mat");
        assert_eq!(picks[1].score, 0.25);
    }

    #[test]
    fn only_the_most_recent_products_seed() {
        let context = customer(&[(YOGA_MAT, 0), (ONESIE, 1)]);
        let picks = recommend::<CoPurchase>(r#"{"recent_products": 1}"#, &context, &catalog(), 10);
        assert_eq!(products(&picks.unwrap()), [BANDS]);
    }

    #[test]
    fn without_history_falls_back_to_popular_in_segment() {
        let mut context = customer(&[]);
        context.segment = Some("core-loyal".into());
        let picks = recommend::<CoPurchase>("{}", &context, &catalog(), 10).unwrap();
        assert_eq!(products(&picks), [WIPES, RATTLE]);
        assert_eq!(picks[0].reason, "popular with core-loyal customers");

        let picks = recommend::<CoPurchase>("{}", &customer(&[]), &catalog(), 10).unwrap();
        assert_eq!(products(&picks), [YOGA_MAT, BOTTLE]);
        assert_eq!(picks[0].reason, "popular right now");
    }

    #[test]
    fn purchases_without_co_purchase_data_fall_back_too() {
        let picks =
            recommend::<CoPurchase>("{}", &customer(&[(BOTTLE, 3), (99, 1)]), &catalog(), 10);
        assert_eq!(products(&picks.unwrap()), [ONESIE]);
        let picks = recommend::<CoPurchase>("{}", &customer(&[(99, 1)]), &catalog(), 10).unwrap();
        assert_eq!(products(&picks), [YOGA_MAT, BOTTLE]);
    }

    #[test]
    fn answers_at_most_limit() {
        let picks =
            recommend::<CoPurchase>("{}", &customer(&[(ONESIE, 0)]), &catalog(), 2).unwrap();
        assert_eq!(products(&picks), [BOTTLE, WIPES]);
    }

    #[test]
    fn a_non_positive_half_life_is_rejected() {
        let error =
            recommend::<CoPurchase>(r#"{"half_life_days": 0}"#, &customer(&[]), &catalog(), 5);
        assert_eq!(error.unwrap_err(), "half_life_days (0) must be above 0");
    }
}
