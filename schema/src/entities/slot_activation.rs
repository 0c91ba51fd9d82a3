//! The history of a slot: every activation and rollback, who made it and when.

use sea_orm::entity::prelude::*;

use super::SlotAction;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "slot_activations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub slot: String,
    pub plugin_id: i64,
    #[sea_orm(column_type = "Json")]
    pub config: Json,
    pub action: SlotAction,
    /// The activation a rollback from this one restores; none for the first.
    pub rollback_to: Option<i64>,
    pub actor: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
