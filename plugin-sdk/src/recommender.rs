//! Recommenders: products for one customer, from catalogue facts the host exposes.
//!
//! The records here have exactly the fields of their WIT counterparts, so they
//! cross the boundary without conversion.

use std::collections::HashSet;

use serde::de::DeserializeOwned;

use crate::{PluginInfo, config};

/// A product as the catalogue knows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Product {
    /// Product id.
    pub id: i64,
    /// Stock-keeping unit.
    pub sku: String,
    /// Display name, e.g. for reasons shown to marketers.
    pub name: String,
    /// Category name.
    pub category: String,
    /// Price in minor units.
    pub price: i64,
}

/// A product id with a weight: a co-purchase count or a popularity.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WeightedProduct {
    /// Product id.
    pub product: i64,
    /// Larger is stronger; comparable only within one answer.
    pub weight: f64,
}

/// A line of a recent purchase.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Purchase {
    /// Product id.
    pub product: i64,
    /// Units bought.
    pub quantity: u32,
    /// How long ago, in days.
    pub days_ago: u32,
}

/// What a recommender knows about the customer it recommends for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerContext {
    /// Customer id.
    pub customer: i64,
    /// The customer's segment key in the slot the host uses as context (e.g. `tier`).
    pub segment: Option<String>,
    /// Interest tags.
    pub tags: Vec<String>,
    /// Paid orders ever.
    pub lifetime_orders: u32,
    /// Spend ever, in minor units.
    pub lifetime_spend: i64,
    /// Recent purchases, newest first.
    pub purchases: Vec<Purchase>,
}

impl CustomerContext {
    /// Products in [`purchases`](Self::purchases), which recommenders usually exclude.
    pub fn purchased_products(&self) -> HashSet<i64> {
        self.purchases
            .iter()
            .map(|purchase| purchase.product)
            .collect()
    }
}

/// One recommended product.
#[derive(Clone, Debug, PartialEq)]
pub struct Recommendation {
    /// Product id.
    pub product: i64,
    /// Larger is better; recommendations are returned best first.
    pub score: f64,
    /// Why, in words a marketer can show: `bought together with …`.
    pub reason: String,
}

/// Catalogue facts a recommender may ask for.
///
/// Inside wasm the SDK implements it over the host's `catalog` import; native
/// tests use [`testing::FixtureCatalog`](crate::testing::FixtureCatalog).
pub trait Catalog {
    /// Products most often bought together with `product`, strongest first.
    fn co_purchased(&self, product: i64, limit: u32) -> Vec<WeightedProduct>;

    /// Recency-weighted popular products among customers of `segment`, or among
    /// everyone when `segment` is `None`.
    fn popular_in_segment(&self, segment: Option<&str>, limit: u32) -> Vec<WeightedProduct>;

    /// Recency-weighted popular products in `category`.
    fn popular_in_category(&self, category: &str, limit: u32) -> Vec<WeightedProduct>;

    /// Details of products; unknown ids are left out.
    fn products(&self, ids: &[i64]) -> Vec<Product>;
}

/// A recommendation strategy for one customer at a time.
///
/// Export it with [`export_recommender!`](crate::export_recommender!); test it
/// natively with [`testing::recommend`](crate::testing::recommend).
pub trait Recommender {
    /// The slot's configuration, parsed from JSON on every call; `{}` gives `Default`.
    type Config: DeserializeOwned + Default;

    /// Name, version and description.
    fn info() -> PluginInfo;

    /// Up to `limit` recommendations for `context`'s customer, best first.
    /// Longer answers are cut to `limit`.
    fn recommend(
        config: &Self::Config,
        context: &CustomerContext,
        catalog: &dyn Catalog,
        limit: u32,
    ) -> Result<Vec<Recommendation>, String>;
}

/// The call path shared by the wasm export and the native harness.
pub(crate) fn recommend_with<R: Recommender>(
    config: &str,
    context: &CustomerContext,
    catalog: &dyn Catalog,
    limit: u32,
) -> Result<Vec<Recommendation>, String> {
    let config = config::parse::<R::Config>(config)?;
    let mut recommendations = R::recommend(&config, context, catalog, limit)?;
    recommendations.truncate(limit as usize);
    Ok(recommendations)
}
