//! Segmentation: computing customers' profile features, classifying them with a
//! slot's segmenter in bounded batches, and publishing the result as a run that
//! becomes visible at once. Orders and interactions reclassify their customer in
//! real time.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use retain_schema::{
    PluginKind, RunStatus, segment_change, segment_membership, segment_run, segment_run_update,
    slot,
};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};

use crate::app::AppContext;
use crate::database::statement;
use crate::error::{ServiceError, ServiceResult};
use crate::plugins::batch::Columns;
use crate::plugins::loader::Classification;
use crate::plugins::slots::{Binding, Version};
use crate::plugins::v1::types::ProfileBatch;
use crate::services::experiments;
use crate::services::experiments::exposures::{self, Exposure};
use crate::services::experiments::live::{self, LiveExperiment, Subject};
use crate::services::features::{self, FeatureBatch, FeatureBatches};
use crate::services::{customers, loyalty};

/// A customer's segment in a slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    pub segment: String,
    pub score: f64,
}

/// The last run of `slot` that completed, if any.
pub async fn current_run(db: &impl ConnectionTrait, slot_name: &str) -> ServiceResult<Option<i64>> {
    Ok(slot::Entity::find_by_id(slot_name)
        .one(db)
        .await?
        .and_then(|s| s.current_run_id))
}

/// The memberships of `customer_ids` in `slot`.
pub async fn segments_of(
    db: &impl ConnectionTrait,
    slot_name: &str,
    customer_ids: &[i64],
) -> ServiceResult<HashMap<i64, Membership>> {
    Ok(segment_membership::Entity::find()
        .filter(segment_membership::Column::Slot.eq(slot_name))
        .filter(segment_membership::Column::CustomerId.is_in(customer_ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|m| {
            (
                m.customer_id,
                Membership {
                    segment: m.segment,
                    score: m.score,
                },
            )
        })
        .collect())
}

/// Customers per segment in `slot`.
pub async fn segment_counts(
    db: &impl ConnectionTrait,
    slot_name: &str,
) -> ServiceResult<HashMap<String, i64>> {
    #[derive(FromQueryResult)]
    struct Count {
        segment: String,
        customers: i64,
    }
    Ok(segment_membership::Entity::find()
        .select_only()
        .column(segment_membership::Column::Segment)
        .column_as(segment_membership::Column::CustomerId.count(), "customers")
        .filter(segment_membership::Column::Slot.eq(slot_name))
        .group_by(segment_membership::Column::Segment)
        .into_model::<Count>()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.segment, c.customers))
        .collect())
}

pub fn segmenter_binding(ctx: &AppContext, slot_name: &str) -> ServiceResult<Arc<Binding>> {
    let binding = ctx
        .slots
        .binding(slot_name)
        .ok_or_else(|| ServiceError::not_found("slot", slot_name))?;
    if binding.kind != PluginKind::Segmenter {
        return Err(ServiceError::invalid(
            "slot",
            format!("{slot_name} holds recommenders, not segmenters"),
        ));
    }
    Ok(binding)
}

/// Classifies every customer with `slot`'s serving version and makes the result
/// the slot's memberships in one step. Customers are read, classified and
/// compared with their current membership `batch_size` at a time, so memory stays
/// bounded whatever their number; only memberships that differ are staged, and
/// publishing applies them. If the plugin fails, the run is marked failed and the
/// slot's memberships stay as they were.
pub async fn run(
    ctx: &AppContext,
    slot_name: &str,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> ServiceResult<segment_run::Model> {
    let db = &ctx.db;
    let binding = segmenter_binding(ctx, slot_name)?;
    let version = binding.serving().ok_or_else(|| {
        ServiceError::conflict(
            "slot",
            format!("{slot_name}'s version is quarantined and there is no earlier one"),
        )
    })?;
    let (now, started) = (Utc::now(), Instant::now());
    let run = segment_run::ActiveModel {
        slot: Set(slot_name.into()),
        plugin_id: Set(version.plugin_id),
        status: Set(RunStatus::Running),
        customers: Set(0),
        changed: Set(0),
        started_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;

    // Every version that may serve a customer of the run: what the batches carry.
    let columns = binding
        .experiment
        .iter()
        .flat_map(|live| &live.variants)
        .fold(version.plugin.columns, |all, v| all.union(v.plugin.columns));
    let mut batches = FeatureBatches::new(db, ctx.settings.plugins.batch_size, now, columns)
        .with_memberships_of(slot_name);
    let total = batches.total().await?;
    progress(0, total);
    let classified: ServiceResult<(u64, usize)> = async {
        let (mut done, mut staged) = (0_u64, 0);
        while let Some(batch) = batches.next().await? {
            let (memberships, exposures) =
                classify_batch(ctx, &binding, version, &batch, now).await?;
            // Only what differs from the slot's memberships is staged.
            let updates: Vec<(i64, Membership)> = batch
                .customers
                .iter()
                .zip(memberships)
                .filter_map(|(customer, assigned)| {
                    assigned
                        .filter(|m| customer.membership.as_ref() != Some(m))
                        .map(|m| (customer.id, m))
                })
                .collect();
            stage_updates(db, run.id, &updates, &exposures).await?;
            staged += updates.len();
            done += batch.customers.len() as u64;
            progress(done, total);
        }
        Ok((done, staged))
    }
    .await;
    let (done, staged) = match classified {
        Ok(counts) => counts,
        Err(err) => {
            fail(db, run.id, &err.to_string()).await?;
            return Err(err);
        }
    };
    let classified_in = started.elapsed();
    let run = publish_run(ctx, run.id, &binding, done, now).await?;
    tracing::info!(
        slot = slot_name,
        run = run.id,
        customers = done,
        staged,
        changed = run.changed,
        ?classified_in,
        published_in = ?started.elapsed() - classified_in,
        "segmentation run published"
    );
    Ok(run)
}

/// Classifies customers, each with the version that serves them — their
/// experiment variant if the slot runs an experiment that enrols them, else
/// `version` — strictly: a failure fails the batch. Returns each customer's
/// membership, index for index, and the exposures of the enrolled.
async fn classify_batch(
    ctx: &AppContext,
    binding: &Binding,
    version: &Version,
    batch: &FeatureBatch,
    now: DateTime<Utc>,
) -> ServiceResult<(Vec<Option<Membership>>, Vec<Exposure>)> {
    let FeatureBatch {
        customers,
        features,
    } = batch;
    let subjects: Vec<Subject<'_>> = customers
        .iter()
        .map(|c| Subject {
            id: c.id,
            external_id: &c.external_id,
        })
        .collect();
    let enrolments = live::enrolments(&ctx.db, binding, &subjects).await?;
    let mut exposures = Vec::new();
    // Customers by the variant serving them (`None`: the slot's version).
    let mut groups: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
    for (index, enrolment) in enrolments.iter().enumerate() {
        if let (Some(enrolment), Some(live)) = (enrolment, &binding.experiment) {
            exposures.push(live.exposure(*enrolment, customers[index].id, now));
        }
        groups
            .entry(enrolment.map(|e| e.variant))
            .or_default()
            .push(index);
    }
    let mut assigned: Vec<Option<Membership>> = vec![None; customers.len()];
    for (variant, indexes) in groups {
        let version = match variant {
            Some(_) => live::version_for(binding, enrolments[indexes[0]]).unwrap_or(version),
            None => version,
        };
        let profiles = indexes.iter().map(|i| &features[*i]);
        let batch = ProfileBatch::of(profiles, version.plugin.columns);
        let classification =
            ctx.slots
                .classify(version, Arc::new(batch))
                .await
                .map_err(|error| ServiceError::Plugin {
                    plugin: format!("{} {}", version.plugin.name, version.plugin.version),
                    reason: error.to_string(),
                })?;
        for (index, membership) in indexes.iter().zip(memberships(version, &classification)) {
            assigned[*index] = Some(membership);
        }
    }
    Ok((assigned, exposures))
}

/// The memberships a classification assigns, in the order of its customers.
fn memberships<'a>(
    version: &'a Version,
    classification: &'a Classification,
) -> impl Iterator<Item = Membership> + 'a {
    let segments = &version.plugin.info.segments;
    classification
        .segments
        .iter()
        .zip(&classification.scores)
        .map(|(segment, score)| Membership {
            segment: segments[usize::from(*segment)].key.clone(),
            score: widen(*score),
        })
}

/// The f64 nearest the f32's shortest decimal form, so a plugin's 0.4 is stored
/// and served as 0.4 rather than 0.4000000059604645.
fn widen(score: f32) -> f64 {
    score.to_string().parse().unwrap_or(f64::from(score))
}

/// Stages a batch's changed memberships and writes the exposures of its enrolled
/// customers together, so an exposure is never logged for a customer whose
/// variant's answer was not kept. The memberships go in as one JSON parameter
/// rather than a statement of four parameters per row: a run after a strategy
/// change stages most customers.
async fn stage_updates(
    db: &DatabaseConnection,
    run_id: i64,
    updates: &[(i64, Membership)],
    exposures: &[Exposure],
) -> ServiceResult<()> {
    if updates.is_empty() && exposures.is_empty() {
        return Ok(());
    }
    let backend = db.get_database_backend();
    let txn = db.begin().await?;
    exposures::insert(&txn, exposures).await?;
    if !updates.is_empty() {
        let rows: Vec<(i64, &str, f64)> = updates
            .iter()
            .map(|(customer, m)| (*customer, m.segment.as_str(), m.score))
            .collect();
        let rows = serde_json::to_string(&rows).expect("numbers and strings serialise");
        let sql = format!(
            "INSERT INTO segment_run_updates (run_id, customer_id, segment, score) \
             SELECT ?, CAST(e.value ->> 0 AS BIGINT), e.value ->> 1, \
             CAST(e.value ->> 2 AS DOUBLE PRECISION) FROM {}",
            crate::database::json_elements(backend)
        );
        txn.execute_raw(statement(backend, &sql, vec![run_id.into(), rows.into()]))
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

async fn fail(db: &impl ConnectionTrait, run_id: i64, error: &str) -> ServiceResult<()> {
    segment_run::Entity::update_many()
        .col_expr(segment_run::Column::Status, RunStatus::Failed.into())
        .col_expr(segment_run::Column::Error, error.into())
        .col_expr(segment_run::Column::FinishedAt, Utc::now().into())
        .filter(segment_run::Column::Id.eq(run_id))
        .exec(db)
        .await?;
    discard_updates(db, run_id).await
}

async fn discard_updates(db: &impl ConnectionTrait, run_id: i64) -> ServiceResult<()> {
    segment_run_update::Entity::delete_many()
        .filter(segment_run_update::Column::RunId.eq(run_id))
        .exec(db)
        .await?;
    Ok(())
}

/// In one transaction: records who entered, moved and left which segment, applies
/// the run's staged memberships, drops the memberships of erased customers,
/// counts the segments, completes the run and points the slot at it.
async fn publish_run(
    ctx: &AppContext,
    run_id: i64,
    binding: &Binding,
    customers: u64,
    now: DateTime<Utc>,
) -> ServiceResult<segment_run::Model> {
    let db = &ctx.db;
    let slot_name = binding.slot.as_str();
    let backend = db.get_database_backend();
    // The statements below join the staged memberships with the slot's. Without
    // fresh statistics the planner takes the staged ones for empty and loops
    // (measured on PostgreSQL, 100,000 customers: 270 s instead of 4 s).
    crate::database::analyze(db, &["segment_run_updates"]).await?;
    let txn = crate::database::begin_write(db).await?;
    let slot_row = slot::Entity::find_by_id(slot_name)
        .one(&txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("slot", slot_name))?;
    // A run of a version (or an experiment) that was replaced must not
    // overwrite the segments of what replaced it.
    let experiment_now = experiments::running(&txn)
        .await?
        .into_iter()
        .find(|e| e.slot == slot_name)
        .map(|e| LiveExperiment::stamp_of(&e));
    let stale = if slot_row.activation_id != binding.activation_id {
        Some("the slot was re-bound while the run was going on")
    } else if experiment_now != binding.experiment.as_ref().map(|e| e.stamp()) {
        Some("the slot's experiment changed while the run was going on")
    } else {
        None
    };
    if let Some(reason) = stale {
        drop(txn);
        fail(db, run_id, reason).await?;
        return Err(ServiceError::conflict("slot", reason));
    }
    let execute = |sql: &'static str, values: Vec<sea_orm::Value>| {
        txn.execute_raw(statement(backend, sql, values))
    };
    // Who entered a segment or moved to another.
    let moved = execute(
        "INSERT INTO segment_changes (slot, customer_id, from_segment, to_segment, run_id, changed_at) \
         SELECT ?, u.customer_id, m.segment, u.segment, ?, ? FROM segment_run_updates u \
         LEFT JOIN segment_memberships m ON m.slot = ? AND m.customer_id = u.customer_id \
         WHERE u.run_id = ? AND (m.segment IS NULL OR m.segment <> u.segment)",
        vec![
            slot_name.into(),
            run_id.into(),
            now.into(),
            slot_name.into(),
            run_id.into(),
        ],
    )
    .await?
    .rows_affected();
    execute(
        "INSERT INTO segment_memberships (slot, customer_id, segment, score) \
         SELECT ?, customer_id, segment, score FROM segment_run_updates WHERE run_id = ? \
         ON CONFLICT (slot, customer_id) DO UPDATE SET segment = excluded.segment, score = excluded.score",
        vec![slot_name.into(), run_id.into()],
    )
    .await?;
    // Erased customers are in no batch: they leave every segment. Looked up from
    // the erased (an index), not from every member's customer row.
    let left = execute(
        "INSERT INTO segment_changes (slot, customer_id, from_segment, to_segment, run_id, changed_at) \
         SELECT slot, customer_id, segment, NULL, ?, ? FROM segment_memberships \
         WHERE slot = ? AND customer_id IN (SELECT id FROM customers WHERE erased_at IS NOT NULL)",
        vec![run_id.into(), now.into(), slot_name.into()],
    )
    .await?
    .rows_affected();
    if left > 0 {
        execute(
            "DELETE FROM segment_memberships WHERE slot = ? AND customer_id IN \
             (SELECT id FROM customers WHERE erased_at IS NOT NULL)",
            vec![slot_name.into()],
        )
        .await?;
    }
    // Kept when the memberships change again: the distribution over time.
    execute(
        "INSERT INTO segment_run_counts (run_id, segment, customers) \
         SELECT ?, segment, COUNT(*) FROM segment_memberships WHERE slot = ? GROUP BY segment",
        vec![run_id.into(), slot_name.into()],
    )
    .await?;
    discard_updates(&txn, run_id).await?;
    let run = segment_run::ActiveModel {
        id: Set(run_id),
        status: Set(RunStatus::Completed),
        customers: Set(customers as i64),
        changed: Set((moved + left) as i64),
        finished_at: Set(Some(Utc::now())),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    slot::Entity::update_many()
        .col_expr(slot::Column::CurrentRunId, run_id.into())
        .filter(slot::Column::Name.eq(slot_name))
        .exec(&txn)
        .await?;
    let loyalty_settings = &ctx.settings.loyalty;
    if slot_name == loyalty_settings.level_slot {
        loyalty::levels::retain_after_run(&txn, loyalty_settings, run_id, now).await?;
    }
    txn.commit().await?;
    if moved + left > 0 {
        // The segments' sizes changed: the planner must know.
        crate::database::analyze(db, &["segment_memberships", "segment_changes"]).await?;
    }
    ctx.catalog.invalidate();
    Ok(run)
}

/// Reclassifies one customer in every segmenter slot that has a current run, after
/// an order or interaction changed their profile. A failing plugin falls back to
/// the slot's previous version; if that fails too, the stored segment stays.
pub async fn reclassify(ctx: &AppContext, customer_id: i64) -> ServiceResult<()> {
    let db = &ctx.db;
    let bindings = ctx.slots.bindings();
    let segmenters: Vec<_> = bindings
        .values()
        .filter(|b| b.kind == PluginKind::Segmenter)
        .collect();
    if segmenters.is_empty() {
        return Ok(());
    }
    let customer = customers::find(db, customer_id).await?;
    let subject = [Subject {
        id: customer.id,
        external_id: &customer.external_id,
    }];
    let now = Utc::now();
    // One customer, read once for every slot's plugin: all columns.
    let features =
        features::features_of(db, std::slice::from_ref(&customer), now, Columns::ALL).await?;
    for binding in segmenters {
        // Real time keeps a slot's memberships current once a run made them.
        if current_run(db, &binding.slot).await?.is_none() {
            continue;
        }
        let enrolment = live::enrolments(db, binding, &subject).await?[0];
        // The customer's variant first; if it fails, what everyone else gets.
        let versions = enrolment
            .and_then(|e| live::version_for(binding, Some(e)))
            .into_iter()
            .chain(binding.serving())
            .chain(binding.fallback.as_ref());
        let mut assigned = None;
        for version in versions {
            let batch = ProfileBatch::of(features.iter(), version.plugin.columns);
            match ctx.slots.classify(version, Arc::new(batch)).await {
                Ok(classification) => {
                    assigned = memberships(version, &classification).next();
                    break;
                }
                Err(err) => tracing::warn!(slot = %binding.slot, "segmenter failed: {err}"),
            }
        }
        if let (Some(enrolment), Some(live), Some(_)) = (enrolment, &binding.experiment, &assigned)
        {
            ctx.exposures
                .log([live.exposure(enrolment, customer_id, now)]);
        }
        let Some(Membership { segment, score }) = assigned else {
            continue;
        };
        let txn = crate::database::begin_write(db).await?;
        let before = segments_of(&txn, &binding.slot, &[customer_id])
            .await?
            .remove(&customer_id);
        segment_membership::Entity::insert(segment_membership::ActiveModel {
            slot: Set(binding.slot.clone()),
            customer_id: Set(customer_id),
            segment: Set(segment.clone()),
            score: Set(score),
        })
        .on_conflict(
            OnConflict::columns([
                segment_membership::Column::Slot,
                segment_membership::Column::CustomerId,
            ])
            .update_columns([
                segment_membership::Column::Segment,
                segment_membership::Column::Score,
            ])
            .to_owned(),
        )
        .exec(&txn)
        .await?;
        let from = before.map(|m| m.segment);
        if from.as_deref() != Some(segment.as_str()) {
            segment_change::ActiveModel {
                slot: Set(binding.slot.clone()),
                customer_id: Set(customer_id),
                from_segment: Set(from.clone()),
                to_segment: Set(Some(segment.clone())),
                run_id: Set(None),
                changed_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            let loyalty_settings = &ctx.settings.loyalty;
            if binding.slot == loyalty_settings.level_slot {
                let moved = loyalty::levels::Move {
                    customer_id,
                    from,
                    to: Some(segment),
                };
                loyalty::levels::retain_demoted(&txn, loyalty_settings, &[moved], now).await?;
            }
        }
        txn.commit().await?;
    }
    Ok(())
}

/// `reclassify` after a committed write: the write stands whatever happens here,
/// so a failure is logged, not returned.
pub async fn reclassify_after_change(ctx: &AppContext, customer_id: i64) {
    if let Err(err) = reclassify(ctx, customer_id).await {
        tracing::warn!(customer_id, "real-time reclassification failed: {err}");
    }
}

/// A customer's segment changes in `slot`, newest first.
pub async fn history(
    db: &impl ConnectionTrait,
    slot_name: &str,
    customer_id: i64,
    limit: u64,
) -> ServiceResult<Vec<segment_change::Model>> {
    Ok(segment_change::Entity::find()
        .filter(segment_change::Column::Slot.eq(slot_name))
        .filter(segment_change::Column::CustomerId.eq(customer_id))
        .order_by_desc(segment_change::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// A slot's latest runs, newest first.
pub async fn runs(
    db: &impl ConnectionTrait,
    slot_name: &str,
    limit: u64,
) -> ServiceResult<Vec<segment_run::Model>> {
    Ok(segment_run::Entity::find()
        .filter(segment_run::Column::Slot.eq(slot_name))
        .order_by_desc(segment_run::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
