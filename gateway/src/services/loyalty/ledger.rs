//! The points ledger in the database: every change appends an entry and moves
//! the customer's balance row in the same transaction.
//!
//! Debits first *lock* the balance row (a write, so PostgreSQL holds the row
//! until commit and SQLite takes its write lock before reading anything), then
//! expire the customer's due lots, then subtract with a conditional update
//! (`balance >= n`) and consume lots oldest first. Two debits of one customer
//! therefore never read the same lots, and the balance never goes negative.

use chrono::{DateTime, Months, Utc};
use retain_schema::{PointsEntryKind, points_entry};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::config::LoyaltySettings;
use crate::database::statement;
use crate::error::{ServiceError, ServiceResult};
use crate::services::loyalty::rules::{self, Lot};

/// The actor of entries no caller asked for: order events and expiry.
pub const SYSTEM: &str = "system";

/// An entry to append, before the balance it leaves is known.
pub struct NewEntry {
    pub customer_id: i64,
    pub kind: PointsEntryKind,
    pub points: i64,
    pub order_id: Option<i64>,
    pub reference: Option<String>,
    pub reason: String,
    pub actor: String,
}

/// When points credited at `at` expire, if they do.
pub fn expiry_of(settings: &LoyaltySettings, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match settings.expiry_months {
        0 => None,
        months => at.checked_add_months(Months::new(months)),
    }
}

/// Credits `entry.points` (> 0) as a new lot expiring per `settings`.
pub async fn credit<C: ConnectionTrait>(
    txn: &C,
    settings: &LoyaltySettings,
    entry: NewEntry,
    now: DateTime<Utc>,
) -> ServiceResult<points_entry::Model> {
    let row = txn
        .query_one_raw(statement(
            txn.get_database_backend(),
            "INSERT INTO points_accounts (customer_id, balance, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT (customer_id) DO UPDATE \
             SET balance = points_accounts.balance + excluded.balance, updated_at = excluded.updated_at \
             RETURNING balance",
            vec![entry.customer_id.into(), entry.points.into(), now.into()],
        ))
        .await?
        .ok_or_else(|| ServiceError::Database(sea_orm::DbErr::RecordNotInserted))?;
    let balance = row.try_get::<i64>("", "balance")?;
    let remaining = entry.points;
    append(
        txn,
        entry,
        remaining,
        balance,
        expiry_of(settings, now),
        now,
    )
    .await
}

/// The customer's balance row, locked for the rest of the transaction, after
/// expiring the lots due by `now`: what a debit may take from. 0 for a customer
/// who never held points.
pub async fn lock<C: ConnectionTrait>(
    txn: &C,
    customer_id: i64,
    now: DateTime<Utc>,
) -> ServiceResult<Locked> {
    let touched = txn
        .query_one_raw(statement(
            txn.get_database_backend(),
            "UPDATE points_accounts SET updated_at = ? WHERE customer_id = ? RETURNING balance",
            vec![now.into(), customer_id.into()],
        ))
        .await?;
    let Some(row) = touched else {
        return Ok(Locked::default());
    };
    let mut locked = Locked {
        balance: row.try_get::<i64>("", "balance")?,
        ..Locked::default()
    };
    let due = points_entry::Entity::find()
        .filter(points_entry::Column::CustomerId.eq(customer_id))
        .filter(points_entry::Column::Remaining.gt(0))
        .filter(points_entry::Column::ExpiresAt.lte(now))
        .order_by_asc(points_entry::Column::CreatedAt)
        .order_by_asc(points_entry::Column::Id)
        .all(txn)
        .await?;
    for lot in due {
        consume(txn, &[(lot.id, lot.remaining)]).await?;
        let expired_on = lot.expires_at.unwrap_or(now).format("%Y-%m-%d");
        let entry = debit(
            txn,
            NewEntry {
                customer_id,
                kind: PointsEntryKind::Expire,
                points: lot.remaining,
                order_id: None,
                reference: Some(format!("lot:{}", lot.id)),
                reason: format!(
                    "unspent points of {} expired on {expired_on}",
                    lot.created_at.format("%Y-%m-%d")
                ),
                actor: SYSTEM.into(),
            },
            now,
        )
        .await?;
        locked.balance = entry.balance_after;
        locked.expired_lots += 1;
        locked.expired_points += lot.remaining;
    }
    Ok(locked)
}

/// A locked balance, and what locking expired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Locked {
    pub balance: i64,
    pub expired_lots: u64,
    pub expired_points: i64,
}

/// The customer's lots with points left, oldest first.
pub async fn open_lots<C: ConnectionTrait>(txn: &C, customer_id: i64) -> ServiceResult<Vec<Lot>> {
    Ok(points_entry::Entity::find()
        .filter(points_entry::Column::CustomerId.eq(customer_id))
        .filter(points_entry::Column::Remaining.gt(0))
        .order_by_asc(points_entry::Column::CreatedAt)
        .order_by_asc(points_entry::Column::Id)
        .all(txn)
        .await?
        .into_iter()
        .map(|lot| Lot {
            id: lot.id,
            remaining: lot.remaining,
        })
        .collect())
}

/// Takes points from lots: `(lot id, points)`.
pub async fn consume<C: ConnectionTrait>(txn: &C, takes: &[(i64, i64)]) -> ServiceResult<()> {
    for (lot, take) in takes {
        let updated = txn
            .execute_raw(statement(
                txn.get_database_backend(),
                "UPDATE points_entries SET remaining = remaining - ? WHERE id = ? AND remaining >= ?",
                vec![(*take).into(), (*lot).into(), (*take).into()],
            ))
            .await?;
        // Lots are read under the balance lock, so they cannot have shrunk.
        if updated.rows_affected() != 1 {
            return Err(ServiceError::conflict(
                "points",
                "the points changed meanwhile; try again",
            ));
        }
    }
    Ok(())
}

/// Debits `entry.points` (> 0; stored negated) from a locked balance, refusing
/// to go below zero. The caller consumes the lots.
pub async fn debit<C: ConnectionTrait>(
    txn: &C,
    mut entry: NewEntry,
    now: DateTime<Utc>,
) -> ServiceResult<points_entry::Model> {
    let points = entry.points;
    let row = txn
        .query_one_raw(statement(
            txn.get_database_backend(),
            "UPDATE points_accounts SET balance = balance - ?, updated_at = ? \
             WHERE customer_id = ? AND balance >= ? RETURNING balance",
            vec![
                points.into(),
                now.into(),
                entry.customer_id.into(),
                points.into(),
            ],
        ))
        .await?;
    let Some(row) = row else {
        let available = balance_row(txn, entry.customer_id).await?;
        return Err(ServiceError::InsufficientPoints {
            available,
            requested: points,
        });
    };
    let balance = row.try_get::<i64>("", "balance")?;
    entry.points = -points;
    append(txn, entry, 0, balance, None, now).await
}

/// Debits `entry.points` from a locked balance of `available` points, taking
/// them from the oldest lots.
pub async fn spend<C: ConnectionTrait>(
    txn: &C,
    entry: NewEntry,
    available: i64,
    now: DateTime<Utc>,
) -> ServiceResult<points_entry::Model> {
    if entry.points > available {
        return Err(ServiceError::InsufficientPoints {
            available,
            requested: entry.points,
        });
    }
    let lots = open_lots(txn, entry.customer_id).await?;
    let takes = rules::take_oldest_first(&lots, entry.points);
    // The balance is the sum of the lots; anything else is a bug, not a debit.
    if takes.iter().map(|(_, take)| take).sum::<i64>() != entry.points {
        return Err(ServiceError::conflict(
            "points",
            "the balance and its lots disagree; nothing was changed",
        ));
    }
    consume(txn, &takes).await?;
    debit(txn, entry, now).await
}

/// The stored balance of a customer (0 without an account).
async fn balance_row<C: ConnectionTrait>(txn: &C, customer_id: i64) -> ServiceResult<i64> {
    Ok(
        retain_schema::points_account::Entity::find_by_id(customer_id)
            .one(txn)
            .await?
            .map_or(0, |account| account.balance),
    )
}

async fn append<C: ConnectionTrait>(
    txn: &C,
    entry: NewEntry,
    remaining: i64,
    balance_after: i64,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> ServiceResult<points_entry::Model> {
    Ok(points_entry::ActiveModel {
        customer_id: Set(entry.customer_id),
        kind: Set(entry.kind),
        points: Set(entry.points),
        remaining: Set(remaining),
        balance_after: Set(balance_after),
        order_id: Set(entry.order_id),
        reference: Set(entry.reference),
        reason: Set(entry.reason),
        actor: Set(entry.actor),
        created_at: Set(now),
        expires_at: Set(expires_at),
        ..Default::default()
    }
    .insert(txn)
    .await?)
}
