//! One arm of an experiment: a plugin version with its slot config and weight.
//! Position 0 is the control.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "experiment_variants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub experiment_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    pub key: String,
    pub plugin_id: i64,
    #[sea_orm(column_type = "Json")]
    pub config: Json,
    pub weight: f64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
