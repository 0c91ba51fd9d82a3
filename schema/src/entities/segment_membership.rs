//! A customer's segment and score in a slot: what the slot's latest published run
//! (or a real-time reclassification since) assigned.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "segment_memberships")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub slot: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: i64,
    pub segment: String,
    pub score: f64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
