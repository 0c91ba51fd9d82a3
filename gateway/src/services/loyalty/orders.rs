//! What an order's payment and refunds do to its customer's points, inside the
//! transaction that moves the order, so the two never disagree.

use chrono::{DateTime, Utc};
use retain_schema::{OrderStatus, PointsEntryKind, order, points_entry};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::config::LoyaltySettings;
use crate::error::{ServiceError, ServiceResult};
use crate::services::campaigns::referrals;
use crate::services::loyalty::ledger::{self, NewEntry, SYSTEM};
use crate::services::loyalty::rules::LotHistory;
use crate::services::loyalty::{levels, offers, rules};

/// Earns points when `order` has just been paid (and rewards a referral its
/// first payment completes); takes them back when it has just been refunded or
/// cancelled after payment.
pub async fn on_status_change<C: ConnectionTrait>(
    txn: &C,
    settings: &LoyaltySettings,
    order: &order::Model,
    now: DateTime<Utc>,
) -> ServiceResult<Option<points_entry::Model>> {
    match order.status {
        OrderStatus::Paid => {
            let earned = earn(txn, settings, order, now).await?;
            referrals::reward_first_payment(txn, settings, order, now).await?;
            Ok(earned)
        }
        OrderStatus::Refunded | OrderStatus::Cancelled => reverse(txn, order, None, now).await,
        OrderStatus::Placed | OrderStatus::Shipped | OrderStatus::Delivered => Ok(None),
    }
}

/// Takes back the share of the order's points that its refunds so far
/// (`order.refunded_minor`, already including `refund_id`) cover.
pub async fn on_partial_refund<C: ConnectionTrait>(
    txn: &C,
    order: &order::Model,
    refund_id: i64,
    now: DateTime<Utc>,
) -> ServiceResult<Option<points_entry::Model>> {
    let reference = format!("refund:{refund_id}");
    reverse(txn, order, Some(reference), now).await
}

/// Credits the order's total at the configured rate, multiplied for the
/// customer's effective level (retention included) at the time of payment and
/// by the best multiplier offer of a running campaign that reached them.
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
    let level_multiplier = rules::multiplier(settings, level_key);
    let offer = offers::best_multiplier(txn, order.customer_id, now).await?;
    let offer_multiplier = offer.as_ref().map_or(1.0, |o| o.factor);
    let points = rules::earned_points(
        order.total_minor,
        settings.points_per_unit,
        level_multiplier * offer_multiplier,
    );
    if points == 0 {
        return Ok(None);
    }
    let mut why = Vec::new();
    if let Some(level) = level_key
        && level_multiplier != 1.0
    {
        why.push(format!("×{level_multiplier} as {level}"));
    }
    if let Some(offer) = &offer {
        why.push(format!(
            "×{} from campaign {}",
            offer.factor, offer.campaign
        ));
    }
    let reason = match why.is_empty() {
        true => format!("order {} paid", order.order_number),
        false => format!("order {} paid ({})", order.order_number, why.join(", ")),
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

/// Takes back what is due of what the order earned — all of it once the order
/// is refunded or cancelled, else the refunded share of its total: first what is
/// left of its own lot, then what was already spent of it from the customer's
/// other lots, as far as the balance allows (see `rules::reversal`).
async fn reverse<C: ConnectionTrait>(
    txn: &C,
    order: &order::Model,
    reference: Option<String>,
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
    let reversed: i64 = of_order(PointsEntryKind::Reverse)
        .all(txn)
        .await?
        .iter()
        .map(|entry| -entry.points)
        .sum();
    let history = LotHistory {
        earned: lot.points,
        remaining: lot.remaining,
        expired,
        reversed,
    };
    let whole = matches!(order.status, OrderStatus::Refunded | OrderStatus::Cancelled);
    let due = match whole {
        true => lot.points,
        false => rules::refunded_share(lot.points, order.refunded_minor, order.total_minor),
    };
    let reversal = rules::reversal(history, due, locked.balance);
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
    let mut reason = match whole {
        false => format!(
            "order {} partly refunded ({} of {} minor units)",
            order.order_number, order.refunded_minor, order.total_minor
        ),
        true => format!("order {} {}", order.order_number, status_word(order.status)),
    };
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
        reference,
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
