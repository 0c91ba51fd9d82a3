//! The GraphQL schema: one module per domain, merged into the roots.

pub mod access;
pub mod analytics;
pub mod campaigns;
pub mod catalog;
pub mod connection;
pub mod customers;
pub mod errors;
pub mod experiments;
pub mod feedback;
pub mod filters;
pub mod ids;
pub mod loaders;
pub mod loyalty;
pub mod messages;
pub mod node;
pub mod orders;
pub mod pages;
pub mod plugins;
pub mod prefetch;
pub mod referrals;
pub mod rules;
pub mod segments;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

use crate::auth::policy::Policy;
use crate::config::Settings;

#[derive(MergedObject, Default)]
pub struct QueryRoot(
    node::NodeQuery,
    customers::CustomerQuery,
    catalog::ProductQuery,
    orders::OrderQuery,
    campaigns::CampaignQuery,
    messages::MessageQuery,
    feedback::FeedbackQuery,
    plugins::PluginQuery,
    segments::SegmentQuery,
    experiments::ExperimentQuery,
    analytics::AnalyticsQuery,
    access::AccessQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(
    customers::CustomerMutation,
    catalog::ProductMutation,
    orders::OrderMutation,
    loyalty::LoyaltyMutation,
    campaigns::CampaignMutation,
    referrals::ReferralMutation,
    messages::MessageMutation,
    feedback::FeedbackMutation,
    plugins::PluginMutation,
    rules::RulesMutation,
    segments::SegmentMutation,
    experiments::ExperimentMutation,
    analytics::AnalyticsMutation,
    access::AccessMutation,
);

#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(orders::OrderSubscription);

pub type RetainSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The schema with its limits and access policy; the caller adds the shared data.
pub fn schema_builder(
    settings: &Settings,
) -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    let limits = &settings.limits;
    let builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .extension(Policy)
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity)
    .limit_recursive_depth(32);
    if settings.introspection {
        builder
    } else {
        builder.disable_introspection()
    }
}

/// The schema in SDL, as exported to `schema/graphql/schema.graphql`.
pub fn sdl() -> String {
    schema_builder(&Settings::default()).finish().sdl()
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
