//! Experiments and shadow comparisons in GraphQL: A/B experiments between plugin
//! versions on a slot with their results, and the side-by-side classification
//! of a candidate version before any traffic moves.

use async_graphql::{Context, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use retain_schema::{ExperimentMetric, ExperimentStatus, experiment_variant};

use crate::app::{app_context, caller};
use crate::graphql::errors::GqlResultExt;
use crate::graphql::plugins::{Plugin, Slot, resegment_in_background};
use crate::services::experiments::stats::{self, Unavailable};
use crate::services::experiments::{
    self, Experiment as StoredExperiment, ExperimentInput, ExperimentPatch, results,
};
use crate::services::shadow::{self, ShadowReport};

/// An A/B experiment on a slot.
pub struct Experiment(pub StoredExperiment);

#[Object]
impl Experiment {
    async fn key(&self) -> &str {
        &self.0.row.key
    }
    async fn name(&self) -> &str {
        &self.0.row.name
    }
    async fn description(&self) -> &str {
        &self.0.row.description
    }
    /// The slot whose plugin the variants replace for enrolled customers.
    async fn slot(&self) -> &str {
        &self.0.row.slot
    }
    async fn status(&self) -> ExperimentStatus {
        self.0.row.status
    }
    async fn metric(&self) -> ExperimentMetric {
        self.0.row.metric
    }
    /// Share of customers enrolled.
    async fn coverage(&self) -> f64 {
        self.0.row.coverage
    }
    async fn conversion_window_days(&self) -> i32 {
        self.0.row.conversion_window_days
    }
    /// The hash seed (GrowthBook hashing version 2 over the customer's
    /// `externalId`).
    async fn seed(&self) -> &str {
        &self.0.row.seed
    }
    /// Raised by `reassign`; results count the exposures of this version.
    async fn bucket_version(&self) -> i32 {
        self.0.row.bucket_version
    }
    /// The variant the experiment was concluded with.
    async fn winner(&self) -> Option<&str> {
        self.0.row.winner.as_deref()
    }
    async fn created_by(&self) -> &str {
        &self.0.row.created_by
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.row.created_at
    }
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.row.started_at
    }
    async fn stopped_at(&self) -> Option<DateTime<Utc>> {
        self.0.row.stopped_at
    }
    async fn concluded_at(&self) -> Option<DateTime<Utc>> {
        self.0.row.concluded_at
    }
    /// Control first.
    async fn variants(&self) -> Vec<ExperimentVariant> {
        self.0
            .variants
            .iter()
            .cloned()
            .map(ExperimentVariant)
            .collect()
    }
    /// What each variant's exposed customers did in their conversion window,
    /// compared with the control.
    async fn results(&self, ctx: &Context<'_>) -> Result<ExperimentResults> {
        let app = app_context(ctx);
        let computed = results::results(&app.db, &self.0).await.gql()?;
        Ok(ExperimentResults::new(computed, &app.settings.currency))
    }
}

/// One arm of an experiment.
pub struct ExperimentVariant(pub experiment_variant::Model);

#[Object]
impl ExperimentVariant {
    async fn key(&self) -> &str {
        &self.0.key
    }
    /// 0 for the control.
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn plugin(&self, ctx: &Context<'_>) -> Result<Plugin> {
        Plugin::load(ctx, self.0.plugin_id).await
    }
    async fn config(&self) -> Json<serde_json::Value> {
        Json(self.0.config.clone())
    }
    async fn weight(&self) -> f64 {
        self.0.weight
    }
}

/// A figure that may not be computable yet, with the reason when it is not.
#[derive(SimpleObject)]
pub struct Uplift {
    /// `variant / control − 1`; null when it cannot be computed.
    pub relative: Option<f64>,
    /// The 95% confidence interval of `relative`.
    pub relative_low: Option<f64>,
    pub relative_high: Option<f64>,
    /// `variant − control` (a rate, or minor units per customer).
    pub difference: Option<f64>,
    pub p_value: Option<f64>,
    /// `pValue < 0.05`.
    pub significant: bool,
    /// Gaussian approximation of the probability that the variant's true value
    /// beats the control's.
    pub chance_to_beat_control: Option<f64>,
    /// Why the figures are missing, when they are.
    pub unavailable: Option<String>,
}

impl Uplift {
    fn new(comparison: &std::result::Result<stats::MetricComparison, Unavailable>) -> Self {
        match comparison {
            Ok(c) => {
                let relative = c.relative.as_ref().ok();
                Self {
                    relative: relative.map(|r| r.value),
                    relative_low: relative.map(|r| r.interval.low),
                    relative_high: relative.map(|r| r.interval.high),
                    difference: Some(c.difference.value),
                    p_value: Some(c.p_value),
                    significant: c.significant,
                    chance_to_beat_control: Some(c.chance_to_beat_control),
                    unavailable: c.relative.as_ref().err().map(|u| u.reason().to_owned()),
                }
            }
            Err(why) => Self {
                relative: None,
                relative_low: None,
                relative_high: None,
                difference: None,
                p_value: None,
                significant: false,
                chance_to_beat_control: None,
                unavailable: Some(why.reason().to_owned()),
            },
        }
    }
}

/// One variant's outcome.
#[derive(SimpleObject)]
pub struct VariantResult {
    pub key: String,
    pub exposed: u64,
    /// Exposed customers who met the metric (bought; for `REPURCHASE`, bought
    /// at least their second order).
    pub converters: u64,
    pub conversion_rate: Option<f64>,
    /// Paid orders in the windows.
    pub orders: u64,
    pub revenue: crate::graphql::connection::Money,
    /// Mean revenue per exposed customer, in minor units.
    pub revenue_per_customer: Option<f64>,
    /// Mean order value, in minor units.
    pub mean_order_value: Option<f64>,
    /// Against the control; null for the control itself.
    pub conversion_uplift: Option<Uplift>,
    /// Revenue per exposed customer against the control (Welch's t-test).
    pub revenue_uplift: Option<Uplift>,
}

/// The sample-ratio-mismatch check.
#[derive(SimpleObject)]
pub struct SampleRatioCheck {
    pub chi_square: Option<f64>,
    pub p_value: Option<f64>,
    /// Exposures are off the configured weights (p < 0.001): assignment or
    /// logging is broken and the other figures are suspect.
    pub mismatch: bool,
    pub unavailable: Option<String>,
}

/// An experiment's results.
#[derive(SimpleObject)]
pub struct ExperimentResults {
    pub metric: ExperimentMetric,
    /// Control first.
    pub variants: Vec<VariantResult>,
    pub sample_ratio: SampleRatioCheck,
}

impl ExperimentResults {
    fn new(computed: results::Results, currency: &str) -> Self {
        let comparison = |index: usize| {
            computed
                .analysis
                .comparisons
                .iter()
                .find(|c| c.variant == index)
        };
        let variants = computed
            .outcomes
            .iter()
            .enumerate()
            .map(|(index, outcome)| {
                let summary = computed.analysis.variants.get(index);
                VariantResult {
                    key: outcome.key.clone(),
                    exposed: outcome.exposed,
                    converters: outcome.converters,
                    conversion_rate: summary.and_then(|s| s.conversion_rate.ok()),
                    orders: outcome.orders,
                    revenue: crate::graphql::connection::Money::new(
                        outcome.revenue_minor,
                        currency,
                    ),
                    revenue_per_customer: summary.and_then(|s| s.revenue_per_customer.ok()),
                    mean_order_value: outcome.mean_order_value(),
                    conversion_uplift: comparison(index).map(|c| Uplift::new(&c.conversion)),
                    revenue_uplift: comparison(index).map(|c| Uplift::new(&c.revenue)),
                }
            })
            .collect();
        let sample_ratio = match &computed.analysis.sample_ratio {
            Ok(srm) => SampleRatioCheck {
                chi_square: Some(srm.statistic),
                p_value: Some(srm.p_value),
                mismatch: srm.mismatch,
                unavailable: None,
            },
            Err(why) => SampleRatioCheck {
                chi_square: None,
                p_value: None,
                mismatch: false,
                unavailable: Some(why.reason().to_owned()),
            },
        };
        Self {
            metric: computed.metric,
            variants,
            sample_ratio,
        }
    }
}

/// Customers one version puts in `from` and the other in `to`.
#[derive(SimpleObject)]
pub struct SegmentTransition {
    pub from: String,
    pub to: String,
    pub customers: u64,
}

/// How many customers a version puts in a segment.
#[derive(SimpleObject)]
pub struct SegmentTally {
    pub segment: String,
    pub customers: u64,
}

/// Two versions of a slot side by side on every customer.
#[derive(SimpleObject)]
pub struct ShadowComparison {
    pub slot: String,
    /// `name@version` serving the slot now.
    pub active: String,
    pub candidate: String,
    pub customers: u64,
    /// Share of customers both versions put in the same segment.
    pub agreement: f64,
    /// Every (today, candidate) pair with customers, the largest first.
    pub transitions: Vec<SegmentTransition>,
    pub active_segments: Vec<SegmentTally>,
    pub candidate_segments: Vec<SegmentTally>,
}

impl From<ShadowReport> for ShadowComparison {
    fn from(report: ShadowReport) -> Self {
        let tally = |counts: Vec<shadow::SegmentCount>| {
            counts
                .into_iter()
                .map(|c| SegmentTally {
                    segment: c.segment,
                    customers: c.customers,
                })
                .collect()
        };
        Self {
            agreement: report.agreement(),
            slot: report.slot,
            active: report.active,
            candidate: report.candidate,
            customers: report.customers,
            transitions: report
                .transitions
                .into_iter()
                .map(|t| SegmentTransition {
                    from: t.from,
                    to: t.to,
                    customers: t.customers,
                })
                .collect(),
            active_segments: tally(report.active_segments),
            candidate_segments: tally(report.candidate_segments),
        }
    }
}

#[derive(Default)]
pub struct ExperimentQuery;

#[Object]
impl ExperimentQuery {
    /// Experiments, newest first.
    async fn experiments(
        &self,
        ctx: &Context<'_>,
        slot: Option<String>,
        status: Option<ExperimentStatus>,
    ) -> Result<Vec<Experiment>> {
        let db = &app_context(ctx).db;
        Ok(experiments::list(db, slot.as_deref(), status)
            .await
            .gql()?
            .into_iter()
            .map(Experiment)
            .collect())
    }

    async fn experiment(&self, ctx: &Context<'_>, key: String) -> Result<Option<Experiment>> {
        let db = &app_context(ctx).db;
        match experiments::find(db, &key).await {
            Ok(found) => Ok(Some(Experiment(found))),
            Err(crate::error::ServiceError::NotFound { .. }) => Ok(None),
            Err(other) => Err(other).gql(),
        }
    }
}

/// What concluding did: the experiment, and the slot if the winner was
/// activated on it.
#[derive(SimpleObject)]
pub struct ConcludeExperimentPayload {
    pub experiment: Experiment,
    /// Null when the winner was already what the slot serves.
    pub slot: Option<Slot>,
}

#[derive(Default)]
pub struct ExperimentMutation;

#[Object]
impl ExperimentMutation {
    /// Validates and stores a draft experiment; nothing is served until it is
    /// started.
    async fn create_experiment(
        &self,
        ctx: &Context<'_>,
        input: ExperimentInput,
    ) -> Result<Experiment> {
        let app = app_context(ctx);
        experiments::create(&app.slots, input, caller(ctx)?, Utc::now())
            .await
            .gql()
            .map(Experiment)
    }

    /// Changes a draft freely, a running experiment's weights and coverage, a
    /// finished one's name and description.
    async fn update_experiment(
        &self,
        ctx: &Context<'_>,
        key: String,
        changes: ExperimentPatch,
        #[graphql(default = true)] resegment: bool,
    ) -> Result<Experiment> {
        let app = app_context(ctx);
        let updated = experiments::update(&app.slots, &key, changes, caller(ctx)?, Utc::now())
            .await
            .gql()?;
        if resegment && updated.row.status == ExperimentStatus::Running {
            resegment_slot(ctx, &updated.row.slot);
        }
        Ok(Experiment(updated))
    }

    /// Starts serving the variants to the customers the experiment enrols, on
    /// every replica. With `resegment`, a segmenter slot is re-segmented in the
    /// background, so stored segments follow the variants.
    async fn start_experiment(
        &self,
        ctx: &Context<'_>,
        key: String,
        #[graphql(default = true)] resegment: bool,
    ) -> Result<Experiment> {
        let app = app_context(ctx);
        let started = experiments::start(&app.slots, &key, caller(ctx)?, Utc::now())
            .await
            .gql()?;
        if resegment {
            resegment_slot(ctx, &started.row.slot);
        }
        Ok(Experiment(started))
    }

    /// Stops serving the variants; results stay readable. `resegment` as for
    /// `startExperiment`.
    async fn stop_experiment(
        &self,
        ctx: &Context<'_>,
        key: String,
        #[graphql(default = true)] resegment: bool,
    ) -> Result<Experiment> {
        let app = app_context(ctx);
        let stopped = experiments::stop(&app.slots, &key, caller(ctx)?, Utc::now())
            .await
            .gql()?;
        if resegment {
            resegment_slot(ctx, &stopped.row.slot);
        }
        Ok(Experiment(stopped))
    }

    /// Ends the experiment with `winner` (a variant key) and activates the
    /// winner's version on the slot.
    async fn conclude_experiment(
        &self,
        ctx: &Context<'_>,
        key: String,
        winner: String,
        #[graphql(default = true)] resegment: bool,
    ) -> Result<ConcludeExperimentPayload> {
        let app = app_context(ctx);
        let (concluded, bound) =
            experiments::conclude(&app.slots, &key, &winner, caller(ctx)?, Utc::now())
                .await
                .gql()?;
        if resegment {
            resegment_slot(ctx, &concluded.row.slot);
        }
        Ok(ConcludeExperimentPayload {
            experiment: Experiment(concluded),
            slot: bound.map(Slot),
        })
    }

    /// Classifies every customer with the slot's active version and with
    /// `candidate`, and reports how they compare. Changes nothing.
    async fn shadow_compare(
        &self,
        ctx: &Context<'_>,
        slot: String,
        candidate: String,
        config: Option<Json<serde_json::Value>>,
    ) -> Result<ShadowComparison> {
        let app = app_context(ctx);
        shadow::compare_published(app, &slot, &candidate, config.map(|c| c.0), &|_, _| {})
            .await
            .gql()
            .map(ShadowComparison::from)
    }
}

fn resegment_slot(ctx: &Context<'_>, slot: &str) {
    if let Some(binding) = app_context(ctx).slots.binding(slot) {
        resegment_in_background(ctx, &binding.slot, binding.kind);
    }
}
