//! One refund of (part of) an order, as the shop's payment system made it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_refunds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: i64,
    /// Refunded by this refund, in minor units of the order's currency.
    pub amount_minor: i64,
    pub reason: String,
    /// Who recorded it: the caller's name.
    pub actor: String,
    /// The client's key: a retried request returns this refund, not a second.
    #[sea_orm(unique)]
    pub idempotency_key: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
