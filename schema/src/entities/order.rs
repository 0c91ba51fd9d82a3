//! An order with its totals and the time of every status change.

use sea_orm::entity::prelude::*;

use super::{Channel, OrderStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The order number shown to the customer and used by imports; unique.
    #[sea_orm(unique)]
    pub order_number: String,
    pub customer_id: i64,
    pub status: OrderStatus,
    pub channel: Channel,
    pub currency: String,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub total_minor: i64,
    pub placed_at: DateTimeUtc,
    pub paid_at: Option<DateTimeUtc>,
    pub shipped_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub refunded_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
    /// The client's key for this placement: a retried request with the same key
    /// gets this order back instead of a second one.
    #[sea_orm(unique)]
    pub idempotency_key: Option<String>,
    /// What was refunded so far, in minor units: the whole total once refunded.
    pub refunded_minor: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::customer::Entity",
        from = "Column::CustomerId",
        to = "super::customer::Column::Id"
    )]
    Customer,
    #[sea_orm(has_many = "super::order_item::Entity")]
    OrderItem,
}

impl Related<super::customer::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Customer.def()
    }
}

impl Related<super::order_item::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::OrderItem.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
