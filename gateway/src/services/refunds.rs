//! Refunds of part or all of a paid order: each is validated against what is
//! left to refund, then written with the order's running total and the points
//! reversal of its share in one transaction. A refund that reaches the total
//! refunds the order. A retry with the same idempotency key returns the first
//! refund.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use retain_schema::{OrderStatus, order, order_refund};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionSession, TransactionTrait,
};

use crate::auth::Principal;
use crate::config::LoyaltySettings;
use crate::error::{ServiceError, ServiceResult};
use crate::services::{self, loyalty, orders, validate};

/// A refund to record.
#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub order_id: i64,
    /// In minor units of the order's currency; at most what is left to refund.
    pub amount_minor: i64,
    pub reason: Option<String>,
    pub idempotency_key: Option<String>,
}

/// What `refund` did.
#[derive(Debug)]
pub struct Refunded {
    pub refund: order_refund::Model,
    /// The order after the refund: REFUNDED once nothing is left to refund.
    pub order: order::Model,
    /// True when the idempotency key had already recorded this refund.
    pub replayed: bool,
}

/// Refunds `request.amount_minor` of a paid, shipped or delivered order.
pub async fn refund<C>(
    db: &C,
    settings: &LoyaltySettings,
    request: &RefundRequest,
    actor: &Principal,
    now: DateTime<Utc>,
) -> ServiceResult<Refunded>
where
    C: ConnectionTrait + TransactionTrait,
{
    if request.amount_minor <= 0 {
        return Err(ServiceError::invalid("amountMinor", "must be positive"));
    }
    let reason = match &request.reason {
        Some(reason) => validate::text("reason", reason, 500)?,
        None => "refunded".into(),
    };
    let key = request
        .idempotency_key
        .as_deref()
        .map(|key| validate::text("idempotencyKey", key, 128))
        .transpose()?;
    if let Some(key) = &key
        && let Some(replayed) = replay(db, request, key).await?
    {
        return Ok(replayed);
    }
    let current = orders::find(db, request.order_id).await?;
    if !matches!(
        current.status,
        OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered
    ) {
        return Err(ServiceError::conflict(
            "orderId",
            format!(
                "only paid, shipped or delivered orders are refunded; this one is {}",
                orders::status_name(current.status)
            ),
        ));
    }
    let refundable = current.total_minor - current.refunded_minor;
    if request.amount_minor > refundable {
        return Err(ServiceError::invalid(
            "amountMinor",
            format!("exceeds what is left to refund ({refundable} minor units)"),
        ));
    }

    let txn = db.begin().await?;
    let refunded_minor = current.refunded_minor + request.amount_minor;
    let whole = refunded_minor == current.total_minor;
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::RefundedMinor, Expr::value(refunded_minor))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        // Only if nobody refunded or moved the order meanwhile.
        .filter(order::Column::Id.eq(current.id))
        .filter(order::Column::Status.eq(current.status))
        .filter(order::Column::RefundedMinor.eq(current.refunded_minor));
    if whole {
        update = update
            .col_expr(order::Column::Status, Expr::value(OrderStatus::Refunded))
            .col_expr(order::Column::RefundedAt, Expr::value(now));
    }
    if update.exec(&txn).await?.rows_affected == 0 {
        return Err(ServiceError::conflict(
            "orderId",
            "the order changed meanwhile; read it again",
        ));
    }
    let refund = order_refund::ActiveModel {
        order_id: Set(current.id),
        amount_minor: Set(request.amount_minor),
        reason: Set(reason),
        actor: Set(actor.name.clone()),
        idempotency_key: Set(key),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let order = orders::find(&txn, current.id).await?;
    if whole {
        loyalty::orders::on_status_change(&txn, settings, &order, now).await?;
    } else {
        loyalty::orders::on_partial_refund(&txn, &order, refund.id, now).await?;
    }
    txn.commit().await?;
    Ok(Refunded {
        refund,
        order,
        replayed: false,
    })
}

/// The refund `key` already recorded, if any; the same key for another order
/// or amount is a client bug, refused rather than hidden.
async fn replay<C: ConnectionTrait>(
    db: &C,
    request: &RefundRequest,
    key: &str,
) -> ServiceResult<Option<Refunded>> {
    let Some(refund) = order_refund::Entity::find()
        .filter(order_refund::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if refund.order_id != request.order_id || refund.amount_minor != request.amount_minor {
        return Err(ServiceError::conflict(
            "idempotencyKey",
            "already used for another refund",
        ));
    }
    let order = orders::find(db, refund.order_id).await?;
    Ok(Some(Refunded {
        refund,
        order,
        replayed: true,
    }))
}

/// The refunds of many orders, oldest first, in one statement; every order
/// gets an entry.
pub async fn of_orders<C: ConnectionTrait>(
    db: &C,
    order_ids: &[i64],
) -> ServiceResult<HashMap<i64, Vec<order_refund::Model>>> {
    let rows = order_refund::Entity::find()
        .filter(order_refund::Column::OrderId.is_in(order_ids.iter().copied()))
        .order_by_asc(order_refund::Column::Id)
        .all(db)
        .await?;
    Ok(services::group_by_parent(order_ids, rows, |row| {
        row.order_id
    }))
}
