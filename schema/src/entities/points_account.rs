//! A customer's points balance: the one row every change of their points
//! updates, so concurrent debits serialise on it and the balance can never go
//! negative (a conditional update and a CHECK constraint both refuse it).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "points_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub customer_id: i64,
    /// Always the sum of the `remaining` points of the customer's lots.
    pub balance: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
