//! A fitted customer-lifetime-value model: its parameters and per-segment
//! totals as JSON (the gateway's `analytics::lifetime_value` owns the shape).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clv_models")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub fitted_at: DateTimeUtc,
    #[sea_orm(column_type = "Json")]
    pub model: Json,
    pub fitted_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
