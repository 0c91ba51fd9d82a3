//! A membership a running segmentation run will set when it publishes: staged
//! only where it differs from the slot's current one.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "segment_run_updates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub run_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: i64,
    pub segment: String,
    pub score: f64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
