//! One privileged change: who made it, what it was, and when. Append-only.

use sea_orm::entity::prelude::*;

use super::Role;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    /// The key's name (`key:NAME`), or `cli` for the command line.
    pub actor: String,
    pub actor_role: Role,
    /// What was done, e.g. `plugin.activate`.
    pub action: String,
    /// What it was done to, e.g. a slot name or a customer id.
    pub target: String,
    #[sea_orm(column_type = "Json")]
    pub detail: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
