//! Published plugin versions in the database, content-addressed by SHA-256 so
//! every replica loads exactly the same bytes. Publishing validates before it
//! stores: a component of a known world that describes itself sensibly and runs a
//! smoke batch within limits.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use retain_schema::plugin::{self, PluginInfo};
use retain_schema::{PluginKind, plugin_component};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use sha2::{Digest, Sha256};

use super::engine::PluginEngine;
use super::loader::LoadedPlugin;
use super::v1;
use crate::auth::Principal;
use crate::error::{ServiceError, ServiceResult};
use crate::services::audit;

/// The field publish errors are reported on.
const FIELD: &str = "component";

/// A segment key as stored and used in filters: short, lowercase, URL-safe.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The outcome of a publish: the stored version, and whether it was already there.
pub struct Published {
    pub plugin: plugin::Model,
    pub already_published: bool,
}

/// Validates and stores a plugin version. A core module built with wit-bindgen
/// is turned into a component first, so authors can publish cargo's output as is.
pub async fn publish(
    db: &DatabaseConnection,
    engine: &PluginEngine,
    bytes: &[u8],
    max_bytes: usize,
    uploaded_by: &Principal,
    now: DateTime<Utc>,
) -> ServiceResult<Published> {
    if bytes.len() > max_bytes {
        return Err(ServiceError::invalid(
            FIELD,
            format!("{} bytes is over the limit of {max_bytes}", bytes.len()),
        ));
    }
    let component = componentize(bytes)?;
    let loaded = {
        let engine = engine.clone();
        let component = component.clone();
        tokio::task::spawn_blocking(move || validate(&engine, &component))
            .await
            .map_err(|err| ServiceError::invalid(FIELD, format!("validation panicked: {err}")))??
    };
    let sha256 = hex::encode(Sha256::digest(&component));

    let txn = db.begin().await?;
    if let Some(existing) = plugin::Entity::find()
        .filter(plugin::Column::Sha256.eq(&sha256))
        .one(&txn)
        .await?
    {
        return Ok(Published {
            plugin: existing,
            already_published: true,
        });
    }
    let row = plugin::ActiveModel {
        sha256: Set(sha256),
        kind: Set(loaded.kind),
        name: Set(loaded.name.clone()),
        version: Set(loaded.version.clone()),
        contract: Set(v1::CONTRACT.into()),
        description: Set(loaded.description.clone()),
        info: Set(loaded.info.clone()),
        size_bytes: Set(component.len() as i64),
        uploaded_by: Set(uploaded_by.name.clone()),
        published_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|err| {
        ServiceError::on_insert(
            err,
            FIELD,
            format!(
                "{} {} is already published with other content; publish it under a new version",
                loaded.name, loaded.version
            ),
        )
    })?;
    plugin_component::ActiveModel {
        plugin_id: Set(row.id),
        bytes: Set(component),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        uploaded_by,
        "plugin.publish",
        format!("{}@{}", row.name, row.version),
        serde_json::json!({ "sha256": row.sha256, "kind": row.kind, "bytes": row.size_bytes }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(Published {
        plugin: row,
        already_published: false,
    })
}

/// Turns a core module carrying wit-bindgen's component type into a component;
/// components pass through.
pub fn componentize(bytes: &[u8]) -> ServiceResult<Vec<u8>> {
    if wasmparser::Parser::is_core_wasm(bytes) {
        retain_plugin_build::componentize(bytes)
            .map_err(|err| ServiceError::invalid(FIELD, err.to_string()))
    } else {
        Ok(bytes.to_vec())
    }
}

/// What publish checks beyond loading: a name and version, sensible segments, and
/// a smoke call that succeeds within limits.
fn validate(engine: &PluginEngine, component: &[u8]) -> ServiceResult<Arc<LoadedPlugin>> {
    let loaded = LoadedPlugin::load(engine, component)
        .map_err(|err| ServiceError::invalid(FIELD, err.to_string()))?;
    let refuse = |reason: String| ServiceError::invalid(FIELD, reason);
    if loaded.name.trim().is_empty() || loaded.version.trim().is_empty() {
        return Err(refuse("describe() must give a name and a version".into()));
    }
    if loaded.name.len() > 100 || loaded.version.len() > 50 {
        return Err(refuse("describe(): the name or version is too long".into()));
    }
    if loaded.kind == PluginKind::Segmenter {
        check_segments(&loaded.info).map_err(refuse)?;
    }
    loaded
        .smoke_call("{}")
        .map_err(|err| refuse(format!("the smoke call failed: the plugin {err}")))?;
    Ok(loaded)
}

fn check_segments(info: &PluginInfo) -> Result<(), String> {
    if info.segments.is_empty() {
        return Err("describe(): a segmenter must declare at least one segment".into());
    }
    if info.segments.len() > usize::from(u16::MAX) {
        return Err("describe(): too many segments".into());
    }
    let mut seen = HashSet::new();
    for segment in &info.segments {
        if !valid_key(&segment.key) {
            return Err(format!(
                "describe(): segment key {:?} must be 1–64 of a-z, 0-9, '-' and '_'",
                segment.key
            ));
        }
        if !seen.insert(&segment.key) {
            return Err(format!(
                "describe(): segment key {:?} is declared twice",
                segment.key
            ));
        }
    }
    Ok(())
}

/// Published versions, newest first, optionally of one kind.
pub async fn list(
    db: &impl ConnectionTrait,
    kind: Option<PluginKind>,
) -> ServiceResult<Vec<plugin::Model>> {
    let mut query = plugin::Entity::find().order_by_desc(plugin::Column::Id);
    if let Some(kind) = kind {
        query = query.filter(plugin::Column::Kind.eq(kind));
    }
    Ok(query.all(db).await?)
}

/// A version by id, or by `name@version`, or by a SHA-256 prefix of at least 8.
pub async fn find(db: &impl ConnectionTrait, reference: &str) -> ServiceResult<plugin::Model> {
    let query = if let Ok(id) = reference.parse::<i64>() {
        plugin::Entity::find_by_id(id)
    } else if let Some((name, version)) = reference.split_once('@') {
        plugin::Entity::find()
            .filter(plugin::Column::Name.eq(name))
            .filter(plugin::Column::Version.eq(version))
    } else if reference.len() >= 8 && reference.bytes().all(|b| b.is_ascii_hexdigit()) {
        plugin::Entity::find().filter(plugin::Column::Sha256.starts_with(reference))
    } else {
        return Err(ServiceError::invalid(
            "plugin",
            "give an id, name@version or a SHA-256 prefix of at least 8 hex digits",
        ));
    };
    query
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::not_found("plugin", reference))
}

/// The component bytes of a version.
pub async fn component(db: &impl ConnectionTrait, plugin_id: i64) -> ServiceResult<Vec<u8>> {
    plugin_component::Entity::find_by_id(plugin_id)
        .one(db)
        .await?
        .map(|row| row.bytes)
        .ok_or_else(|| ServiceError::not_found("plugin component", plugin_id))
}

/// Stops serving a version that keeps failing; activations refuse it from now on.
pub async fn quarantine(
    db: &impl ConnectionTrait,
    plugin_id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    plugin::Entity::update_many()
        .col_expr(plugin::Column::QuarantinedAt, now.into())
        .col_expr(plugin::Column::QuarantineReason, reason.into())
        .filter(plugin::Column::Id.eq(plugin_id))
        .filter(plugin::Column::QuarantinedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}
