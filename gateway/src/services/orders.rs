//! Orders: placing them (validated, written with their items in one transaction) and
//! moving them through their lifecycle.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rand::Rng;
use retain_schema::{Channel, OrderStatus, order, order_item, product};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionSession, TransactionTrait,
};

use crate::config::LoyaltySettings;
use crate::error::{ServiceError, ServiceResult};
use crate::services::{self, customers, loyalty, validate};

/// Most lines one order may have.
const MAX_LINES: usize = 100;
/// Most units of one product per line.
const MAX_QUANTITY: i32 = 999;

/// An order to place, with ids already resolved.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub customer_id: i64,
    pub channel: Channel,
    pub items: Vec<NewOrderItem>,
    pub discount_minor: i64,
    /// Defaults to the shop currency, the only one accepted.
    pub currency: Option<String>,
    /// Defaults to a generated number.
    pub order_number: Option<String>,
    /// Defaults to now; imports pass the original time.
    pub placed_at: Option<DateTime<Utc>>,
    /// Imports may bring orders that are already paid, shipped, …
    pub status: OrderStatus,
    /// Live orders may not charge more than the list price; imported history may,
    /// since prices change.
    pub cap_at_list_price: bool,
    /// The client's key for this placement; a retry with the same key returns the
    /// order placed the first time.
    pub idempotency_key: Option<String>,
}

/// What `place` did.
#[derive(Debug)]
pub struct Placement {
    pub order: order::Model,
    pub items: Vec<order_item::Model>,
    /// True when the idempotency key had already placed this order, which is
    /// returned unchanged.
    pub replayed: bool,
}

#[derive(Debug, Clone)]
pub struct NewOrderItem {
    pub product_id: i64,
    pub quantity: i32,
    /// Defaults to the list price; a lower price records a per-line discount.
    pub unit_price_minor: Option<i64>,
}

/// Whether an order may move from `from` to `to`.
pub fn can_transition(from: OrderStatus, to: OrderStatus) -> bool {
    use OrderStatus::*;
    matches!(
        (from, to),
        (Placed, Paid)
            | (Placed, Cancelled)
            | (Paid, Shipped)
            | (Paid, Cancelled)
            | (Paid, Refunded)
            | (Shipped, Delivered)
            | (Shipped, Refunded)
            | (Delivered, Refunded)
    )
}

/// The GraphQL name of a status (they are single words).
pub fn status_name(status: OrderStatus) -> String {
    format!("{status:?}").to_uppercase()
}

pub async fn find<C: ConnectionTrait>(db: &C, id: i64) -> ServiceResult<order::Model> {
    order::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::not_found("order", id))
}

/// The items of many orders, in one statement.
pub async fn items_of<C: ConnectionTrait>(
    db: &C,
    order_ids: &[i64],
) -> ServiceResult<HashMap<i64, Vec<order_item::Model>>> {
    let rows = order_item::Entity::find()
        .filter(order_item::Column::OrderId.is_in(order_ids.iter().copied()))
        .order_by_asc(order_item::Column::Id)
        .all(db)
        .await?;
    Ok(services::group_by_parent(order_ids, rows, |row| {
        row.order_id
    }))
}

fn generated_order_number(now: DateTime<Utc>) -> String {
    // Ten random digits keep collisions negligible; the unique index catches the rest.
    let suffix: u64 = rand::rng().random_range(0..10_000_000_000);
    format!("RT{}{suffix:010}", now.format("%y%m%d"))
}

/// Stamps the time of reaching `status` on the order (and the earlier steps an
/// imported order went through); a refund covers the whole total.
fn stamp(model: &mut order::ActiveModel, status: OrderStatus, at: DateTime<Utc>) {
    use OrderStatus::*;
    match status {
        Placed => {}
        Paid => model.paid_at = Set(Some(at)),
        Shipped => model.shipped_at = Set(Some(at)),
        Delivered => model.delivered_at = Set(Some(at)),
        Cancelled => model.cancelled_at = Set(Some(at)),
        Refunded => {
            model.refunded_at = Set(Some(at));
            if let Some(total) = model.total_minor.try_as_ref() {
                model.refunded_minor = Set(*total);
            }
        }
    }
}

/// The statuses an order passes through to reach `status`, in order.
fn path_to(status: OrderStatus) -> &'static [OrderStatus] {
    use OrderStatus::*;
    match status {
        Placed => &[],
        Paid => &[Paid],
        Shipped => &[Paid, Shipped],
        Delivered => &[Paid, Shipped, Delivered],
        Cancelled => &[Cancelled],
        Refunded => &[Paid, Refunded],
    }
}

/// Places an order: checks the customer, every product, quantity and price, then
/// writes the order and its items in one transaction. With an idempotency key
/// already used for the same customer and lines, returns that order instead.
pub async fn place<C>(
    db: &C,
    new: &NewOrder,
    shop_currency: &str,
    now: DateTime<Utc>,
) -> ServiceResult<Placement>
where
    C: ConnectionTrait + TransactionTrait,
{
    let idempotency_key = new
        .idempotency_key
        .as_deref()
        .map(|key| validate::text("idempotencyKey", key, 128))
        .transpose()?;
    if let Some(key) = &idempotency_key
        && let Some(placement) = replay(db, key, new).await?
    {
        return Ok(placement);
    }
    let currency = validate::currency(
        "currency",
        new.currency.as_deref().unwrap_or(shop_currency),
        shop_currency,
    )?;
    let placed_at = validate::not_future("placedAt", new.placed_at.unwrap_or(now), now)?;
    let order_number = match &new.order_number {
        Some(number) => validate::text("orderNumber", number, 64)?,
        None => generated_order_number(now),
    };
    if new.items.is_empty() {
        return Err(ServiceError::invalid(
            "items",
            "must hold at least one item",
        ));
    }
    if new.items.len() > MAX_LINES {
        return Err(ServiceError::invalid(
            "items",
            format!("must hold at most {MAX_LINES} items"),
        ));
    }
    let discount = validate::amount("discountMinor", new.discount_minor)?;

    let customer = customers::referenced(db, "customerId", new.customer_id).await?;
    let product_ids: Vec<i64> = new.items.iter().map(|i| i.product_id).collect();
    let products: HashMap<i64, product::Model> = product::Entity::find()
        .filter(product::Column::Id.is_in(product_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();

    let mut lines = Vec::with_capacity(new.items.len());
    let mut subtotal: i64 = 0;
    for (i, item) in new.items.iter().enumerate() {
        let field = |name: &str| format!("items[{i}].{name}");
        let product = products
            .get(&item.product_id)
            .ok_or_else(|| ServiceError::invalid(field("productId"), "no such product"))?;
        if !product.active {
            return Err(ServiceError::invalid(
                field("productId"),
                format!("product {} is not for sale", product.sku),
            ));
        }
        if !(1..=MAX_QUANTITY).contains(&item.quantity) {
            return Err(ServiceError::invalid(
                field("quantity"),
                format!("must be between 1 and {MAX_QUANTITY}"),
            ));
        }
        let unit_price = item.unit_price_minor.unwrap_or(product.price_minor);
        let ceiling = if new.cap_at_list_price {
            product.price_minor
        } else {
            i64::MAX
        };
        if !(0..=ceiling).contains(&unit_price) {
            return Err(ServiceError::invalid(
                field("unitPriceMinor"),
                format!(
                    "must be between 0 and the list price {}",
                    product.price_minor
                ),
            ));
        }
        let line_total = unit_price
            .checked_mul(i64::from(item.quantity))
            .ok_or_else(|| {
                ServiceError::invalid(field("quantity"), "makes the line total too large")
            })?;
        subtotal = subtotal
            .checked_add(line_total)
            .ok_or_else(|| ServiceError::invalid("items", "make the order total too large"))?;
        lines.push((product.id, item.quantity, unit_price, line_total));
    }
    if discount > subtotal {
        return Err(ServiceError::invalid(
            "discountMinor",
            format!("must not exceed the subtotal {subtotal}"),
        ));
    }

    let mut model = order::ActiveModel {
        order_number: Set(order_number.clone()),
        customer_id: Set(customer.id),
        status: Set(new.status),
        channel: Set(new.channel),
        currency: Set(currency),
        subtotal_minor: Set(subtotal),
        discount_minor: Set(discount),
        total_minor: Set(subtotal - discount),
        placed_at: Set(placed_at),
        paid_at: Set(None),
        shipped_at: Set(None),
        delivered_at: Set(None),
        cancelled_at: Set(None),
        refunded_at: Set(None),
        updated_at: Set(now),
        idempotency_key: Set(idempotency_key.clone()),
        refunded_minor: Set(0),
        ..Default::default()
    };
    for step in path_to(new.status) {
        stamp(&mut model, *step, placed_at);
    }

    let txn = db.begin().await?;
    // The unique indexes decide (see `customers::create`); a racing retry with the
    // same idempotency key loses here and gets the winner's order.
    let order = match model.insert(&txn).await {
        Ok(order) => order,
        Err(err) => {
            txn.rollback().await?;
            if let Some(key) = &idempotency_key
                && let Some(placement) = replay(db, key, new).await?
            {
                return Ok(placement);
            }
            let taken = format!("{order_number} is already used by another order");
            return Err(ServiceError::on_insert(err, "orderNumber", taken));
        }
    };
    order_item::Entity::insert_many(lines.iter().map(|&(product_id, quantity, unit, total)| {
        order_item::ActiveModel {
            order_id: Set(order.id),
            product_id: Set(product_id),
            quantity: Set(quantity),
            unit_price_minor: Set(unit),
            line_total_minor: Set(total),
            ..Default::default()
        }
    }))
    .exec(&txn)
    .await?;
    let items = order_item::Entity::find()
        .filter(order_item::Column::OrderId.eq(order.id))
        .all(&txn)
        .await?;
    txn.commit().await?;
    Ok(Placement {
        order,
        items,
        replayed: false,
    })
}

/// The order an idempotency key already placed, if any. A key reused for another
/// customer or other lines is a client bug, refused rather than hidden.
async fn replay<C: ConnectionTrait>(
    db: &C,
    key: &str,
    new: &NewOrder,
) -> ServiceResult<Option<Placement>> {
    let Some(order) = order::Entity::find()
        .filter(order::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let items = items_of(db, &[order.id])
        .await?
        .remove(&order.id)
        .unwrap_or_default();
    let same_lines = items.len() == new.items.len()
        && items.iter().zip(&new.items).all(|(stored, asked)| {
            stored.product_id == asked.product_id && stored.quantity == asked.quantity
        });
    if order.customer_id != new.customer_id || !same_lines {
        return Err(ServiceError::conflict(
            "idempotencyKey",
            format!(
                "already placed order {} with other contents",
                order.order_number
            ),
        ));
    }
    Ok(Some(Placement {
        order,
        items,
        replayed: true,
    }))
}

/// Moves order `id` to `status`, refusing transitions the lifecycle does not
/// allow; paying earns the customer's points and refunding takes them back, in
/// the same transaction.
pub async fn transition<C>(
    db: &C,
    loyalty_settings: &LoyaltySettings,
    id: i64,
    status: OrderStatus,
    now: DateTime<Utc>,
) -> ServiceResult<order::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let current = find(db, id).await?;
    if !can_transition(current.status, status) {
        return Err(ServiceError::conflict(
            "status",
            format!(
                "an order cannot move from {} to {}",
                status_name(current.status),
                status_name(status)
            ),
        ));
    }
    let previous = current.status;
    let mut model: order::ActiveModel = current.into();
    model.status = Set(status);
    stamp(&mut model, status, now);
    model.updated_at = Set(now);
    let txn = db.begin().await?;
    // Only update if nobody moved the order meanwhile, so two racing transitions
    // cannot both succeed (nor earn twice).
    let updated = order::Entity::update_many()
        .set(model)
        .filter(order::Column::Id.eq(id))
        .filter(order::Column::Status.eq(previous))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(ServiceError::conflict(
            "status",
            "the order changed meanwhile; read it again",
        ));
    }
    let order = find(&txn, id).await?;
    loyalty::orders::on_status_change(&txn, loyalty_settings, &order, now).await?;
    txn.commit().await?;
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    #[test]
    fn lifecycle_allows_only_forward_moves() {
        use OrderStatus::*;
        assert!(can_transition(Placed, Paid));
        assert!(can_transition(Delivered, Refunded));
        assert!(!can_transition(Placed, Delivered));
        assert!(!can_transition(Cancelled, Paid));
        assert!(!can_transition(Refunded, Refunded));
        for terminal in [Cancelled, Refunded] {
            assert!(OrderStatus::iter().all(|to| !can_transition(terminal, to)));
        }
    }

    #[test]
    fn every_status_is_reachable_along_its_path() {
        for status in OrderStatus::iter() {
            let mut from = OrderStatus::Placed;
            for step in path_to(status) {
                assert!(can_transition(from, *step), "{from:?} -> {step:?}");
                from = *step;
            }
            assert_eq!(from, status);
        }
    }
}
