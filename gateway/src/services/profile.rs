//! The computed customer profile a retention team reads every day: recency,
//! frequency and spend, engagement and tenure. Computed from orders and interactions
//! in two grouped statements for any number of customers.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use retain_schema::{OrderStatus, interaction, order};
use sea_orm::sea_query::{Alias, CaseStatement, Expr, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
};

use crate::error::ServiceResult;

/// Orders in these statuses count as purchases: paid and not cancelled or refunded.
pub const PURCHASED: [OrderStatus; 3] = [
    OrderStatus::Paid,
    OrderStatus::Shipped,
    OrderStatus::Delivered,
];

/// `PURCHASED` as an SQL list (`'paid', 'shipped', 'delivered'`) for raw grouped
/// statements; the values are our own constants, never input.
pub fn purchased_sql_list() -> String {
    PURCHASED
        .iter()
        .map(|status| format!("'{}'", sea_orm::ActiveEnum::to_value(status)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Purchase and engagement figures of one customer, as of a moment. Also read
/// straight from a statement that selects every figure under its field name.
#[derive(Debug, Clone, Default, PartialEq, Eq, FromQueryResult)]
pub struct Activity {
    pub first_order_at: Option<DateTime<Utc>>,
    pub last_order_at: Option<DateTime<Utc>>,
    pub orders_last_365_days: i64,
    pub spend_last_365_days_minor: i64,
    pub lifetime_orders: i64,
    pub lifetime_spend_minor: i64,
    pub interactions_last_30_days: i64,
}

impl Activity {
    pub fn days_since_last_order(&self, now: DateTime<Utc>) -> Option<i64> {
        self.last_order_at.map(|at| (now - at).num_days())
    }

    /// Mean days between consecutive orders; none with fewer than two orders.
    pub fn days_between_orders(&self) -> Option<i64> {
        match (self.first_order_at, self.last_order_at) {
            (Some(first), Some(last)) if self.lifetime_orders > 1 => {
                Some((last - first).num_days() / (self.lifetime_orders - 1))
            }
            _ => None,
        }
    }

    /// Lifetime spend over lifetime orders, in minor units; 0 without orders.
    pub fn average_order_value_minor(&self) -> i64 {
        if self.lifetime_orders == 0 {
            0
        } else {
            self.lifetime_spend_minor / self.lifetime_orders
        }
    }
}

#[derive(Debug, FromQueryResult)]
struct OrderTotals {
    customer_id: i64,
    lifetime_orders: i64,
    lifetime_spend_minor: i64,
    first_order_at: Option<DateTime<Utc>>,
    last_order_at: Option<DateTime<Utc>>,
    orders_last_365_days: i64,
    spend_last_365_days_minor: i64,
}

#[derive(Debug, FromQueryResult)]
struct InteractionCount {
    customer_id: i64,
    interactions: i64,
}

/// `CAST(SUM(expr) AS BIGINT)`: SUM over BIGINT is NUMERIC on PostgreSQL, so cast
/// back and both backends decode an i64.
pub fn sum_as_bigint(expr: impl Into<Expr>) -> Expr {
    Func::cast_as(Func::sum(expr.into()), Alias::new("BIGINT")).into()
}

/// Which figures of an activity to compute: each is one grouped statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figures {
    /// Orders and spend, recency and rhythm.
    pub purchases: bool,
    pub interactions: bool,
}

impl Figures {
    pub const ALL: Figures = Figures {
        purchases: true,
        interactions: true,
    };
}

/// The activity of each of `customer_ids` (customers without any get the default).
pub async fn activity_of<C: ConnectionTrait>(
    db: &C,
    customer_ids: &[i64],
    now: DateTime<Utc>,
) -> ServiceResult<HashMap<i64, Activity>> {
    activity_with(db, customer_ids, now, Figures::ALL).await
}

/// `activity_of` with only `figures` computed; the others stay at their defaults.
pub async fn activity_with<C: ConnectionTrait>(
    db: &C,
    customer_ids: &[i64],
    now: DateTime<Utc>,
    figures: Figures,
) -> ServiceResult<HashMap<i64, Activity>> {
    let year_ago = now - Duration::days(365);
    let month_ago = now - Duration::days(30);
    let purchases = order::Entity::find()
        .select_only()
        .column(order::Column::CustomerId)
        .column_as(Expr::cust("COUNT(*)"), "lifetime_orders")
        .column_as(
            sum_as_bigint(Expr::col(order::Column::TotalMinor)),
            "lifetime_spend_minor",
        )
        .column_as(order::Column::PlacedAt.min(), "first_order_at")
        .column_as(order::Column::PlacedAt.max(), "last_order_at")
        .column_as(
            sum_as_bigint(
                CaseStatement::new()
                    .case(order::Column::PlacedAt.gte(year_ago), 1)
                    .finally(0),
            ),
            "orders_last_365_days",
        )
        .column_as(
            sum_as_bigint(
                CaseStatement::new()
                    .case(
                        order::Column::PlacedAt.gte(year_ago),
                        Expr::col(order::Column::TotalMinor),
                    )
                    .finally(0),
            ),
            "spend_last_365_days_minor",
        )
        .filter(order::Column::CustomerId.is_in(customer_ids.iter().copied()))
        .filter(order::Column::Status.is_in(PURCHASED))
        .group_by(order::Column::CustomerId)
        .into_model::<OrderTotals>();
    let orders = match figures.purchases {
        true => purchases.all(db).await?,
        false => Vec::new(),
    };
    let interactions = interaction::Entity::find()
        .select_only()
        .column(interaction::Column::CustomerId)
        .column_as(Expr::cust("COUNT(*)"), "interactions")
        .filter(interaction::Column::CustomerId.is_in(customer_ids.iter().copied()))
        .filter(interaction::Column::OccurredAt.gte(month_ago))
        .group_by(interaction::Column::CustomerId)
        .into_model::<InteractionCount>();
    let interactions = match figures.interactions {
        true => interactions.all(db).await?,
        false => Vec::new(),
    };

    let mut activity: HashMap<i64, Activity> = customer_ids
        .iter()
        .map(|id| (*id, Activity::default()))
        .collect();
    for totals in orders {
        let entry = activity.entry(totals.customer_id).or_default();
        entry.first_order_at = totals.first_order_at;
        entry.last_order_at = totals.last_order_at;
        entry.lifetime_orders = totals.lifetime_orders;
        entry.lifetime_spend_minor = totals.lifetime_spend_minor;
        entry.orders_last_365_days = totals.orders_last_365_days;
        entry.spend_last_365_days_minor = totals.spend_last_365_days_minor;
    }
    for count in interactions {
        activity
            .entry(count.customer_id)
            .or_default()
            .interactions_last_30_days = count.interactions;
    }
    Ok(activity)
}
