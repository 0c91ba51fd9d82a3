//! The GraphQL schema: one module per domain, merged into the roots.

pub mod campaigns;
pub mod catalog;
pub mod connection;
pub mod customers;
pub mod errors;
pub mod feedback;
pub mod filters;
pub mod ids;
pub mod loaders;
pub mod node;
pub mod orders;
pub mod pages;
pub mod plugins;
pub mod prefetch;
pub mod segments;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

use crate::config::Limits;

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    node::NodeQuery,
    customers::CustomerQuery,
    catalog::ProductQuery,
    orders::OrderQuery,
    campaigns::CampaignQuery,
    feedback::FeedbackQuery,
    plugins::PluginQuery,
    segments::SegmentQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    customers::CustomerMutation,
    catalog::ProductMutation,
    orders::OrderMutation,
    campaigns::CampaignMutation,
    feedback::FeedbackMutation,
    plugins::PluginMutation,
    segments::SegmentMutation,
);

#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(orders::OrderSubscription);

pub type RetainSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The schema with its limits; the caller adds the shared data.
pub fn schema_builder(limits: &Limits) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .limit_recursive_depth(32)
}

/// The schema in SDL, as exported to `schema/graphql/schema.graphql`.
pub fn sdl() -> String {
    schema_builder(&Limits::default()).finish().sdl()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// The exported SDL is the contract frontends code against: fail when it is stale.
    /// `RETAIN_UPDATE_SCHEMA=1 cargo test -p retain-gateway sdl` rewrites it.
    #[test]
    fn exported_sdl_is_current() {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/graphql/schema.graphql");
        let current = super::sdl();
        if std::env::var_os("RETAIN_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &current).expect("writing the SDL");
        }
        let exported = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            exported == current,
            "schema/graphql/schema.graphql is stale: run RETAIN_UPDATE_SCHEMA=1 cargo test -p retain-gateway sdl"
        );
    }
}
