//! Slots: named bindings (`tier`, `lifecycle`, `recs.home`, …) to one active plugin
//! version each. Activation and rollback are single transactions; every replica
//! polls the slot table and swaps its in-memory bindings atomically, so requests
//! already running finish on the version they started with.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use retain_schema::{
    PluginKind, SlotAction, experiment, experiment_variant, plugin, slot, slot_activation,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

use super::engine::PluginEngine;
use super::loader::{CallError, Classification, LoadedPlugin};
use super::registry;
use super::v1::types;
use crate::auth::Principal;
use crate::error::{ServiceError, ServiceResult};
use crate::metrics::{Metrics, PluginCallLabels, PluginLabels, SlotLabels};
use crate::services::audit;
use crate::services::experiments::{self, live::LiveExperiment};
use crate::services::recommendations::CatalogFacts;

/// How far back a slot's history is searched for a version to fall back to.
const MAX_FALLBACK_STEPS: usize = 50;

/// One plugin version as a slot serves it: compiled, with the slot's config.
#[derive(Debug, Clone)]
pub struct Version {
    pub plugin_id: i64,
    pub plugin: Arc<LoadedPlugin>,
    pub config: String,
}

impl Version {
    /// `name@version`, as metrics and logs name it.
    pub fn label(&self) -> String {
        format!("{}@{}", self.plugin.name, self.plugin.version)
    }
}

/// A slot as this replica serves it.
#[derive(Debug)]
pub struct Binding {
    pub slot: String,
    pub kind: PluginKind,
    pub activation_id: i64,
    pub active: Version,
    /// The version a rollback would restore; served while the active one is
    /// quarantined.
    pub fallback: Option<Version>,
    pub active_quarantined: bool,
    /// The experiment running on the slot, whose variants serve the customers
    /// it enrols.
    pub experiment: Option<Arc<LiveExperiment>>,
}

impl Binding {
    /// The version requests should use now.
    pub fn serving(&self) -> Option<&Version> {
        if self.active_quarantined {
            self.fallback.as_ref()
        } else {
            Some(&self.active)
        }
    }
}

/// The live bindings of every slot, refreshed from the database.
pub struct SlotTable {
    engine: PluginEngine,
    db: DatabaseConnection,
    metrics: Arc<Metrics>,
    quarantine_after: u32,
    bindings: ArcSwap<HashMap<String, Arc<Binding>>>,
    /// Compiled versions by plugin id: a version compiles once per process.
    compiled: Mutex<HashMap<i64, Arc<LoadedPlugin>>>,
    /// Failed calls in a row, per plugin id.
    failures: Mutex<HashMap<i64, u32>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl SlotTable {
    pub async fn new(
        engine: PluginEngine,
        db: DatabaseConnection,
        metrics: Arc<Metrics>,
        quarantine_after: u32,
    ) -> ServiceResult<Arc<Self>> {
        let table = Arc::new(Self {
            engine,
            db,
            metrics,
            quarantine_after,
            bindings: ArcSwap::default(),
            compiled: Mutex::default(),
            failures: Mutex::default(),
            refreshing: tokio::sync::Mutex::new(()),
        });
        table.refresh().await?;
        Ok(table)
    }

    pub fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Polls the database for changes made through any replica until the table
    /// is dropped.
    pub fn watch(self: &Arc<Self>, every: Duration) {
        let table: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(table) = table.upgrade() else { break };
                if let Err(err) = table.refresh().await {
                    tracing::warn!(error = %err, "refreshing plugin slots failed");
                }
            }
        });
    }

    /// The binding of `slot`, as of now.
    pub fn binding(&self, slot: &str) -> Option<Arc<Binding>> {
        self.bindings.load().get(slot).cloned()
    }

    /// Every slot's binding, by name.
    pub fn bindings(&self) -> Arc<HashMap<String, Arc<Binding>>> {
        self.bindings.load_full()
    }

    /// Reloads the bindings whose activation, quarantine or experiment changed.
    pub async fn refresh(&self) -> ServiceResult<()> {
        let _one_at_a_time = self.refreshing.lock().await;
        let rows = slot::Entity::find().all(&self.db).await?;
        let quarantined: HashSet<i64> = plugin::Entity::find()
            .select_only()
            .column(plugin::Column::Id)
            .filter(plugin::Column::QuarantinedAt.is_not_null())
            .into_tuple::<i64>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        let running: HashMap<String, experiment::Model> = experiments::running(&self.db)
            .await?
            .into_iter()
            .map(|e| (e.slot.clone(), e))
            .collect();
        let current = self.bindings.load_full();
        let mut next = HashMap::with_capacity(rows.len());
        for row in rows {
            let active_quarantined = quarantined.contains(&row.plugin_id);
            let experiment = running.get(&row.name);
            let stamp = experiment.map(LiveExperiment::stamp_of);
            let binding = match current.get(&row.name) {
                Some(b)
                    if b.activation_id == row.activation_id
                        && b.active_quarantined == active_quarantined
                        && b.experiment.as_ref().map(|e| e.stamp()) == stamp =>
                {
                    b.clone()
                }
                _ => match self.bind(&row, &quarantined, experiment).await {
                    Ok(binding) => Arc::new(binding),
                    Err(err) => {
                        tracing::error!(slot = %row.name, error = %err, "cannot load the slot's plugin; keeping the previous binding");
                        match current.get(&row.name) {
                            Some(previous) => previous.clone(),
                            None => continue,
                        }
                    }
                },
            };
            next.insert(row.name.clone(), binding);
        }
        self.metrics.slot_serving.clear();
        for binding in next.values() {
            if let Some(version) = binding.serving() {
                let labels = SlotLabels {
                    slot: binding.slot.clone(),
                    plugin: version.label(),
                };
                self.metrics.slot_serving.get_or_create(&labels).set(1);
            }
        }
        self.bindings.store(Arc::new(next));
        Ok(())
    }

    async fn bind(
        &self,
        row: &slot::Model,
        quarantined: &HashSet<i64>,
        experiment: Option<&experiment::Model>,
    ) -> ServiceResult<Binding> {
        let active = Version {
            plugin_id: row.plugin_id,
            plugin: self.compiled(row.plugin_id).await?,
            config: row.config.to_string(),
        };
        let experiment = match experiment {
            Some(experiment) => Some(Arc::new(self.live_experiment(experiment).await?)),
            None => None,
        };
        Ok(Binding {
            slot: row.name.clone(),
            kind: row.kind,
            activation_id: row.activation_id,
            active,
            fallback: self.fallback(row, quarantined).await?,
            active_quarantined: quarantined.contains(&row.plugin_id),
            experiment,
        })
    }

    /// A running experiment with its variants compiled.
    async fn live_experiment(&self, row: &experiment::Model) -> ServiceResult<LiveExperiment> {
        let variants = experiment_variant::Entity::find()
            .filter(experiment_variant::Column::ExperimentId.eq(row.id))
            .order_by_asc(experiment_variant::Column::Position)
            .all(&self.db)
            .await?;
        let mut versions = Vec::with_capacity(variants.len());
        for variant in &variants {
            versions.push(Version {
                plugin_id: variant.plugin_id,
                plugin: self.compiled(variant.plugin_id).await?,
                config: variant.config.to_string(),
            });
        }
        let weights: Vec<f64> = variants.iter().map(|v| v.weight).collect();
        Ok(LiveExperiment::new(row, &weights, versions))
    }

    /// The newest earlier activation of another version that is not
    /// quarantined: what a failing active version falls back to.
    async fn fallback(
        &self,
        row: &slot::Model,
        quarantined: &HashSet<i64>,
    ) -> ServiceResult<Option<Version>> {
        let mut next = slot_activation::Entity::find_by_id(row.activation_id)
            .one(&self.db)
            .await?
            .and_then(|a| a.rollback_to);
        for _ in 0..MAX_FALLBACK_STEPS {
            let Some(id) = next else { break };
            let Some(earlier) = slot_activation::Entity::find_by_id(id)
                .one(&self.db)
                .await?
            else {
                break;
            };
            if earlier.plugin_id != row.plugin_id && !quarantined.contains(&earlier.plugin_id) {
                return Ok(Some(Version {
                    plugin_id: earlier.plugin_id,
                    plugin: self.compiled(earlier.plugin_id).await?,
                    config: earlier.config.to_string(),
                }));
            }
            next = earlier.rollback_to;
        }
        Ok(None)
    }

    /// The compiled version `plugin_id`, compiling it on first use.
    pub async fn compiled(&self, plugin_id: i64) -> ServiceResult<Arc<LoadedPlugin>> {
        if let Some(plugin) = self.compiled.lock().expect("not poisoned").get(&plugin_id) {
            return Ok(plugin.clone());
        }
        let bytes = registry::component(&self.db, plugin_id).await?;
        let engine = self.engine.clone();
        let plugin = tokio::task::spawn_blocking(move || LoadedPlugin::load(&engine, &bytes))
            .await
            .map_err(|err| ServiceError::invalid("plugin", format!("loading panicked: {err}")))?
            .map_err(|err| ServiceError::invalid("plugin", err.to_string()))?;
        self.compiled
            .lock()
            .expect("not poisoned")
            .insert(plugin_id, plugin.clone());
        Ok(plugin)
    }

    /// Classifies a batch with one version, off the async runtime.
    pub async fn classify(
        &self,
        version: &Version,
        batch: Arc<types::ProfileBatch>,
    ) -> Result<Classification, CallError> {
        self.call(version, move |plugin, config| {
            plugin.classify(config, &batch)
        })
        .await
    }

    /// Recommends with one version, off the async runtime.
    pub async fn recommend(
        &self,
        version: &Version,
        context: types::CustomerContext,
        limit: u32,
        catalog: Arc<CatalogFacts>,
    ) -> Result<Vec<types::Recommendation>, CallError> {
        self.call(version, move |plugin, config| {
            plugin.recommend(config, &context, limit, catalog)
        })
        .await
    }

    /// Runs one plugin call on a blocking thread once an instance slot is free,
    /// and counts its outcome towards quarantine.
    async fn call<T: Send + 'static>(
        &self,
        version: &Version,
        f: impl FnOnce(&LoadedPlugin, &str) -> Result<T, CallError> + Send + 'static,
    ) -> Result<T, CallError> {
        let _permit = self.engine.instances.acquire().await.expect("never closed");
        let plugin = version.plugin.clone();
        let config = version.config.clone();
        let started = std::time::Instant::now();
        let outcome = tokio::task::spawn_blocking(move || f(&plugin, &config))
            .await
            .unwrap_or_else(|err| Err(CallError::Trap(format!("the host call panicked: {err}"))));
        let plugin = version.label();
        self.metrics
            .plugin_call_duration
            .get_or_create(&PluginLabels {
                plugin: plugin.clone(),
            })
            .observe(started.elapsed().as_secs_f64());
        let outcome_label = match &outcome {
            Ok(_) => "ok",
            Err(err) => err.kind(),
        };
        self.metrics
            .plugin_calls
            .get_or_create(&PluginCallLabels {
                plugin,
                outcome: outcome_label.into(),
            })
            .inc();
        self.record(version, &outcome).await;
        outcome
    }

    /// Counts failures in a row; quarantines the version after too many.
    async fn record<T>(&self, version: &Version, outcome: &Result<T, CallError>) {
        let failures = {
            let mut failures = self.failures.lock().expect("not poisoned");
            match outcome {
                Ok(_) => {
                    failures.remove(&version.plugin_id);
                    return;
                }
                Err(_) => {
                    let count = failures.entry(version.plugin_id).or_default();
                    *count += 1;
                    *count
                }
            }
        };
        let Err(err) = outcome else { return };
        tracing::warn!(
            plugin = %version.plugin.name,
            version = %version.plugin.version,
            failures,
            "plugin call failed: {err}"
        );
        if failures >= self.quarantine_after {
            let reason = format!("{failures} failed calls in a row, the last: {err}");
            tracing::error!(plugin = %version.plugin.name, version = %version.plugin.version, "quarantining: {reason}");
            self.metrics
                .plugin_quarantines
                .get_or_create(&PluginLabels {
                    plugin: version.label(),
                })
                .inc();
            if let Err(db_err) =
                registry::quarantine(&self.db, version.plugin_id, &reason, Utc::now()).await
            {
                tracing::error!(error = %db_err, "recording the quarantine failed");
            }
            if let Err(db_err) = self.refresh().await {
                tracing::warn!(error = %db_err, "refreshing slots after a quarantine failed");
            }
        }
    }
}

/// A slot name: 1–64 of a-z, 0-9, '.', '-' and '_' (e.g. `recs.home`).
fn check_slot_name(name: &str) -> ServiceResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "slot",
            "must be 1–64 of a-z, 0-9, '.', '-' and '_'",
        ))
    }
}

/// Binds `slot` to a published version with `config` (an object; `{}` when none).
/// The config is tried on a smoke call first, so a bad one is refused here rather
/// than failing every request.
pub async fn activate(
    table: &SlotTable,
    slot_name: &str,
    plugin_ref: &str,
    config: Option<serde_json::Value>,
    actor: &Principal,
    now: DateTime<Utc>,
) -> ServiceResult<slot::Model> {
    check_slot_name(slot_name)?;
    let db = &table.db;
    let plugin = registry::find(db, plugin_ref).await?;
    if let Some(reason) = &plugin.quarantine_reason {
        return Err(ServiceError::conflict(
            "plugin",
            format!(
                "{} {} is quarantined ({reason})",
                plugin.name, plugin.version
            ),
        ));
    }
    let config = config.unwrap_or_else(|| serde_json::json!({}));
    if !config.is_object() {
        return Err(ServiceError::invalid("config", "must be a JSON object"));
    }
    let version = Version {
        plugin_id: plugin.id,
        plugin: table.compiled(plugin.id).await?,
        config: config.to_string(),
    };
    try_config(&version).await?;

    let txn = db.begin().await?;
    let existing = slot::Entity::find_by_id(slot_name).one(&txn).await?;
    if let Some(existing) = &existing
        && existing.kind != plugin.kind
    {
        return Err(ServiceError::invalid(
            "plugin",
            format!(
                "slot {slot_name} holds {:?} plugins and {} {} is a {:?}",
                existing.kind, plugin.name, plugin.version, plugin.kind
            )
            .to_lowercase(),
        ));
    }
    let activation = slot_activation::ActiveModel {
        slot: Set(slot_name.into()),
        plugin_id: Set(plugin.id),
        config: Set(config.clone()),
        action: Set(SlotAction::Activate),
        rollback_to: Set(existing.as_ref().map(|s| s.activation_id)),
        actor: Set(actor.name.clone()),
        at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let bound = bind(&txn, existing, slot_name, plugin.kind, &activation).await?;
    audit::record(
        &txn,
        actor,
        "plugin.activate",
        slot_name,
        serde_json::json!({
            "plugin": format!("{}@{}", plugin.name, plugin.version),
            "config": config,
        }),
        now,
    )
    .await?;
    txn.commit().await?;
    table.refresh().await?;
    Ok(bound)
}

/// Restores the version that was active before the current one.
pub async fn rollback(
    table: &SlotTable,
    slot_name: &str,
    actor: &Principal,
    now: DateTime<Utc>,
) -> ServiceResult<slot::Model> {
    let db = &table.db;
    let txn = db.begin().await?;
    let existing = slot::Entity::find_by_id(slot_name)
        .one(&txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("slot", slot_name))?;
    let current = slot_activation::Entity::find_by_id(existing.activation_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("slot activation", existing.activation_id))?;
    let target = match current.rollback_to {
        Some(id) => slot_activation::Entity::find_by_id(id).one(&txn).await?,
        None => None,
    }
    .ok_or_else(|| {
        ServiceError::conflict(
            "slot",
            format!("slot {slot_name} has no earlier version to roll back to"),
        )
    })?;
    let activation = slot_activation::ActiveModel {
        slot: Set(slot_name.into()),
        plugin_id: Set(target.plugin_id),
        config: Set(target.config.clone()),
        action: Set(SlotAction::Rollback),
        rollback_to: Set(target.rollback_to),
        actor: Set(actor.name.clone()),
        at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let kind = existing.kind;
    let bound = bind(&txn, Some(existing), slot_name, kind, &activation).await?;
    audit::record(
        &txn,
        actor,
        "slot.rollback",
        slot_name,
        serde_json::json!({ "plugin_id": target.plugin_id, "config": target.config }),
        now,
    )
    .await?;
    txn.commit().await?;
    table.refresh().await?;
    Ok(bound)
}

/// Points the slot row at `activation`, creating the row for a new slot.
async fn bind(
    txn: &impl sea_orm::ConnectionTrait,
    existing: Option<slot::Model>,
    slot_name: &str,
    kind: PluginKind,
    activation: &slot_activation::Model,
) -> ServiceResult<slot::Model> {
    let row = slot::ActiveModel {
        name: Set(slot_name.into()),
        kind: Set(kind),
        plugin_id: Set(activation.plugin_id),
        config: Set(activation.config.clone()),
        activation_id: Set(activation.id),
        current_run_id: Set(existing.as_ref().and_then(|s| s.current_run_id)),
        updated_at: Set(activation.at),
    };
    Ok(match existing {
        Some(_) => row.update(txn).await?,
        None => row.insert(txn).await?,
    })
}

/// Runs the smoke call with the slot's config, so a config the plugin rejects
/// is refused at activation.
pub async fn try_config(version: &Version) -> ServiceResult<()> {
    let plugin = version.plugin.clone();
    let config = version.config.clone();
    let outcome = tokio::task::spawn_blocking(move || plugin.smoke_call(&config)).await;
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(CallError::Refused(reason))) => Err(ServiceError::invalid("config", reason)),
        Ok(Err(err)) => Err(ServiceError::invalid(
            "config",
            format!("the plugin {err} with this config"),
        )),
        Err(err) => Err(ServiceError::invalid("config", format!("panicked: {err}"))),
    }
}

/// A slot's activations, newest first.
pub async fn history(
    db: &DatabaseConnection,
    slot_name: &str,
) -> ServiceResult<Vec<slot_activation::Model>> {
    Ok(slot_activation::Entity::find()
        .filter(slot_activation::Column::Slot.eq(slot_name))
        .order_by_desc(slot_activation::Column::Id)
        .all(db)
        .await?)
}
