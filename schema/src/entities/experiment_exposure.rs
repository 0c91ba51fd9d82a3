//! The first time a customer was served their variant of an experiment: logged
//! once per customer and bucket version, and the customer's sticky assignment.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "experiment_exposures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub experiment_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub bucket_version: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: i64,
    /// The variant's position.
    pub variant: i32,
    pub exposed_at: DateTimeUtc,
    /// The end of the conversion window: orders placed from `exposed_at` until
    /// then count for the customer's variant.
    pub converts_until: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
