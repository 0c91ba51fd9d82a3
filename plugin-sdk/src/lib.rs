//! Write Retain strategy plugins in Rust.
//!
//! A plugin is a WebAssembly component implementing one world of the
//! `retain:strategy@1.0.0` WIT package: a **segmenter** puts every customer of a
//! batch into one of its segments with a score, a **recommender** suggests
//! products for one customer. With this SDK a plugin is a plain Rust type
//! implementing [`Segmenter`] or [`Recommender`], one export macro, and ordinary
//! `cargo test` tests; the SDK does the component-model glue, decodes the
//! columnar batches the host sends and parses the slot's JSON configuration.
//!
//! # A segmenter, start to finish
//!
//! `Cargo.toml` of the plugin crate:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib", "rlib"]   # cdylib for wasm, rlib for `cargo test`
//!
//! [dependencies]
//! retain-plugin-sdk = "0.1"
//! serde = { version = "1", features = ["derive"] }
//! ```
//!
//! `src/lib.rs`:
//!
//! ```
//! use retain_plugin_sdk::score::fraction;
//! use retain_plugin_sdk::{Classified, Feature, Money, PluginInfo, Profile, Segmenter};
//! use serde::Deserialize;
//!
//! retain_plugin_sdk::segments! {
//!     /// How valuable a customer is.
//!     pub enum Value {
//!         High("high-value", "High value", "Spent at least `high_spend` in the last year."),
//!         Regular("regular", "Regular", "Ordered in the last year, below `high_spend`."),
//!         Lapsed("lapsed", "Lapsed", "No paid order in the last year."),
//!     }
//! }
//!
//! /// The slot's configuration. `{}` gives the defaults; so does any field left out.
//! #[derive(Debug, Deserialize)]
//! #[serde(default, deny_unknown_fields)]
//! pub struct Config {
//!     /// Yearly spend that makes a customer high value, in yuan. Default ¥5000.
//!     pub high_spend: Money,
//! }
//!
//! impl Default for Config {
//!     fn default() -> Self {
//!         Self { high_spend: Money::major(5000) }
//!     }
//! }
//!
//! /// Splits customers by yearly spend.
//! pub struct ValueTiers;
//!
//! impl Segmenter for ValueTiers {
//!     type Config = Config;
//!     type Segment = Value;
//!
//!     fn info() -> PluginInfo {
//!         PluginInfo {
//!             name: "value-tiers",
//!             version: env!("CARGO_PKG_VERSION"),
//!             description: "High value, regular or lapsed, by yearly spend.",
//!             // The host fills only these columns.
//!             features: &[Feature::Orders365d, Feature::Spend365d],
//!         }
//!     }
//!
//!     #[inline] // into the SDK's batch loop; see `Segmenter::classify`
//!     fn classify(config: &Config, profile: &Profile<'_>) -> Classified<Value> {
//!         let high = config.high_spend.minor_units();
//!         let segment = match profile.orders_365d() {
//!             0 => Value::Lapsed,
//!             _ if profile.spend_365d() >= high => Value::High,
//!             _ => Value::Regular,
//!         };
//!         // Score: yearly spend as a share of the high-value threshold.
//!         Classified::new(segment, fraction(profile.spend_365d() as f64, high as f64))
//!     }
//! }
//!
//! retain_plugin_sdk::export_segmenter!(ValueTiers);
//!
//! // Tests (in `#[cfg(test)] mod tests`): boundaries through the real batch path.
//! use retain_plugin_sdk::testing::{classify, classify_one};
//!
//! let customer = |spend| Profile::builder().orders_365d(2).spend_365d(spend).build();
//! assert_eq!(classify_one::<ValueTiers>("{}", customer(4999_99)).segment, Value::Regular);
//! assert_eq!(classify_one::<ValueTiers>("{}", customer(5000_00)).segment, Value::High);
//! assert_eq!(classify_one::<ValueTiers>("{}", customer(2500_00)).score, 0.5);
//!
//! // Configuration is JSON in major units; mistakes name the field.
//! let raised = classify_one::<ValueTiers>(r#"{"high_spend": 8000}"#, customer(5000_00));
//! assert_eq!(raised.key(), "regular");
//! let error = classify::<ValueTiers>(r#"{"high_spend": "lots"}"#, &[]).unwrap_err();
//! assert!(error.contains("`high_spend`"));
//! ```
//!
//! Then `cargo test`, and `cargo build --release --target wasm32-unknown-unknown`
//! gives `target/wasm32-unknown-unknown/release/<crate>.wasm`, which
//! `retain plugin publish` accepts as is (the gateway turns the core module into
//! a component) — see the SDK's README for the whole workflow.
//!
//! # What the SDK does per batch
//!
//! [`Segmenter::classify`] sees one customer at a time through [`Profile`], a
//! view into the batch's columns: no allocation and no string comparison per
//! customer. Once per batch the SDK parses the config, checks the batch's shape
//! (every declared column has `len` entries, tag offsets are `len + 1` and never
//! decrease) and calls [`Segmenter::prepare`]; a bad config or batch becomes the
//! call's error string, never a trap. Segments are a [`SegmentSet`] enum, so a
//! rule's answer is already the index the host stores.
//!
//! Configuration conventions: derive `Deserialize` with `#[serde(default,
//! deny_unknown_fields)]`, write money as [`Money`] (major units in JSON), and
//! document every default.
//!
//! # Recommenders
//!
//! A [`Recommender`] gets the customer's [`CustomerContext`] and a [`Catalog`]:
//! the host's catalogue inside wasm, a [`testing::FixtureCatalog`] in tests.
//!
//! ```
//! use retain_plugin_sdk::{
//!     Catalog, CustomerContext, PluginInfo, Recommendation, Recommender, testing,
//! };
//!
//! /// Recommends what everyone buys.
//! pub struct Bestsellers;
//!
//! impl Recommender for Bestsellers {
//!     type Config = ();
//!
//!     fn info() -> PluginInfo {
//!         PluginInfo {
//!             name: "bestsellers",
//!             version: "1.0.0",
//!             description: "The most popular products overall.",
//!             features: &[],
//!         }
//!     }
//!
//!     fn recommend(
//!         _config: &(),
//!         _context: &CustomerContext,
//!         catalog: &dyn Catalog,
//!         limit: u32,
//!     ) -> Result<Vec<Recommendation>, String> {
//!         let popular = catalog.popular_in_segment(None, limit);
//!         Ok(popular
//!             .into_iter()
//!             .map(|hit| Recommendation {
//!                 product: hit.product,
//!                 score: hit.weight,
//!                 reason: "popular right now".into(),
//!             })
//!             .collect())
//!     }
//! }
//!
//! retain_plugin_sdk::export_recommender!(Bestsellers);
//!
//! let catalog = testing::FixtureCatalog::new().popular(None, 7, 12.0);
//! let picks = testing::recommend::<Bestsellers>("{}", &CustomerContext::default(), &catalog, 5);
//! assert_eq!(picks.unwrap()[0].product, 7);
//! ```
//!
//! # Logging
//!
//! [`log`] sends a line to the host, which keeps the first few of each call.
//! Plugins have no other way out: no files, network, clock or environment.
#![deny(missing_docs)]

mod bindings;
mod columns;
mod config;
mod export;
mod info;
pub mod log;
mod money;
mod profile;
mod recommender;
pub mod score;
mod segmenter;
#[cfg(test)]
mod test_plugin;
pub mod testing;

pub use columns::{NEVER, ProfileColumns, ProfileRecord};
pub use info::{Feature, PluginInfo};
pub use money::Money;
pub use profile::{Profile, Profiles, TagCode, TagTable};
pub use recommender::{
    Catalog, CustomerContext, Product, Purchase, Recommendation, Recommender, WeightedProduct,
};
pub use segmenter::{Classified, SegmentInfo, SegmentSet, Segmenter};

/// What the export macros expand to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings::{recommender, segmenter};
    pub use crate::export::{RecommenderExport, SegmenterExport};
}
