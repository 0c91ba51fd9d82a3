//! A membership level a customer keeps after the level plugin demoted them,
//! because they met the level's retention rule, until `held_until`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "level_holdings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: i64,
    /// The retained level's segment key, e.g. `gold`.
    pub level: String,
    pub held_until: DateTimeUtc,
    pub granted_at: DateTimeUtc,
    /// Repurchases in the year before the demotion: what earned the retention.
    pub repurchases: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
