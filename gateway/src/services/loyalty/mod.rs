//! Loyalty: points earned on paid orders (multiplied by membership level and
//! by campaigns' multiplier offers), taken back on refunds whole or partial,
//! redeemed and adjusted on request, and expiring oldest first; and membership
//! levels with their retention rules.
//!
//! Every change appends to the points ledger and moves the customer's balance
//! row in one transaction (see `ledger`); `rules` holds the arithmetic.

pub mod expiry;
pub mod ledger;
pub mod levels;
pub mod offers;
pub mod orders;
pub mod requests;
pub mod rules;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use retain_schema::points_entry;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
};

use crate::error::ServiceResult;
use crate::services::profile::sum_as_bigint;

/// The points of `customer_ids` that are unexpired at `now` and, with `until`,
/// expire by then; customers without any get 0. Lots past their expiry that no
/// sweep has reached yet do not count, so a balance is never overstated.
pub async fn unexpired_points<C: ConnectionTrait>(
    db: &C,
    customer_ids: &[i64],
    now: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> ServiceResult<HashMap<i64, i64>> {
    #[derive(FromQueryResult)]
    struct Held {
        customer_id: i64,
        points: i64,
    }
    let mut expiry = Condition::all().add(points_entry::Column::ExpiresAt.gt(now));
    if let Some(until) = until {
        expiry = expiry.add(points_entry::Column::ExpiresAt.lte(until));
    } else {
        expiry = Condition::any()
            .add(expiry)
            .add(points_entry::Column::ExpiresAt.is_null());
    }
    let held = points_entry::Entity::find()
        .select_only()
        .column(points_entry::Column::CustomerId)
        .column_as(
            sum_as_bigint(Expr::col(points_entry::Column::Remaining)),
            "points",
        )
        .filter(points_entry::Column::CustomerId.is_in(customer_ids.iter().copied()))
        .filter(points_entry::Column::Remaining.gt(0))
        .filter(expiry)
        .group_by(points_entry::Column::CustomerId)
        .into_model::<Held>()
        .all(db)
        .await?;
    let mut points: HashMap<i64, i64> = customer_ids.iter().map(|id| (*id, 0)).collect();
    points.extend(held.into_iter().map(|h| (h.customer_id, h.points)));
    Ok(points)
}
