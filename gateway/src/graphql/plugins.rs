//! Strategy plugins in GraphQL: published versions, slots with their history,
//! and the publish / activate / roll back workflow.

use async_graphql::{Context, Json, Object, Result, SimpleObject, Upload};
use chrono::{DateTime, Utc};
use retain_schema::{PluginKind, SlotAction, plugin, slot, slot_activation};
use sea_orm::EntityTrait;
use std::io::Read;

use crate::app::{app_context, caller};
use crate::error::ServiceError;
use crate::graphql::errors::GqlResultExt;
use crate::graphql::loaders::loaders;
use crate::graphql::segments::SegmentRun;
use crate::plugins::{registry, slots};
use crate::services::segmentation;

/// A published plugin version: a content-addressed WebAssembly component.
pub struct Plugin(pub plugin::Model);

impl Plugin {
    pub async fn load(ctx: &Context<'_>, id: i64) -> Result<Self> {
        loaders(ctx)
            .plugins
            .load_one(id)
            .await
            .gql()?
            .map(Plugin)
            .ok_or_else(|| ServiceError::not_found("plugin", id))
            .gql()
    }
}

/// A segment a segmenter declares.
#[derive(SimpleObject)]
pub struct SegmentDeclaration {
    pub key: String,
    pub label: String,
    pub description: String,
}

#[Object]
impl Plugin {
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn version(&self) -> &str {
        &self.0.version
    }
    /// `name@version`, accepted wherever a plugin is referred to.
    async fn reference(&self) -> String {
        format!("{}@{}", self.0.name, self.0.version)
    }
    async fn kind(&self) -> PluginKind {
        self.0.kind
    }
    /// Hex SHA-256 of the component: the version's identity.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// The WIT package the component implements.
    async fn contract(&self) -> &str {
        &self.0.contract
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// The rule file a version compiled from rules was made of (it is in the
    /// description too); null for plugins written in code.
    async fn rules_source(&self) -> Option<&str> {
        retain_rules::source_in(&self.0.description)
    }
    async fn size_bytes(&self) -> i64 {
        self.0.size_bytes
    }
    async fn uploaded_by(&self) -> &str {
        &self.0.uploaded_by
    }
    async fn published_at(&self) -> DateTime<Utc> {
        self.0.published_at
    }
    /// Segments a segmenter assigns; empty for recommenders.
    async fn segments(&self) -> Vec<SegmentDeclaration> {
        self.0
            .info
            .segments
            .iter()
            .map(|s| SegmentDeclaration {
                key: s.key.clone(),
                label: s.label.clone(),
                description: s.description.clone(),
            })
            .collect()
    }
    /// Profile features a segmenter reads.
    async fn features(&self) -> &[String] {
        &self.0.info.features
    }
    /// When the version was taken out of service after repeated failures.
    async fn quarantined_at(&self) -> Option<DateTime<Utc>> {
        self.0.quarantined_at
    }
    async fn quarantine_reason(&self) -> Option<&str> {
        self.0.quarantine_reason.as_deref()
    }
}

/// A named binding to one active plugin version.
pub struct Slot(pub slot::Model);

#[Object]
impl Slot {
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> PluginKind {
        self.0.kind
    }
    /// The active version.
    async fn plugin(&self, ctx: &Context<'_>) -> Result<Plugin> {
        Plugin::load(ctx, self.0.plugin_id).await
    }
    /// The version actually answering: the active one, or the previous one while
    /// the active version is quarantined.
    async fn serving(&self, ctx: &Context<'_>) -> Result<Option<Plugin>> {
        let binding = app_context(ctx).slots.binding(&self.0.name);
        match binding.as_ref().and_then(|b| b.serving()) {
            Some(version) => Plugin::load(ctx, version.plugin_id).await.map(Some),
            None => Ok(None),
        }
    }
    /// The plugin configuration of this slot.
    async fn config(&self) -> Json<serde_json::Value> {
        Json(self.0.config.clone())
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Activations and rollbacks, newest first.
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> Result<Vec<SlotActivation>> {
        let db = &app_context(ctx).db;
        let mut history = slots::history(db, &self.0.name).await.gql()?;
        history.truncate(first as usize);
        Ok(history.into_iter().map(SlotActivation).collect())
    }
    /// Segmentation runs, newest first.
    async fn runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> Result<Vec<SegmentRun>> {
        let db = &app_context(ctx).db;
        Ok(segmentation::runs(db, &self.0.name, first as u64)
            .await
            .gql()?
            .into_iter()
            .map(SegmentRun)
            .collect())
    }
}

/// One change of a slot's binding.
pub struct SlotActivation(pub slot_activation::Model);

#[Object]
impl SlotActivation {
    async fn action(&self) -> SlotAction {
        self.0.action
    }
    async fn plugin(&self, ctx: &Context<'_>) -> Result<Plugin> {
        Plugin::load(ctx, self.0.plugin_id).await
    }
    async fn config(&self) -> Json<serde_json::Value> {
        Json(self.0.config.clone())
    }
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

/// The answer to a publish.
#[derive(SimpleObject)]
pub struct PublishPluginPayload {
    pub plugin: Plugin,
    /// True when the same component was published before; nothing was stored.
    pub already_published: bool,
}

#[derive(Default)]
pub struct PluginQuery;

#[Object]
impl PluginQuery {
    /// Published versions, newest first.
    async fn plugins(&self, ctx: &Context<'_>, kind: Option<PluginKind>) -> Result<Vec<Plugin>> {
        let db = &app_context(ctx).db;
        Ok(registry::list(db, kind)
            .await
            .gql()?
            .into_iter()
            .map(Plugin)
            .collect())
    }

    /// Every slot, by name.
    async fn slots(&self, ctx: &Context<'_>) -> Result<Vec<Slot>> {
        let db = &app_context(ctx).db;
        let mut slots = slot::Entity::find()
            .all(db)
            .await
            .map_err(ServiceError::from)
            .gql()?;
        slots.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(slots.into_iter().map(Slot).collect())
    }

    async fn slot(&self, ctx: &Context<'_>, name: String) -> Result<Option<Slot>> {
        let db = &app_context(ctx).db;
        Ok(slot::Entity::find_by_id(name)
            .one(db)
            .await
            .map_err(ServiceError::from)
            .gql()?
            .map(Slot))
    }
}

#[derive(Default)]
pub struct PluginMutation;

#[Object]
impl PluginMutation {
    /// Publishes a plugin version uploaded as a file (GraphQL multipart request):
    /// a WebAssembly component, or a core module built with wit-bindgen. It is
    /// validated (world, `describe`, a smoke call within limits) before it is
    /// stored; nothing is activated.
    async fn publish_plugin(
        &self,
        ctx: &Context<'_>,
        component: Upload,
    ) -> Result<PublishPluginPayload> {
        let app = app_context(ctx);
        let mut bytes = Vec::new();
        component
            .value(ctx)?
            .into_read()
            .read_to_end(&mut bytes)
            .map_err(|err| ServiceError::invalid("component", format!("unreadable: {err}")))
            .gql()?;
        let published = registry::publish(
            &app.db,
            app.slots.engine(),
            &bytes,
            app.settings.plugins.max_component_bytes,
            caller(ctx)?,
            Utc::now(),
        )
        .await
        .gql()?;
        Ok(PublishPluginPayload {
            plugin: Plugin(published.plugin),
            already_published: published.already_published,
        })
    }

    /// Binds `slot` to a published version (`name@version`, or a SHA-256 prefix)
    /// with an optional JSON config. New requests use it at once on every replica.
    /// With `resegment`, a segmenter slot is re-segmented in the background
    /// (follow it in `slot { runs }`).
    async fn activate_plugin(
        &self,
        ctx: &Context<'_>,
        slot: String,
        plugin: String,
        config: Option<Json<serde_json::Value>>,
        #[graphql(default = true)] resegment: bool,
    ) -> Result<Slot> {
        let app = app_context(ctx);
        let bound = slots::activate(
            &app.slots,
            &slot,
            &plugin,
            config.map(|c| c.0),
            caller(ctx)?,
            Utc::now(),
        )
        .await
        .gql()?;
        if resegment {
            resegment_in_background(ctx, &bound.name, bound.kind);
        }
        Ok(Slot(bound))
    }

    /// Restores the version that was active before the current one; `resegment`
    /// as for `activatePlugin`.
    async fn rollback_slot(
        &self,
        ctx: &Context<'_>,
        slot: String,
        #[graphql(default = true)] resegment: bool,
    ) -> Result<Slot> {
        let app = app_context(ctx);
        let bound = slots::rollback(&app.slots, &slot, caller(ctx)?, Utc::now())
            .await
            .gql()?;
        if resegment {
            resegment_in_background(ctx, &bound.name, bound.kind);
        }
        Ok(Slot(bound))
    }
}

/// Starts a segmentation run after a segmenter slot changed (its version or its
/// experiment), so stored segments follow without anyone asking.
pub fn resegment_in_background(ctx: &Context<'_>, slot: &str, kind: PluginKind) {
    if kind != PluginKind::Segmenter {
        return;
    }
    let app = ctx
        .data_unchecked::<std::sync::Arc<crate::app::AppContext>>()
        .clone();
    let slot = slot.to_owned();
    tokio::spawn(async move {
        if let Err(err) = segmentation::run(&app, &slot, &|_, _| {}).await {
            tracing::warn!(
                slot,
                "segmentation after a slot change did not complete: {err}"
            );
        }
    });
}
