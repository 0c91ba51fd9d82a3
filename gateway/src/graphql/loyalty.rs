//! Loyalty in GraphQL: a customer's points (balance, what expires soon, the
//! ledger) and effective membership level; redeeming and adjusting points.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use retain_schema::{PointsEntryKind, points_entry};

use crate::app::{app_context, caller};
use crate::graphql::connection::{Conn, Money};
use crate::graphql::customers::Customer;
use crate::graphql::errors::GqlResultExt;
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::loaders::loaders;
use crate::graphql::orders::Order;
use crate::graphql::pages::{PageArgs, child_connection};
use crate::graphql::segments::segment_label;
use crate::paging::{SortKey, SortValue};
use crate::services::loyalty::requests::{self, Adjustment, Redemption, Written};
use crate::services::loyalty::rules;

/// The ledger is listed newest first.
pub fn newest_first() -> SortKey<points_entry::Entity> {
    SortKey {
        column: points_entry::Column::CreatedAt,
        id_column: points_entry::Column::Id,
        descending: true,
        value: |m| SortValue::Time(m.created_at),
        id: |m| m.id,
    }
}

/// One entry of a customer's points ledger. Entries are never changed; only a
/// credit's `remaining` shrinks as later debits consume it.
pub struct PointsEntry(pub points_entry::Model);

#[Object]
impl PointsEntry {
    async fn kind(&self) -> PointsEntryKind {
        self.0.kind
    }
    /// Positive for credits (earn, positive adjust), negative for debits.
    async fn points(&self) -> i64 {
        self.0.points
    }
    /// Of a credit, the points not yet redeemed, reversed or expired.
    async fn remaining(&self) -> i64 {
        self.0.remaining
    }
    /// The balance right after this entry.
    async fn balance_after(&self) -> i64 {
        self.0.balance_after
    }
    /// The order an earn or reversal belongs to.
    async fn order(&self, ctx: &Context<'_>) -> Result<Option<Order>> {
        let Some(id) = self.0.order_id else {
            return Ok(None);
        };
        Ok(loaders(ctx).orders.load_one(id).await.gql()?.map(Order))
    }
    /// The idempotency key of a redemption or adjustment; `lot:ID` of an expiry.
    async fn reference(&self) -> Option<&str> {
        self.0.reference.as_deref()
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// `key:NAME` of the caller, or `system` for order events and expiry.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When a credit's remaining points expire; null for debits.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
}

/// A customer's loyalty points.
pub struct CustomerPoints {
    pub customer_id: i64,
}

#[Object]
impl CustomerPoints {
    /// Points held now (expired points never count).
    async fn balance(&self, ctx: &Context<'_>) -> Result<i64> {
        points(ctx, self.customer_id, None).await
    }
    /// What the balance is worth when redeemed, in whole redemption steps.
    async fn value(&self, ctx: &Context<'_>) -> Result<Money> {
        let app = app_context(ctx);
        let loyalty = &app.settings.loyalty;
        let balance = points(ctx, self.customer_id, None).await?;
        let steps = balance / loyalty.redeem_points;
        Ok(Money::new(
            steps * loyalty.redeem_value_minor,
            &app.settings.currency,
        ))
    }
    /// Points that expire within `days` unless spent first.
    async fn expiring_soon(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 30, validator(minimum = 1, maximum = 3660))] days: u32,
    ) -> Result<i64> {
        points(ctx, self.customer_id, Some(days)).await
    }
    /// The ledger, newest first.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(0) as usize * child_complexity + 1")]
    async fn ledger(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<PointsEntry>> {
        let loaders = loaders(ctx);
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        child_connection(
            ctx,
            &loaders.ledger_of_customer,
            &loaders.ledger_counts,
            self.customer_id,
            args,
            newest_first(),
            PointsEntry,
        )
        .await
    }
}

async fn points(ctx: &Context<'_>, customer_id: i64, days: Option<u32>) -> Result<i64> {
    Ok(loaders(ctx)
        .points
        .load_one((customer_id, days))
        .await
        .gql()?
        .unwrap_or(0))
}

/// The membership level a customer holds.
#[derive(SimpleObject)]
pub struct CustomerLevel {
    /// The level's key, e.g. `gold`: the level slot's segment, or a higher
    /// level a retention rule keeps.
    pub key: String,
    pub label: String,
    /// The level slot's own classification, which differs from `key` while a
    /// retention rule holds.
    pub assigned: Option<String>,
    /// Until when retention keeps `key`; null when the slot assigned it.
    pub held_until: Option<DateTime<Utc>>,
}

/// A customer's effective level; null before the level slot classified them.
pub async fn customer_level(ctx: &Context<'_>, customer_id: i64) -> Result<Option<CustomerLevel>> {
    let level = loaders(ctx).levels.load_one(customer_id).await.gql()?;
    let slot = &app_context(ctx).settings.loyalty.level_slot;
    Ok(level.map(|level| CustomerLevel {
        label: segment_label(ctx, slot, &level.key),
        key: level.key,
        assigned: level.assigned,
        held_until: level.held_until,
    }))
}

/// What `redeemPoints` did.
#[derive(SimpleObject)]
pub struct RedeemPointsPayload {
    pub entry: PointsEntry,
    /// What the redeemed points are worth.
    pub value: Money,
    /// True when the idempotency key had redeemed already: nothing changed.
    pub replayed: bool,
    pub customer: Option<Customer>,
}

/// What `adjustPoints` did.
#[derive(SimpleObject)]
pub struct AdjustPointsPayload {
    pub entry: PointsEntry,
    /// True when the idempotency key had adjusted already: nothing changed.
    pub replayed: bool,
    pub customer: Option<Customer>,
}

async fn customer_of(ctx: &Context<'_>, written: &Written) -> Result<Option<Customer>> {
    let id = written.entry.customer_id;
    Ok(loaders(ctx)
        .customers
        .load_one(id)
        .await
        .gql()?
        .map(Customer))
}

#[derive(Default)]
pub struct LoyaltyMutation;

#[Object]
impl LoyaltyMutation {
    /// Redeems `points` (a whole number of redemption steps, 100 by default),
    /// oldest points first. More than the balance is refused with
    /// INSUFFICIENT_POINTS, whose extensions carry `available`. Send a key per
    /// redemption and resend it on retry: a retry never redeems twice.
    async fn redeem_points(
        &self,
        ctx: &Context<'_>,
        customer_id: ID,
        points: i64,
        idempotency_key: String,
        reason: Option<String>,
    ) -> Result<RedeemPointsPayload> {
        let request = Redemption {
            customer_id: ids::decode("customerId", &customer_id, NodeKind::Customer).gql()?,
            points,
            idempotency_key,
            reason,
        };
        let app = app_context(ctx);
        let loyalty = &app.settings.loyalty;
        let value = rules::redemption_value(loyalty, points).gql()?;
        let written = requests::redeem(&app.db, loyalty, &request, caller(ctx)?, Utc::now())
            .await
            .gql()?;
        Ok(RedeemPointsPayload {
            customer: customer_of(ctx, &written).await?,
            value: Money::new(value, &app.settings.currency),
            replayed: written.replayed,
            entry: PointsEntry(written.entry),
        })
    }

    /// Credits (positive) or debits (negative) a customer's points, with the
    /// reason, recorded in the audit log. Credited points expire like earned
    /// ones; a debit beyond the balance is refused with INSUFFICIENT_POINTS.
    async fn adjust_points(
        &self,
        ctx: &Context<'_>,
        customer_id: ID,
        points: i64,
        reason: String,
        idempotency_key: Option<String>,
    ) -> Result<AdjustPointsPayload> {
        let request = Adjustment {
            customer_id: ids::decode("customerId", &customer_id, NodeKind::Customer).gql()?,
            points,
            reason,
            idempotency_key,
        };
        let app = app_context(ctx);
        let written = requests::adjust(
            &app.db,
            &app.settings.loyalty,
            &request,
            caller(ctx)?,
            Utc::now(),
        )
        .await
        .gql()?;
        Ok(AdjustPointsPayload {
            customer: customer_of(ctx, &written).await?,
            replayed: written.replayed,
            entry: PointsEntry(written.entry),
        })
    }
}
