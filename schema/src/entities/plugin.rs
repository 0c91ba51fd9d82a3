//! A published strategy plugin version: a content-addressed WebAssembly component.

use sea_orm::FromJsonQueryResult;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use super::PluginKind;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "plugins")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Hex SHA-256 of the component bytes.
    #[sea_orm(unique)]
    pub sha256: String,
    pub kind: PluginKind,
    pub name: String,
    pub version: String,
    /// The WIT package the component was built against, e.g. `retain:strategy@1.0.0`.
    pub contract: String,
    pub description: String,
    #[sea_orm(column_type = "Json")]
    pub info: PluginInfo,
    pub size_bytes: i64,
    pub uploaded_by: String,
    pub published_at: DateTimeUtc,
    /// Set when the version failed repeatedly at run time; slots stop serving it.
    pub quarantined_at: Option<DateTimeUtc>,
    pub quarantine_reason: Option<String>,
}

/// What the plugin said about itself when it was published.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct PluginInfo {
    pub segments: Vec<SegmentInfo>,
    /// Profile features a segmenter reads, by WIT name (`spend-365d`, …).
    pub features: Vec<String>,
}

/// One segment a segmenter assigns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentInfo {
    pub key: String,
    pub label: String,
    pub description: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
