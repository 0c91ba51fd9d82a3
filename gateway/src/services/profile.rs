//! The computed customer profile a retention team reads every day: recency,
//! frequency and spend, engagement and tenure. Computed from orders and interactions
//! in one grouped statement for any number of customers.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use retain_schema::OrderStatus;
use sea_orm::sea_query::{Alias, Expr, Func};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, Value};
use serde::Deserialize;

use crate::database::statement;
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
/// straight from a statement that selects every figure under its field name, and
/// from a JSON array of the figures in field order (segmentation batches).
#[derive(Debug, Clone, Default, PartialEq, Eq, FromQueryResult, Deserialize)]
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

/// `CAST(SUM(expr) AS BIGINT)`: SUM over BIGINT is NUMERIC on PostgreSQL, so cast
/// back and both backends decode an i64.
pub fn sum_as_bigint(expr: impl Into<Expr>) -> Expr {
    Func::cast_as(Func::sum(expr.into()), Alias::new("BIGINT")).into()
}

/// Which figures of an activity to compute; each costs an aggregate over its table.
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
    pub const NONE: Figures = Figures {
        purchases: false,
        interactions: false,
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
    #[derive(FromQueryResult)]
    struct Row {
        id: i64,
        #[sea_orm(nested)]
        activity: Activity,
    }

    let mut activity: HashMap<i64, Activity> = customer_ids
        .iter()
        .map(|id| (*id, Activity::default()))
        .collect();
    if customer_ids.is_empty() || figures == Figures::NONE {
        return Ok(activity);
    }
    let statement = activity_statement(
        db.get_database_backend(),
        Scope::Ids(customer_ids),
        &[],
        figures,
        now,
    );
    for row in Row::find_by_statement(statement).all(db).await? {
        activity.insert(row.id, row.activity);
    }
    Ok(activity)
}

/// The customers an activity statement reads.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// These customers, erased or not.
    Ids(&'a [i64]),
    /// The customers not erased with id in `(after, last]`: a segmentation batch.
    Batch { after: i64, last: i64 },
}

/// One row per customer of `scope`, in id order: `id`, the customer columns
/// `extra`, and every [`Activity`] field under its name — those `figures` leaves
/// out are zero. One statement and one row per customer for both the batch and
/// the lookup paths, so they cannot drift apart.
pub fn activity_statement(
    backend: DbBackend,
    scope: Scope<'_>,
    extra: &[&str],
    figures: Figures,
    now: DateTime<Utc>,
) -> Statement {
    let (sql, values) = activity_query(scope, extra, figures, now);
    statement(backend, &sql, values)
}

/// [`activity_statement`]'s SQL, with `?` placeholders, and its values: for
/// statements that read it as a derived table.
pub fn activity_query(
    scope: Scope<'_>,
    extra: &[&str],
    figures: Figures,
    now: DateTime<Utc>,
) -> (String, Vec<Value>) {
    let year_ago = now - Duration::days(365);
    let month_ago = now - Duration::days(30);
    let mut values: Vec<Value> = Vec::new();
    let purchases = match figures.purchases {
        true => {
            values.extend([year_ago.into(), year_ago.into()]);
            "COUNT(o.customer_id) AS lifetime_orders, \
             CAST(COALESCE(SUM(o.total_minor), 0) AS BIGINT) AS lifetime_spend_minor, \
             MIN(o.placed_at) AS first_order_at, MAX(o.placed_at) AS last_order_at, \
             CAST(COALESCE(SUM(CASE WHEN o.placed_at >= ? THEN 1 ELSE 0 END), 0) AS BIGINT) \
             AS orders_last_365_days, \
             CAST(COALESCE(SUM(CASE WHEN o.placed_at >= ? THEN o.total_minor ELSE 0 END), 0) \
             AS BIGINT) AS spend_last_365_days_minor"
        }
        false => {
            "CAST(0 AS BIGINT) AS lifetime_orders, CAST(0 AS BIGINT) AS lifetime_spend_minor, \
             NULL AS first_order_at, NULL AS last_order_at, \
             CAST(0 AS BIGINT) AS orders_last_365_days, \
             CAST(0 AS BIGINT) AS spend_last_365_days_minor"
        }
    };
    let interactions = match figures.interactions {
        true => {
            values.push(month_ago.into());
            "(SELECT COUNT(*) FROM interactions i \
             WHERE i.customer_id = c.id AND i.occurred_at >= ?)"
        }
        false => "CAST(0 AS BIGINT)",
    };
    let mut orders = String::new();
    if figures.purchases {
        orders = format!(
            "LEFT JOIN orders o ON o.customer_id = c.id AND o.status IN ({})",
            purchased_sql_list()
        );
        // A batch's bounds repeated on the orders let the planner read just that
        // range of the order index instead of joining every order.
        if let Scope::Batch { after, last } = scope {
            orders.push_str(" AND o.customer_id > ? AND o.customer_id <= ?");
            values.extend([after.into(), last.into()]);
        }
    }
    let customers = match scope {
        Scope::Ids(ids) => {
            values.extend(ids.iter().map(|&id| Value::from(id)));
            format!("c.id IN ({})", vec!["?"; ids.len()].join(", "))
        }
        Scope::Batch { after, last } => {
            values.extend([after.into(), last.into()]);
            "c.erased_at IS NULL AND c.id > ? AND c.id <= ?".to_owned()
        }
    };
    let extra: String = extra.iter().map(|column| format!("c.{column}, ")).collect();
    // Grouped by the primary key alone: the other customer columns depend on it.
    let sql = format!(
        "SELECT c.id, {extra}{purchases}, {interactions} AS interactions_last_30_days \
         FROM customers c {orders} WHERE {customers} GROUP BY c.id ORDER BY c.id"
    );
    (sql, values)
}
