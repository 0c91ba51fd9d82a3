//! An API key. Only the SHA-256 of its secret is stored: the key itself is shown
//! once, when it is created.

use sea_orm::entity::prelude::*;

use super::Role;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Who or what holds the key, e.g. `storefront` or `ana@crm`; unique, so the
    /// audit log names one key.
    #[sea_orm(unique)]
    pub name: String,
    pub role: Role,
    /// The key's public prefix, which finds the row without scanning hashes.
    #[sea_orm(unique)]
    pub prefix: String,
    /// Hex SHA-256 of the whole key.
    pub secret_hash: String,
    pub created_at: DateTimeUtc,
    pub created_by: String,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
