//! One entry of the append-only points ledger. Amounts are never changed or
//! removed; a credit (earn, positive adjustment) is also a lot whose `remaining`
//! points later debits consume, oldest first.

use sea_orm::entity::prelude::*;

use super::PointsEntryKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "points_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub kind: PointsEntryKind,
    /// Positive for credits, negative for debits.
    pub points: i64,
    /// Of a credit, the points not yet redeemed, reversed or expired; 0 for debits.
    pub remaining: i64,
    /// The customer's balance right after this entry.
    pub balance_after: i64,
    /// The order an earn or reversal belongs to; unique per kind.
    pub order_id: Option<i64>,
    /// The client's idempotency key of a redemption or adjustment, or the lot
    /// an expiry expired (`lot:ID`); unique per customer and kind.
    pub reference: Option<String>,
    pub reason: String,
    /// Who caused it: the caller's name, `system` for order events and expiry.
    pub actor: String,
    pub created_at: DateTimeUtc,
    /// When a credit's remaining points expire; none for debits or when points
    /// never expire.
    pub expires_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
