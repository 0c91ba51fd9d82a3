//! A named binding (`tier`, `lifecycle`, `recs.home`, …) to one active plugin version.

use sea_orm::entity::prelude::*;

use super::PluginKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "slots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub kind: PluginKind,
    pub plugin_id: i64,
    /// The plugin's configuration for this slot, handed to every call.
    #[sea_orm(column_type = "Json")]
    pub config: Json,
    /// The activation that made the current binding; replicas compare it to notice
    /// changes.
    pub activation_id: i64,
    /// The segmentation run whose memberships readers see.
    pub current_run_id: Option<i64>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
