//! Rule files in GraphQL: publish one as a plugin version, or preview what it
//! would do to a slot. Both compile the rules in process.

use async_graphql::{Context, Object, Result};

use crate::app::{app_context, caller};
use crate::graphql::errors::GqlResultExt;
use crate::graphql::experiments::ShadowComparison;
use crate::graphql::plugins::{Plugin, PublishPluginPayload};
use crate::services::rules;

#[derive(Default)]
pub struct RulesMutation;

#[Object]
impl RulesMutation {
    /// Compiles a rule file (see `docs/rules.md`) into a segmenter and publishes
    /// it as an ordinary plugin version for `slot`, which must serve segmenters.
    /// Nothing is activated. A file with errors is refused with `BAD_USER_INPUT`
    /// and every error's `line`, `column`, `message` and `hint` in
    /// `extensions.errors`.
    async fn publish_rules(
        &self,
        ctx: &Context<'_>,
        slot: String,
        source: String,
    ) -> Result<PublishPluginPayload> {
        let published = rules::publish(app_context(ctx), &slot, &source, caller(ctx)?)
            .await
            .gql()?;
        Ok(PublishPluginPayload {
            plugin: Plugin(published.plugin),
            already_published: published.already_published,
        })
    }

    /// Classifies every customer with `slot`'s serving version and with the
    /// rules, unpublished: the segment distribution of both and where customers
    /// would move. Nothing is stored.
    async fn preview_rules(
        &self,
        ctx: &Context<'_>,
        slot: String,
        source: String,
    ) -> Result<ShadowComparison> {
        rules::preview(app_context(ctx), &slot, &source, &|_, _| {})
            .await
            .gql()
            .map(ShadowComparison::from)
    }
}
