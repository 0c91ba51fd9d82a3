//! Expiring unspent points, oldest first: a sweep over the customers with lots
//! past their expiry, for `retain points expire` and a background worker.
//! Idempotent: an expired lot has nothing left, so a second sweep finds nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use retain_schema::points_entry;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use tokio::sync::watch;

use crate::error::ServiceResult;
use crate::services::loyalty::ledger;

/// Customers expired per round: each is its own short transaction, so a
/// sweep never holds many balance locks at once.
const CUSTOMERS_PER_ROUND: u64 = 500;

/// What a sweep expired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expired {
    pub customers: u64,
    pub lots: u64,
    pub points: i64,
}

/// Expires every lot due by `as_of`.
pub async fn expire_due(db: &DatabaseConnection, as_of: DateTime<Utc>) -> ServiceResult<Expired> {
    let mut total = Expired::default();
    let mut after = 0_i64;
    loop {
        let customers: Vec<i64> = points_entry::Entity::find()
            .select_only()
            .column(points_entry::Column::CustomerId)
            .distinct()
            .filter(points_entry::Column::Remaining.gt(0))
            .filter(points_entry::Column::ExpiresAt.lte(as_of))
            .filter(points_entry::Column::CustomerId.gt(after))
            .order_by_asc(points_entry::Column::CustomerId)
            .limit(CUSTOMERS_PER_ROUND)
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = customers.last() else {
            return Ok(total);
        };
        after = *last;
        for customer_id in customers {
            let txn = db.begin().await?;
            let locked = ledger::lock(&txn, customer_id, as_of).await?;
            txn.commit().await?;
            if locked.expired_lots > 0 {
                total.customers += 1;
                total.lots += locked.expired_lots;
                total.points += locked.expired_points;
            }
        }
    }
}

/// Sweeps every `interval` until `stop` turns true.
pub fn spawn(
    db: DatabaseConnection,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
            match expire_due(&db, Utc::now()).await {
                Ok(expired) if expired.lots > 0 => tracing::info!(
                    customers = expired.customers,
                    points = expired.points,
                    "expired points"
                ),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "expiring points failed"),
            }
        }
    })
}
