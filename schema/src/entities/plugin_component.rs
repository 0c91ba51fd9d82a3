//! The bytes of a published plugin's component, kept apart from its metadata.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plugin_components")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub plugin_id: i64,
    #[sea_orm(column_type = "Blob")]
    pub bytes: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
