//! A/B experiments between plugin versions on a slot: creation with validation,
//! the draft → running → stopped → concluded lifecycle, deterministic assignment
//! (`assignment`, `live`), the exposure log (`exposures`), and results with their
//! statistics (`results`, `stats`).

pub mod assignment;
pub mod exposures;
pub mod live;
pub mod results;
pub mod stats;

use std::collections::HashSet;

use async_graphql::{InputObject, Json};
use chrono::{DateTime, Utc};
use retain_schema::{
    ExperimentMetric, ExperimentStatus, PluginKind, experiment, experiment_variant, slot,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use serde::Deserialize;

use crate::auth::Principal;
use crate::error::{ServiceError, ServiceResult};
use crate::plugins::SlotTable;
use crate::plugins::registry;
use crate::plugins::slots::{self, Version};
use crate::services::audit;

/// Most variants an experiment may compare: beyond that, no shop has the traffic
/// to tell them apart.
const MAX_VARIANTS: usize = 10;
/// How far weights may add up away from 1 (rounding in hand-written inputs).
const WEIGHT_TOLERANCE: f64 = 1e-6;
const MAX_WINDOW_DAYS: i32 = 365;

/// A new experiment, as GraphQL and the CLI's JSON file give it.
#[derive(Debug, Clone, InputObject, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExperimentInput {
    /// Unique: 1–64 of a-z, 0-9, '.', '-' and '_'. Also the default hash seed.
    pub key: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// The slot whose plugin the variants replace for enrolled customers.
    pub slot: String,
    /// Two or more; the first is the control. Weights add up to 1.
    pub variants: Vec<VariantInput>,
    /// Share of customers enrolled, in (0, 1]; default 1.
    pub coverage: Option<f64>,
    /// Days after a customer's exposure in which their orders count; default 14.
    pub conversion_window_days: Option<i32>,
    /// Default `CONVERSION`.
    pub metric: Option<ExperimentMetric>,
    /// The hash seed; default the key. Give GrowthBook SDKs the same seed.
    pub seed: Option<String>,
}

/// One arm of a new experiment.
#[derive(Debug, Clone, InputObject, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VariantInput {
    /// Unique within the experiment, e.g. `control`, `points-and-gift`.
    pub key: String,
    /// A published version: `name@version`, an id or a SHA-256 prefix.
    pub plugin: String,
    /// The plugin's config for this arm, as a JSON object; default `{}`.
    pub config: Option<Json<serde_json::Value>>,
    /// Share of enrolled customers, in (0, 1].
    pub weight: f64,
}

/// Changes to an experiment; absent fields stay as they are.
#[derive(Debug, Clone, Default, InputObject)]
pub struct ExperimentPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    /// New weights, one per variant in order. While running, customers already
    /// exposed keep their variant unless `reassign` is set.
    pub weights: Option<Vec<f64>>,
    pub coverage: Option<f64>,
    /// Drafts only.
    pub conversion_window_days: Option<i32>,
    /// Drafts only.
    pub metric: Option<ExperimentMetric>,
    /// Raises the bucket version: every customer is assigned afresh by the
    /// current weights, and results count the new exposures only.
    #[graphql(default)]
    pub reassign: bool,
}

/// An experiment with its variants in position order.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub row: experiment::Model,
    pub variants: Vec<experiment_variant::Model>,
}

impl Experiment {
    pub fn weights(&self) -> Vec<f64> {
        self.variants.iter().map(|v| v.weight).collect()
    }
}

/// `key`, or why it is not a valid experiment or variant key.
fn check_key(field: &str, key: &str) -> ServiceResult<()> {
    let ok = !key.is_empty()
        && key.len() <= 64
        && key.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            field,
            "must be 1–64 of a-z, 0-9, '.', '-' and '_'",
        ))
    }
}

fn check_text(field: &str, text: &str, max: usize) -> ServiceResult<()> {
    if text.chars().count() > max {
        return Err(ServiceError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

fn check_coverage(field: &str, coverage: f64) -> ServiceResult<()> {
    if coverage.is_finite() && coverage > 0.0 && coverage <= 1.0 {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            field,
            format!("must be more than 0 and at most 1, not {coverage}"),
        ))
    }
}

fn check_window(field: &str, days: i32) -> ServiceResult<()> {
    if (1..=MAX_WINDOW_DAYS).contains(&days) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            field,
            format!("must be 1–{MAX_WINDOW_DAYS} days, not {days}"),
        ))
    }
}

/// Each weight in (0, 1] and all of them adding up to 1.
fn check_weights(field: &str, weights: &[f64]) -> ServiceResult<()> {
    for (i, weight) in weights.iter().enumerate() {
        if !(weight.is_finite() && *weight > 0.0 && *weight <= 1.0) {
            return Err(ServiceError::invalid(
                format!("{field}[{i}]"),
                format!("a weight must be more than 0 and at most 1, not {weight}"),
            ));
        }
    }
    let sum: f64 = weights.iter().sum();
    if (sum - 1.0).abs() > WEIGHT_TOLERANCE {
        return Err(ServiceError::invalid(
            field,
            format!("the weights must add up to 1, not {sum}"),
        ));
    }
    Ok(())
}

/// The slot an experiment runs on, which must exist: customers outside the
/// experiment get its active version.
async fn existing_slot(db: &impl ConnectionTrait, name: &str) -> ServiceResult<slot::Model> {
    slot::Entity::find_by_id(name)
        .one(db)
        .await?
        .ok_or_else(|| {
            ServiceError::invalid(
                "slot",
                format!("there is no slot {name}; activate a plugin in it first"),
            )
        })
}

/// A variant's plugin, checked to be servable in a slot of `kind` with `config`.
async fn variant_version(
    slots: &SlotTable,
    field: &str,
    reference: &str,
    kind: PluginKind,
    config: serde_json::Value,
) -> ServiceResult<Version> {
    let plugin = registry::find(slots.db(), reference)
        .await
        .map_err(|err| match err {
            ServiceError::NotFound { .. } => ServiceError::invalid(
                format!("{field}.plugin"),
                format!("no published plugin {reference}"),
            ),
            ServiceError::Invalid { reason, .. } => {
                ServiceError::invalid(format!("{field}.plugin"), reason)
            }
            other => other,
        })?;
    if plugin.kind != kind {
        return Err(ServiceError::invalid(
            format!("{field}.plugin"),
            format!(
                "{} {} is a {}, but the slot holds {}s",
                plugin.name,
                plugin.version,
                kind_name(plugin.kind),
                kind_name(kind)
            ),
        ));
    }
    if let Some(reason) = &plugin.quarantine_reason {
        return Err(ServiceError::invalid(
            format!("{field}.plugin"),
            format!(
                "{} {} is quarantined ({reason})",
                plugin.name, plugin.version
            ),
        ));
    }
    if !config.is_object() {
        return Err(ServiceError::invalid(
            format!("{field}.config"),
            "must be a JSON object",
        ));
    }
    let version = Version {
        plugin_id: plugin.id,
        plugin: slots.compiled(plugin.id).await?,
        config: config.to_string(),
    };
    slots::try_config(&version).await.map_err(|err| match err {
        ServiceError::Invalid { reason, .. } => {
            ServiceError::invalid(format!("{field}.config"), reason)
        }
        other => other,
    })?;
    Ok(version)
}

fn kind_name(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Segmenter => "segmenter",
        PluginKind::Recommender => "recommender",
    }
}

/// Validates a new experiment whole, then stores it as a draft in one
/// transaction.
pub async fn create(
    slots: &SlotTable,
    input: ExperimentInput,
    actor: &Principal,
    now: DateTime<Utc>,
) -> ServiceResult<Experiment> {
    let db = slots.db();
    check_key("key", &input.key)?;
    let name = input.name.clone().unwrap_or_else(|| input.key.clone());
    check_text("name", &name, 200)?;
    let description = input.description.clone().unwrap_or_default();
    check_text("description", &description, 10_000)?;
    let seed = input.seed.clone().unwrap_or_else(|| input.key.clone());
    if seed.is_empty() {
        return Err(ServiceError::invalid("seed", "must not be empty"));
    }
    check_text("seed", &seed, 200)?;
    let coverage = input.coverage.unwrap_or(1.0);
    check_coverage("coverage", coverage)?;
    let window = input.conversion_window_days.unwrap_or(14);
    check_window("conversionWindowDays", window)?;
    let slot = existing_slot(db, &input.slot).await?;
    if !(2..=MAX_VARIANTS).contains(&input.variants.len()) {
        return Err(ServiceError::invalid(
            "variants",
            format!(
                "an experiment compares 2–{MAX_VARIANTS} variants, not {}",
                input.variants.len()
            ),
        ));
    }
    let mut keys = HashSet::new();
    let mut versions = Vec::with_capacity(input.variants.len());
    for (i, variant) in input.variants.iter().enumerate() {
        let field = format!("variants[{i}]");
        check_key(&format!("{field}.key"), &variant.key)?;
        if !keys.insert(variant.key.as_str()) {
            return Err(ServiceError::invalid(
                format!("{field}.key"),
                format!("two variants are called {}", variant.key),
            ));
        }
        let config = variant
            .config
            .clone()
            .map_or_else(|| serde_json::json!({}), |c| c.0);
        versions.push(variant_version(slots, &field, &variant.plugin, slot.kind, config).await?);
    }
    let weights: Vec<f64> = input.variants.iter().map(|v| v.weight).collect();
    check_weights("variants.weight", &weights)?;

    let txn = db.begin().await?;
    if experiment::Entity::find()
        .filter(experiment::Column::Key.eq(&input.key))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(ServiceError::conflict(
            "key",
            format!("an experiment {} exists already", input.key),
        ));
    }
    let row = experiment::ActiveModel {
        key: Set(input.key.clone()),
        name: Set(name),
        description: Set(description),
        slot: Set(slot.name.clone()),
        status: Set(ExperimentStatus::Draft),
        metric: Set(input.metric.unwrap_or(ExperimentMetric::Conversion)),
        coverage: Set(coverage),
        conversion_window_days: Set(window),
        seed: Set(seed),
        bucket_version: Set(1),
        revision: Set(1),
        winner: Set(None),
        created_by: Set(actor.name.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        started_at: Set(None),
        stopped_at: Set(None),
        concluded_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|err| {
        ServiceError::on_insert(
            err,
            "key",
            format!("an experiment {} exists already", input.key),
        )
    })?;
    let mut variants = Vec::with_capacity(versions.len());
    for (position, (variant, version)) in input.variants.iter().zip(&versions).enumerate() {
        variants.push(
            experiment_variant::ActiveModel {
                experiment_id: Set(row.id),
                position: Set(position as i32),
                key: Set(variant.key.clone()),
                plugin_id: Set(version.plugin_id),
                config: Set(serde_json::from_str(&version.config).unwrap_or_default()),
                weight: Set(variant.weight),
            }
            .insert(&txn)
            .await?,
        );
    }
    let experiment = Experiment { row, variants };
    audit::record(
        &txn,
        actor,
        "experiment.create",
        &experiment.row.key,
        describe(&experiment),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(experiment)
}

/// What the audit log keeps of an experiment's set-up.
fn describe(experiment: &Experiment) -> serde_json::Value {
    serde_json::json!({
        "slot": experiment.row.slot,
        "status": experiment.row.status,
        "coverage": experiment.row.coverage,
        "metric": experiment.row.metric,
        "conversion_window_days": experiment.row.conversion_window_days,
        "bucket_version": experiment.row.bucket_version,
        "variants": experiment.variants.iter().map(|v| serde_json::json!({
            "key": v.key, "plugin_id": v.plugin_id, "config": v.config, "weight": v.weight,
        })).collect::<Vec<_>>(),
    })
}

/// One experiment by key, with its variants.
pub async fn find(db: &impl ConnectionTrait, key: &str) -> ServiceResult<Experiment> {
    let row = experiment::Entity::find()
        .filter(experiment::Column::Key.eq(key))
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::not_found("experiment", key))?;
    with_variants(db, row).await
}

async fn with_variants(
    db: &impl ConnectionTrait,
    row: experiment::Model,
) -> ServiceResult<Experiment> {
    let variants = experiment_variant::Entity::find()
        .filter(experiment_variant::Column::ExperimentId.eq(row.id))
        .order_by_asc(experiment_variant::Column::Position)
        .all(db)
        .await?;
    Ok(Experiment { row, variants })
}

/// Experiments, newest first, optionally of one slot or status.
pub async fn list(
    db: &DatabaseConnection,
    slot: Option<&str>,
    status: Option<ExperimentStatus>,
) -> ServiceResult<Vec<Experiment>> {
    let mut query = experiment::Entity::find().order_by_desc(experiment::Column::Id);
    if let Some(slot) = slot {
        query = query.filter(experiment::Column::Slot.eq(slot));
    }
    if let Some(status) = status {
        query = query.filter(experiment::Column::Status.eq(status));
    }
    let mut experiments = Vec::new();
    for row in query.all(db).await? {
        experiments.push(with_variants(db, row).await?);
    }
    Ok(experiments)
}

/// The running experiments and their variants, for the slot table.
pub async fn running(db: &impl ConnectionTrait) -> ServiceResult<Vec<experiment::Model>> {
    Ok(experiment::Entity::find()
        .filter(experiment::Column::Status.eq(ExperimentStatus::Running))
        .all(db)
        .await?)
}

fn status_name(status: ExperimentStatus) -> &'static str {
    match status {
        ExperimentStatus::Draft => "draft",
        ExperimentStatus::Running => "running",
        ExperimentStatus::Stopped => "stopped",
        ExperimentStatus::Concluded => "concluded",
    }
}

fn illegal(experiment: &experiment::Model, action: &str) -> ServiceError {
    ServiceError::conflict(
        "status",
        format!(
            "experiment {} is {} and cannot be {action}",
            experiment.key,
            status_name(experiment.status)
        ),
    )
}

/// Starts serving a draft's variants. Refused while another experiment runs on
/// the slot, or when a variant no longer fits it.
pub async fn start(
    slots: &SlotTable,
    key: &str,
    actor: &Principal,
    now: DateTime<Utc>,
) -> ServiceResult<Experiment> {
    let db = slots.db();
    let txn = db.begin().await?;
    let experiment = find(&txn, key).await?;
    if experiment.row.status != ExperimentStatus::Draft {
        return Err(illegal(&experiment.row, "started"));
    }
    let slot = existing_slot(&txn, &experiment.row.slot).await?;
    for (i, variant) in experiment.variants.iter().enumerate() {
        let plugin = registry::find(&txn, &variant.plugin_id.to_string()).await?;
        if plugin.kind != slot.kind || plugin.quarantine_reason.is_some() {
            return Err(ServiceError::conflict(
                format!("variants[{i}].plugin"),
                format!(
                    "{} {} can no longer serve slot {} (another kind, or quarantined)",
                    plugin.name, plugin.version, slot.name
                ),
            ));
        }
    }
    if let Some(other) = experiment::Entity::find()
        .filter(experiment::Column::Slot.eq(&experiment.row.slot))
        .filter(experiment::Column::Status.eq(ExperimentStatus::Running))
        .one(&txn)
        .await?
    {
        return Err(ServiceError::conflict(
            "slot",
            format!(
                "experiment {} is already running on slot {}; stop it first",
                other.key, experiment.row.slot
            ),
        ));
    }
    let row = experiment::ActiveModel {
        id: Set(experiment.row.id),
        status: Set(ExperimentStatus::Running),
        started_at: Set(Some(now)),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(&txn)
    .await
    .map_err(|err| {
        ServiceError::on_insert(
            err,
            "slot",
            format!(
                "another experiment is already running on slot {}",
                experiment.row.slot
            ),
        )
    })?;
    audit::record(
        &txn,
        actor,
        "experiment.start",
        key,
        serde_json::json!({}),
        now,
    )
    .await?;
    txn.commit().await?;
    slots.refresh().await?;
    Ok(Experiment {
        row,
        variants: experiment.variants,
    })
}

/// Stops serving the variants: everyone gets the slot's active version again.
/// Results stay readable.
pub async fn stop(
    slots: &SlotTable,
    key: &str,
    actor: &Principal,
    now: DateTime<Utc>,
) -> ServiceResult<Experiment> {
    let db = slots.db();
    let txn = db.begin().await?;
    let experiment = find(&txn, key).await?;
    if experiment.row.status != ExperimentStatus::Running {
        return Err(illegal(&experiment.row, "stopped"));
    }
    let row = set_status(&txn, &experiment.row, ExperimentStatus::Stopped, now).await?;
    audit::record(
        &txn,
        actor,
        "experiment.stop",
        key,
        serde_json::json!({}),
        now,
    )
    .await?;
    txn.commit().await?;
    slots.refresh().await?;
    Ok(Experiment {
        row,
        variants: experiment.variants,
    })
}

async fn set_status(
    txn: &impl ConnectionTrait,
    row: &experiment::Model,
    status: ExperimentStatus,
    now: DateTime<Utc>,
) -> ServiceResult<experiment::Model> {
    let mut update = experiment::ActiveModel {
        id: Set(row.id),
        status: Set(status),
        updated_at: Set(now),
        ..Default::default()
    };
    match status {
        ExperimentStatus::Stopped => update.stopped_at = Set(Some(now)),
        ExperimentStatus::Concluded => {
            update.concluded_at = Set(Some(now));
            if row.stopped_at.is_none() {
                update.stopped_at = Set(Some(now));
            }
        }
        ExperimentStatus::Draft | ExperimentStatus::Running => {}
    }
    Ok(update.update(txn).await?)
}

/// Ends the experiment with `winner` and activates the winner's version on the
/// slot (unless it is what the slot already serves). Returns the experiment and
/// the slot when it was re-bound.
pub async fn conclude(
    slots: &SlotTable,
    key: &str,
    winner: &str,
    actor: &Principal,
    now: DateTime<Utc>,
) -> ServiceResult<(Experiment, Option<slot::Model>)> {
    let db = slots.db();
    let experiment = find(db, key).await?;
    if !matches!(
        experiment.row.status,
        ExperimentStatus::Running | ExperimentStatus::Stopped
    ) {
        return Err(illegal(&experiment.row, "concluded"));
    }
    let Some(chosen) = experiment.variants.iter().find(|v| v.key == winner) else {
        let keys: Vec<&str> = experiment.variants.iter().map(|v| v.key.as_str()).collect();
        return Err(ServiceError::invalid(
            "winner",
            format!("{winner} is not a variant; one of {}", keys.join(", ")),
        ));
    };
    let current = existing_slot(db, &experiment.row.slot).await?;
    let rebind = current.plugin_id != chosen.plugin_id || current.config != chosen.config;
    // Activation is its own transaction (with its own audit entry); it comes
    // first, so a refused activation leaves the experiment as it was.
    let bound = if rebind {
        Some(
            slots::activate(
                slots,
                &experiment.row.slot,
                &chosen.plugin_id.to_string(),
                Some(chosen.config.clone()),
                actor,
                now,
            )
            .await?,
        )
    } else {
        None
    };
    let txn = db.begin().await?;
    let mut row = set_status(&txn, &experiment.row, ExperimentStatus::Concluded, now).await?;
    row = experiment::ActiveModel {
        id: Set(row.id),
        winner: Set(Some(winner.to_owned())),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        "experiment.conclude",
        key,
        serde_json::json!({ "winner": winner, "plugin_id": chosen.plugin_id, "activated": rebind }),
        now,
    )
    .await?;
    txn.commit().await?;
    slots.refresh().await?;
    Ok((
        Experiment {
            row,
            variants: experiment.variants,
        },
        bound,
    ))
}

/// Applies `changes` as the experiment's status allows: a draft changes freely;
/// a running experiment changes weights and coverage (sticky for customers
/// already exposed unless `reassign`); a finished one only its name and
/// description.
pub async fn update(
    slots: &SlotTable,
    key: &str,
    changes: ExperimentPatch,
    actor: &Principal,
    now: DateTime<Utc>,
) -> ServiceResult<Experiment> {
    let db = slots.db();
    let txn = db.begin().await?;
    let experiment = find(&txn, key).await?;
    let status = experiment.row.status;
    let finished = matches!(
        status,
        ExperimentStatus::Stopped | ExperimentStatus::Concluded
    );
    let refuse = |field: &str, what: &str| {
        ServiceError::conflict(
            field,
            format!(
                "experiment {key} is {}: {what} can no longer change",
                status_name(status)
            ),
        )
    };
    let mut update = experiment::ActiveModel {
        id: Set(experiment.row.id),
        updated_at: Set(now),
        ..Default::default()
    };
    if let Some(name) = &changes.name {
        check_text("name", name, 200)?;
        update.name = Set(name.clone());
    }
    if let Some(description) = &changes.description {
        check_text("description", description, 10_000)?;
        update.description = Set(description.clone());
    }
    let mut assignment_changed = false;
    if let Some(coverage) = changes.coverage {
        if finished {
            return Err(refuse("coverage", "the coverage"));
        }
        check_coverage("coverage", coverage)?;
        update.coverage = Set(coverage);
        assignment_changed = true;
    }
    if let Some(days) = changes.conversion_window_days {
        if status != ExperimentStatus::Draft {
            return Err(refuse("conversionWindowDays", "the conversion window"));
        }
        check_window("conversionWindowDays", days)?;
        update.conversion_window_days = Set(days);
    }
    if let Some(metric) = changes.metric {
        if status != ExperimentStatus::Draft {
            return Err(refuse("metric", "the metric"));
        }
        update.metric = Set(metric);
    }
    if let Some(weights) = &changes.weights {
        if finished {
            return Err(refuse("weights", "the weights"));
        }
        if weights.len() != experiment.variants.len() {
            return Err(ServiceError::invalid(
                "weights",
                format!(
                    "give one weight per variant: {} weights for {} variants",
                    weights.len(),
                    experiment.variants.len()
                ),
            ));
        }
        check_weights("weights", weights)?;
        for (variant, weight) in experiment.variants.iter().zip(weights) {
            experiment_variant::ActiveModel {
                experiment_id: Set(variant.experiment_id),
                position: Set(variant.position),
                weight: Set(*weight),
                ..Default::default()
            }
            .update(&txn)
            .await?;
        }
        assignment_changed = true;
    }
    if changes.reassign {
        if finished {
            return Err(refuse("reassign", "the assignment"));
        }
        update.bucket_version = Set(experiment.row.bucket_version + 1);
        assignment_changed = true;
    }
    // Only exposures of a running experiment can disagree with the hash.
    if assignment_changed && status == ExperimentStatus::Running {
        update.revision = Set(experiment.row.revision + 1);
    }
    update.update(&txn).await?;
    let updated = find(&txn, key).await?;
    audit::record(
        &txn,
        actor,
        "experiment.update",
        key,
        describe(&updated),
        now,
    )
    .await?;
    txn.commit().await?;
    if status == ExperimentStatus::Running {
        slots.refresh().await?;
    }
    Ok(updated)
}
