//! What an order's payment and refund do to its customer's points, inside the
//! transaction that moves the order, so the two never disagree.

use chrono::{DateTime, Utc};
use retain_schema::{OrderStatus, PointsEntryKind, order, points_entry};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::config::LoyaltySettings;
use crate::error::{ServiceError, ServiceResult};
use crate::services::loyalty::ledger::{self, NewEntry, SYSTEM};
use crate::services::loyalty::{levels, rules};

/// Earns points when `order` has just been paid; takes them back when it has
/// just been refunded or cancelled after payment.
pub async fn on_status_change<C: ConnectionTrait>(
    txn: &C,
    settings: &LoyaltySettings,
    order: &order::Model,
    now: DateTime<Utc>,
) -> ServiceResult<Option<points_entry::Model>> {
    match order.status {
        OrderStatus::Paid => earn(txn, settings, order, now).await,
        OrderStatus::Refunded | OrderStatus::Cancelled => reverse(txn, order, now).await,
        OrderStatus::Placed | OrderStatus::Shipped | OrderStatus::Delivered => Ok(None),
    }
}

/// Credits the order's total at the configured rate, multiplied for the
/// customer's effective level (retention included) at the time of payment.
async fn earn<C: ConnectionTrait>(
    txn: &C,
    settings: &LoyaltySettings,
    order: &order::Model,
    now: DateTime<Utc>,
) -> ServiceResult<Option<points_entry::Model>> {
    let level = levels::effective(txn, settings, &[order.customer_id], now)
        .await?
        .remove(&order.customer_id);
    let level_key = level.as_ref().map(|l| l.key.as_str());
    let multiplier = rules::multiplier(settings, level_key);
    let points = rules::earned_points(order.total_minor, settings.points_per_unit, multiplier);
    if points == 0 {
        return Ok(None);
    }
    let reason = match level_key {
        Some(level) if multiplier != 1.0 => {
            format!(
                "order {} paid (×{multiplier} as {level})",
                order.order_number
            )
        }
        _ => format!("order {} paid", order.order_number),
    };
    let entry = NewEntry {
        customer_id: order.customer_id,
        kind: PointsEntryKind::Earn,
        points,
        order_id: Some(order.id),
        reference: None,
        reason,
        actor: SYSTEM.into(),
    };
    ledger::credit(txn, settings, entry, now).await.map(Some)
}

/// Takes back what the order earned: first what is left of its own lot, then
/// what was already spent of it from the customer's other lots, as far as the
/// balance allows (see `rules::reversal`).
async fn reverse<C: ConnectionTrait>(
    txn: &C,
    order: &order::Model,
    now: DateTime<Utc>,
) -> ServiceResult<Option<points_entry::Model>> {
    let of_order = |kind: PointsEntryKind| {
        points_entry::Entity::find()
            .filter(points_entry::Column::OrderId.eq(order.id))
            .filter(points_entry::Column::Kind.eq(kind))
    };
    if of_order(PointsEntryKind::Earn).one(txn).await?.is_none() {
        return Ok(None);
    }
    let locked = ledger::lock(txn, order.customer_id, now).await?;
    // Read after locking: the lock may just have expired the lot.
    let lot = of_order(PointsEntryKind::Earn)
        .one(txn)
        .await?
        .ok_or_else(|| ServiceError::conflict("status", "the order's points changed meanwhile"))?;
    let expired = points_entry::Entity::find()
        .filter(points_entry::Column::CustomerId.eq(order.customer_id))
        .filter(points_entry::Column::Kind.eq(PointsEntryKind::Expire))
        .filter(points_entry::Column::Reference.eq(format!("lot:{}", lot.id)))
        .one(txn)
        .await?
        .map_or(0, |entry| -entry.points);
    let reversal = rules::reversal(lot.points, lot.remaining, expired, locked.balance);
    if reversal.total() == 0 && reversal.unrecovered == 0 {
        return Ok(None);
    }
    if reversal.from_lot > 0 {
        ledger::consume(txn, &[(lot.id, reversal.from_lot)]).await?;
    }
    let others = ledger::open_lots(txn, order.customer_id).await?;
    ledger::consume(
        txn,
        &rules::take_oldest_first(&others, reversal.from_others),
    )
    .await?;
    let mut reason = format!("order {} {}", order.order_number, status_word(order.status));
    if reversal.unrecovered > 0 {
        reason.push_str(&format!(
            "; {} points already spent could not be taken back",
            reversal.unrecovered
        ));
    }
    let entry = NewEntry {
        customer_id: order.customer_id,
        kind: PointsEntryKind::Reverse,
        points: reversal.total(),
        order_id: Some(order.id),
        reference: None,
        reason,
        actor: SYSTEM.into(),
    };
    ledger::debit(txn, entry, now).await.map(Some)
}

fn status_word(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Cancelled => "cancelled",
        _ => "refunded",
    }
}
