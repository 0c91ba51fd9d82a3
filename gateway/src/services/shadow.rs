//! Shadow comparison: every customer classified by a slot's active version and
//! by a candidate, side by side, before any traffic moves. Nothing is served or
//! stored; the answer is how often they agree and where customers would move.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::Utc;

use crate::app::AppContext;
use crate::error::{ServiceError, ServiceResult};
use crate::plugins::registry;
use crate::plugins::slots::{self, Version};
use crate::plugins::v1::types::ProfileBatch;
use crate::services::features::{FeatureBatch, FeatureBatches};
use crate::services::segmentation;

/// Customers who have segment `from` today and would get `to` from the candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: String,
    pub to: String,
    pub customers: u64,
}

/// How many customers a version puts in a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentCount {
    pub segment: String,
    pub customers: u64,
}

/// The outcome of a shadow comparison.
#[derive(Debug, Clone)]
pub struct ShadowReport {
    pub slot: String,
    /// `name@version` of what the slot serves now.
    pub active: String,
    pub candidate: String,
    pub customers: u64,
    /// Customers both versions put in the same segment key.
    pub agreeing: u64,
    /// Every (from, to) pair with customers, the largest first.
    pub transitions: Vec<Transition>,
    pub active_segments: Vec<SegmentCount>,
    pub candidate_segments: Vec<SegmentCount>,
}

impl ShadowReport {
    /// Share of customers the versions agree on; 1 with no customers.
    pub fn agreement(&self) -> f64 {
        if self.customers == 0 {
            1.0
        } else {
            self.agreeing as f64 / self.customers as f64
        }
    }
}

/// Compares the slot's serving version with the published version
/// `candidate` (`name@version`, id or SHA-256 prefix) under `config`.
pub async fn compare_published(
    ctx: &AppContext,
    slot: &str,
    candidate: &str,
    config: Option<serde_json::Value>,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> ServiceResult<ShadowReport> {
    let plugin = registry::find(&ctx.db, candidate)
        .await
        .map_err(|err| match err {
            ServiceError::NotFound { .. } => {
                ServiceError::invalid("candidate", format!("no published plugin {candidate}"))
            }
            other => other,
        })?;
    let config = config.unwrap_or_else(|| serde_json::json!({}));
    if !config.is_object() {
        return Err(ServiceError::invalid("config", "must be a JSON object"));
    }
    let version = Version {
        plugin_id: plugin.id,
        plugin: ctx.slots.compiled(plugin.id).await?,
        config: config.to_string(),
    };
    compare(ctx, slot, &version, progress).await
}

/// Classifies every customer with the slot's serving version and with
/// `candidate`, in bounded batches, and tallies where they differ. Customers
/// enrolled in an experiment count by the slot's version too: the comparison is
/// between two versions, not with what each customer is served.
pub async fn compare(
    ctx: &AppContext,
    slot: &str,
    candidate: &Version,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> ServiceResult<ShadowReport> {
    let binding = segmentation::segmenter_binding(ctx, slot)?;
    if candidate.plugin.kind != binding.kind {
        return Err(ServiceError::invalid(
            "candidate",
            format!(
                "{} {} is not a segmenter",
                candidate.plugin.name, candidate.plugin.version
            ),
        ));
    }
    slots::try_config(candidate).await?;
    let active = binding.serving().ok_or_else(|| {
        ServiceError::conflict(
            "slot",
            format!("{slot}'s version is quarantined and there is no earlier one"),
        )
    })?;
    let now = Utc::now();
    let columns = active.plugin.columns.union(candidate.plugin.columns);
    let mut batches = FeatureBatches::new(&ctx.db, ctx.settings.plugins.batch_size, now, columns);
    let total = batches.total().await?;
    let mut pairs: HashMap<(u16, u16), u64> = HashMap::new();
    let mut done = 0;
    progress(0, total);
    while let Some(FeatureBatch {
        customers,
        features,
    }) = batches.next().await?
    {
        let batch = Arc::new(ProfileBatch::of(features.iter(), columns));
        let today = classify(ctx, active, &batch).await?;
        let tomorrow = classify(ctx, candidate, &batch).await?;
        for pair in today.into_iter().zip(tomorrow) {
            *pairs.entry(pair).or_default() += 1;
        }
        done += customers.len() as u64;
        progress(done, total);
    }
    Ok(report(slot, active, candidate, done, &pairs))
}

async fn classify(
    ctx: &AppContext,
    version: &Version,
    batch: &Arc<ProfileBatch>,
) -> ServiceResult<Vec<u16>> {
    ctx.slots
        .classify(version, Arc::clone(batch))
        .await
        .map(|c| c.segments)
        .map_err(|error| ServiceError::Plugin {
            plugin: version.label(),
            reason: error.to_string(),
        })
}

fn report(
    slot: &str,
    active: &Version,
    candidate: &Version,
    customers: u64,
    pairs: &HashMap<(u16, u16), u64>,
) -> ShadowReport {
    let key = |version: &Version, index: u16| {
        version.plugin.info.segments[usize::from(index)].key.clone()
    };
    let mut transitions: Vec<Transition> = pairs
        .iter()
        .map(|((from, to), count)| Transition {
            from: key(active, *from),
            to: key(candidate, *to),
            customers: *count,
        })
        .collect();
    transitions.sort_by(|a, b| {
        b.customers
            .cmp(&a.customers)
            .then_with(|| a.from.cmp(&b.from))
            .then_with(|| a.to.cmp(&b.to))
    });
    let agreeing = transitions
        .iter()
        .filter(|t| t.from == t.to)
        .map(|t| t.customers)
        .sum();
    let mut before: BTreeMap<String, u64> = BTreeMap::new();
    let mut after: BTreeMap<String, u64> = BTreeMap::new();
    for t in &transitions {
        *before.entry(t.from.clone()).or_default() += t.customers;
        *after.entry(t.to.clone()).or_default() += t.customers;
    }
    let counts = |map: BTreeMap<String, u64>| {
        map.into_iter()
            .map(|(segment, customers)| SegmentCount { segment, customers })
            .collect()
    };
    ShadowReport {
        slot: slot.to_owned(),
        active: active.label(),
        candidate: candidate.label(),
        customers,
        agreeing,
        transitions,
        active_segments: counts(before),
        candidate_segments: counts(after),
    }
}
