//! One classification of every customer with a slot's plugin.

use sea_orm::entity::prelude::*;

use super::RunStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "segment_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub slot: String,
    pub plugin_id: i64,
    pub status: RunStatus,
    pub customers: i64,
    /// Customers whose segment differs from the previous run.
    pub changed: i64,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
