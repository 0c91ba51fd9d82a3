//! Segments and recommendations in GraphQL: customers' segments per slot, their
//! history, the segments of a slot with their customers, segmentation runs, and
//! recommended products.

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use retain_schema::{RunStatus, segment_change, segment_run};

use crate::app::app_context;
use crate::graphql::catalog::Product;
use crate::graphql::connection::Conn;
use crate::graphql::customers::{Customer, CustomerOrder, SegmentFilter};
use crate::graphql::errors::GqlResultExt;
use crate::graphql::loaders::loaders;
use crate::graphql::pages::{PageArgs, list_connection};
use crate::graphql::plugins::Plugin;
use crate::plugins::slots::Binding;
use crate::services::recommendations::Recommended;
use crate::services::segmentation;
use retain_schema::plugin::SegmentInfo;

/// A customer's place in one slot's segmentation.
#[derive(SimpleObject)]
pub struct CustomerSegment {
    pub slot: String,
    /// The segment key, e.g. `core-loyal`.
    pub key: String,
    pub label: String,
    /// The plugin's score, e.g. churn risk 0–1.
    pub score: f64,
}

impl CustomerSegment {
    pub async fn load(ctx: &Context<'_>, slot: &str, customer_id: i64) -> Result<Option<Self>> {
        let membership = loaders(ctx)
            .segments
            .load_one((slot.to_owned(), customer_id))
            .await
            .gql()?;
        Ok(membership.map(|m| Self {
            slot: slot.to_owned(),
            label: segment_label(ctx, slot, &m.segment),
            key: m.segment,
            score: m.score,
        }))
    }
}

/// The label the slot's plugins give `key` — the active version's, else an
/// experiment variant's — or the key itself.
pub(crate) fn segment_label(ctx: &Context<'_>, slot: &str, key: &str) -> String {
    app_context(ctx)
        .slots
        .binding(slot)
        .and_then(|b| {
            declared_segments(&b)
                .into_iter()
                .find(|s| s.key == key)
                .map(|s| s.label.clone())
        })
        .unwrap_or_else(|| key.to_owned())
}

/// The segments a slot may hold: the active version's, then those only an
/// experiment variant declares (its enrolled customers can be in them).
fn declared_segments(binding: &Binding) -> Vec<&SegmentInfo> {
    let mut segments: Vec<&SegmentInfo> = binding.active.plugin.info.segments.iter().collect();
    let variants = binding.experiment.iter().flat_map(|e| &e.variants);
    for segment in variants.flat_map(|v| &v.plugin.info.segments) {
        if !segments.iter().any(|s| s.key == segment.key) {
            segments.push(segment);
        }
    }
    segments
}

/// A customer entering or leaving a segment.
pub struct SegmentChange(pub segment_change::Model);

#[Object]
impl SegmentChange {
    async fn slot(&self) -> &str {
        &self.0.slot
    }
    /// The segment left; null when the customer had none.
    async fn from(&self) -> Option<&str> {
        self.0.from_segment.as_deref()
    }
    /// The segment entered; null when the customer left the slot's segmentation.
    async fn to(&self) -> Option<&str> {
        self.0.to_segment.as_deref()
    }
    async fn changed_at(&self) -> DateTime<Utc> {
        self.0.changed_at
    }
    /// True when an order or interaction moved the customer, false for a run.
    async fn real_time(&self) -> bool {
        self.0.run_id.is_none()
    }
}

/// A recommended product.
pub struct Recommendation(pub Recommended);

#[Object]
impl Recommendation {
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
        Ok(loaders(ctx)
            .products
            .load_one(self.0.product_id)
            .await
            .gql()?
            .map(Product))
    }
    async fn score(&self) -> f64 {
        self.0.score
    }
    /// Why, in words a customer can be shown.
    async fn reason(&self) -> &str {
        &self.0.reason
    }
}

/// One classification of every customer with a slot's plugin.
pub struct SegmentRun(pub segment_run::Model);

#[Object]
impl SegmentRun {
    async fn slot(&self) -> &str {
        &self.0.slot
    }
    async fn plugin(&self, ctx: &Context<'_>) -> Result<Plugin> {
        Plugin::load(ctx, self.0.plugin_id).await
    }
    async fn status(&self) -> RunStatus {
        self.0.status
    }
    async fn customers(&self) -> i64 {
        self.0.customers
    }
    /// Customers whose segment differs from the previous run.
    async fn changed(&self) -> i64 {
        self.0.changed
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
}

/// A segment of a slot, with its customers in the latest run.
pub struct Segment {
    pub slot: String,
    pub key: String,
    pub label: String,
    pub description: String,
    pub customer_count: i64,
}

#[Object]
impl Segment {
    async fn slot(&self) -> &str {
        &self.slot
    }
    async fn key(&self) -> &str {
        &self.key
    }
    async fn label(&self) -> &str {
        &self.label
    }
    async fn description(&self) -> &str {
        &self.description
    }
    async fn customer_count(&self) -> i64 {
        self.customer_count
    }
    /// The segment's customers, by id.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(0) as usize * child_complexity + 1")]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Customer>> {
        let condition = SegmentFilter {
            slot: self.slot.clone(),
            in_: vec![self.key.clone()],
        }
        .condition();
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        list_connection(
            ctx,
            condition,
            CustomerOrder::default().sort_key(),
            args,
            Customer,
        )
        .await
    }
}

/// The segments `slot`'s active plugin declares, with their sizes.
async fn segments_of_slot(ctx: &Context<'_>, slot: &str) -> Result<Vec<Segment>> {
    let app = app_context(ctx);
    let binding = app
        .slots
        .binding(slot)
        .ok_or_else(|| crate::error::ServiceError::not_found("slot", slot))
        .gql()?;
    let counts = segmentation::segment_counts(&app.db, slot).await.gql()?;
    Ok(declared_segments(&binding)
        .into_iter()
        .map(|s| Segment {
            slot: slot.to_owned(),
            key: s.key.clone(),
            label: s.label.clone(),
            description: s.description.clone(),
            customer_count: counts.get(&s.key).copied().unwrap_or(0),
        })
        .collect())
}

#[derive(Default)]
pub struct SegmentQuery;

#[Object]
impl SegmentQuery {
    /// The segments of `slot` with their sizes in the latest run.
    async fn segments(&self, ctx: &Context<'_>, slot: String) -> Result<Vec<Segment>> {
        segments_of_slot(ctx, &slot).await
    }

    /// One segment of `slot`, to list its customers.
    async fn segment(
        &self,
        ctx: &Context<'_>,
        slot: String,
        key: String,
    ) -> Result<Option<Segment>> {
        Ok(segments_of_slot(ctx, &slot)
            .await?
            .into_iter()
            .find(|s| s.key == key))
    }
}

#[derive(Default)]
pub struct SegmentMutation;

#[Object]
impl SegmentMutation {
    /// Classifies every customer with the slot's active plugin and makes the
    /// result visible at once. Answers when the run is complete.
    async fn run_segmentation(&self, ctx: &Context<'_>, slot: String) -> Result<SegmentRun> {
        let app = app_context(ctx);
        segmentation::run(app, &slot, &|_, _| {})
            .await
            .gql()
            .map(SegmentRun)
    }
}
