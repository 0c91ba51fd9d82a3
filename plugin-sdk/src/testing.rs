//! A native test harness: run a plugin's rules with `cargo test`, through the
//! same config parsing, batch encoding and checks the wasm export uses.

use std::collections::HashMap;

use crate::recommender::recommend_with;
use crate::segmenter::classify_columns;
use crate::{
    Catalog, Classified, CustomerContext, Product, ProfileColumns, ProfileRecord, Recommendation,
    Recommender, SegmentSet, Segmenter, WeightedProduct,
};

/// Builds a one-customer [`ProfileRecord`]; start from
/// [`Profile::builder`](crate::Profile::builder).
///
/// Unset features keep the defaults of a customer who signed up today and never
/// ordered. Money is in minor units: `spend_365d(5000_00)` is ¥5000.
#[derive(Clone, Debug, Default)]
pub struct ProfileBuilder {
    record: ProfileRecord,
}

impl ProfileBuilder {
    /// Days since the last paid order.
    pub fn days_since_last_order(mut self, days: u32) -> Self {
        self.record.days_since_last_order = Some(days);
        self
    }

    /// Paid orders in the last 365 days.
    pub fn orders_365d(mut self, orders: u32) -> Self {
        self.record.orders_365d = orders;
        self
    }

    /// Spend in the last 365 days, in minor units.
    pub fn spend_365d(mut self, minor_units: i64) -> Self {
        self.record.spend_365d = minor_units;
        self
    }

    /// Paid orders ever.
    pub fn lifetime_orders(mut self, orders: u32) -> Self {
        self.record.lifetime_orders = orders;
        self
    }

    /// Spend ever, in minor units.
    pub fn lifetime_spend(mut self, minor_units: i64) -> Self {
        self.record.lifetime_spend = minor_units;
        self
    }

    /// Average order value, in minor units.
    pub fn average_order_value(mut self, minor_units: i64) -> Self {
        self.record.average_order_value = minor_units;
        self
    }

    /// Interactions in the last 30 days.
    pub fn interactions_30d(mut self, interactions: u32) -> Self {
        self.record.interactions_30d = interactions;
        self
    }

    /// Days since signup.
    pub fn days_since_signup(mut self, days: u32) -> Self {
        self.record.days_since_signup = days;
        self
    }

    /// Loyalty points held.
    pub fn points_balance(mut self, points: i64) -> Self {
        self.record.points_balance = points;
        self
    }

    /// Adds an interest tag.
    pub fn tag(mut self, tag: &str) -> Self {
        self.record.tags.push(tag.to_owned());
        self
    }

    /// Birthday month, 1–12.
    pub fn birthday_month(mut self, month: u8) -> Self {
        self.record.birthday_month = Some(month);
        self
    }

    /// Mean days between consecutive paid orders.
    pub fn days_between_orders(mut self, days: u32) -> Self {
        self.record.days_between_orders = Some(days);
        self
    }

    /// The finished fixture.
    pub fn build(self) -> ProfileRecord {
        self.record
    }
}

/// `units` yuan in fen, the minor units of profile money: `yuan(5000) - 1` is
/// one fen below ¥5000.
pub const fn yuan(units: i64) -> i64 {
    units * 100
}

/// Classifies `profiles` with segmenter `S` and slot configuration `config`
/// (JSON, `"{}"` for defaults), exactly as the wasm export does: the profiles are
/// encoded into a [`ProfileColumns`] batch holding only `S`'s declared features,
/// and the columnar answer is decoded back, one [`Classified`] per profile.
pub fn classify<S: Segmenter>(
    config: &str,
    profiles: &[ProfileRecord],
) -> Result<Vec<Classified<S::Segment>>, String> {
    let batch = ProfileColumns::from_records(profiles, S::info().features);
    let classification = classify_columns::<S>(config, &batch)?;
    assert_eq!(
        classification.segments.len(),
        profiles.len(),
        "one segment per customer"
    );
    assert_eq!(
        classification.scores.len(),
        profiles.len(),
        "one score per customer"
    );
    let segments = classification.segments.iter().map(|&index| {
        *S::Segment::ALL
            .get(usize::from(index))
            .unwrap_or_else(|| panic!("segment index {index} is not in the segment set"))
    });
    Ok(segments
        .zip(classification.scores)
        .map(|(segment, score)| Classified::new(segment, score))
        .collect())
}

/// Classifies a ready-made batch natively through the same loop the wasm export
/// runs and returns each customer's segment index: for benchmarks that compare a
/// plugin compiled for the host with the same plugin behind the component
/// boundary.
pub fn classify_batch<S: Segmenter>(
    config: &str,
    batch: &ProfileColumns,
) -> Result<Vec<u16>, String> {
    classify_columns::<S>(config, batch).map(|classification| classification.segments)
}

/// [`classify`] for a single profile, panicking on an error: the usual shape of
/// a rule's boundary test.
pub fn classify_one<S: Segmenter>(config: &str, profile: ProfileRecord) -> Classified<S::Segment> {
    match classify::<S>(config, &[profile]) {
        Ok(mut classified) => classified.remove(0),
        Err(error) => panic!("classify failed: {error}"),
    }
}

/// Runs recommender `R` with slot configuration `config` (JSON, `"{}"` for
/// defaults) as the wasm export does, including cutting the answer to `limit`.
pub fn recommend<R: Recommender>(
    config: &str,
    context: &CustomerContext,
    catalog: &dyn Catalog,
    limit: u32,
) -> Result<Vec<Recommendation>, String> {
    recommend_with::<R>(config, context, catalog, limit)
}

/// An in-memory catalogue for recommender tests.
///
/// Category popularity is the overall popularity of the category's products,
/// so only segment and overall popularity need to be stated.
#[derive(Clone, Debug, Default)]
pub struct FixtureCatalog {
    products: Vec<Product>,
    co_purchased: HashMap<i64, Vec<WeightedProduct>>,
    popular: HashMap<Option<String>, Vec<WeightedProduct>>,
}

impl FixtureCatalog {
    /// An empty catalogue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a product; its SKU is `SKU-<id>` and its price ¥10.
    pub fn product(mut self, id: i64, name: &str, category: &str) -> Self {
        self.products.push(Product {
            id,
            sku: format!("SKU-{id}"),
            name: name.to_owned(),
            category: category.to_owned(),
            price: 10_00,
        });
        self
    }

    /// Records that `a` and `b` were bought together `weight` times (both ways).
    pub fn bought_together(mut self, a: i64, b: i64, weight: f64) -> Self {
        for (from, to) in [(a, b), (b, a)] {
            self.co_purchased
                .entry(from)
                .or_default()
                .push(WeightedProduct {
                    product: to,
                    weight,
                });
        }
        self
    }

    /// Makes `product` popular with `weight` among customers of `segment`, or
    /// among everyone when `segment` is `None`.
    pub fn popular(mut self, segment: Option<&str>, product: i64, weight: f64) -> Self {
        self.popular
            .entry(segment.map(str::to_owned))
            .or_default()
            .push(WeightedProduct { product, weight });
        self
    }
}

impl Catalog for FixtureCatalog {
    fn co_purchased(&self, product: i64, limit: u32) -> Vec<WeightedProduct> {
        strongest(self.co_purchased.get(&product).into_iter().flatten(), limit)
    }

    fn popular_in_segment(&self, segment: Option<&str>, limit: u32) -> Vec<WeightedProduct> {
        strongest(
            self.popular
                .get(&segment.map(str::to_owned))
                .into_iter()
                .flatten(),
            limit,
        )
    }

    fn popular_in_category(&self, category: &str, limit: u32) -> Vec<WeightedProduct> {
        let in_category = |weighted: &&WeightedProduct| {
            self.products
                .iter()
                .any(|product| product.id == weighted.product && product.category == category)
        };
        strongest(
            self.popular
                .get(&None)
                .into_iter()
                .flatten()
                .filter(in_category),
            limit,
        )
    }

    fn products(&self, ids: &[i64]) -> Vec<Product> {
        let known = |id: &i64| {
            self.products
                .iter()
                .find(|product| product.id == *id)
                .cloned()
        };
        ids.iter().filter_map(known).collect()
    }
}

/// Strongest first, ties by product id, at most `limit`: what the host promises.
fn strongest<'a>(
    products: impl Iterator<Item = &'a WeightedProduct>,
    limit: u32,
) -> Vec<WeightedProduct> {
    let mut products: Vec<_> = products.copied().collect();
    products.sort_by(|a, b| {
        b.weight
            .total_cmp(&a.weight)
            .then(a.product.cmp(&b.product))
    });
    products.truncate(limit as usize);
    products
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_plugin::{Kind, TagSegmenter};
    use crate::{PluginInfo, Profile};

    #[test]
    fn classify_runs_prepare_and_rules_over_the_batch() {
        let customers = [
            Profile::builder().spend_365d(yuan(5)).tag("vip").build(),
            Profile::builder()
                .spend_365d(yuan(100))
                .tag("office")
                .build(),
            Profile::builder().spend_365d(yuan(100) - 1).build(),
        ];
        let classified = classify::<TagSegmenter>("{}", &customers).unwrap();
        let segments: Vec<_> = classified
            .iter()
            .map(|classified| classified.segment)
            .collect();
        assert_eq!(segments, [Kind::Vip, Kind::Spender, Kind::Other]);
        assert_eq!(classified[0].key(), "vip");

        let office = classify::<TagSegmenter>(r#"{"vip_tag": "office"}"#, &customers).unwrap();
        assert_eq!(office[1].segment, Kind::Vip);
        let absent = classify::<TagSegmenter>(r#"{"vip_tag": "absent"}"#, &customers).unwrap();
        assert_eq!(absent[0].segment, Kind::Other);
    }

    #[test]
    fn config_and_prepare_errors_reject_the_batch() {
        let error = classify::<TagSegmenter>(r#"{"min_spend": "x"}"#, &[]).unwrap_err();
        assert!(
            error.starts_with("invalid config at `min_spend`"),
            "{error}"
        );
        let error = classify::<TagSegmenter>(r#"{"vip_tag": ""}"#, &[]).unwrap_err();
        assert_eq!(error, "vip_tag must not be empty");
    }

    #[test]
    #[should_panic(expected = "classify failed: invalid config")]
    fn classify_one_panics_with_the_error() {
        classify_one::<TagSegmenter>("nonsense", ProfileRecord::default());
    }

    fn catalog() -> FixtureCatalog {
        FixtureCatalog::new()
            .product(1, "Onesie", "baby")
            .product(2, "Bottle", "baby")
            .product(3, "Yoga mat", "fitness")
            .bought_together(1, 2, 5.0)
            .bought_together(1, 3, 9.0)
            .popular(None, 2, 1.0)
            .popular(None, 3, 4.0)
            .popular(Some("vip"), 1, 2.0)
    }

    #[test]
    fn fixture_catalog_answers_strongest_first_within_the_limit() {
        let catalog = catalog();
        let ids =
            |hits: Vec<WeightedProduct>| hits.iter().map(|hit| hit.product).collect::<Vec<_>>();
        assert_eq!(ids(catalog.co_purchased(1, 10)), [3, 2]);
        assert_eq!(
            ids(catalog.co_purchased(2, 10)),
            [1],
            "bought together is symmetric"
        );
        assert_eq!(ids(catalog.co_purchased(1, 1)), [3]);
        assert_eq!(ids(catalog.popular_in_segment(None, 10)), [3, 2]);
        assert_eq!(ids(catalog.popular_in_segment(Some("vip"), 10)), [1]);
        assert!(catalog.popular_in_segment(Some("new"), 10).is_empty());
        assert_eq!(ids(catalog.popular_in_category("baby", 10)), [2]);
        let names: Vec<_> = catalog
            .products(&[3, 99, 1])
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["Yoga mat", "Onesie"]);
    }

    /// Answers more than asked, to show the SDK enforces `limit`.
    struct Everything;

    impl Recommender for Everything {
        type Config = ();

        fn info() -> PluginInfo {
            PluginInfo {
                name: "everything",
                version: "1",
                description: "All.",
                features: &[],
            }
        }

        fn recommend(
            _config: &(),
            _context: &CustomerContext,
            catalog: &dyn Catalog,
            _limit: u32,
        ) -> Result<Vec<Recommendation>, String> {
            let hits = catalog.popular_in_segment(None, u32::MAX);
            Ok(hits
                .into_iter()
                .map(|hit| Recommendation {
                    product: hit.product,
                    score: hit.weight,
                    reason: "".into(),
                })
                .collect())
        }
    }

    #[test]
    fn recommend_cuts_answers_to_the_limit() {
        let context = CustomerContext::default();
        assert_eq!(
            recommend::<Everything>("{}", &context, &catalog(), 1)
                .unwrap()
                .len(),
            1
        );
        assert!(recommend::<Everything>(r#"{"x": 1}"#, &context, &catalog(), 1).is_err());
    }
}
