//! A customer entering or leaving a segment of a slot.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "segment_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub slot: String,
    pub customer_id: i64,
    /// None when the customer had no segment in the slot before.
    pub from_segment: Option<String>,
    pub to_segment: Option<String>,
    /// The run that made the change; none for a real-time reclassification.
    pub run_id: Option<i64>,
    pub changed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
