//! Changes callers ask for: redemptions and privileged adjustments. Each is
//! validated first, then written in one transaction; a retry with the same
//! idempotency key returns the first result instead of changing points twice.

use chrono::{DateTime, Utc};
use retain_schema::{PointsEntryKind, points_entry};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionSession, TransactionTrait,
};
use serde_json::json;

use crate::auth::Principal;
use crate::config::LoyaltySettings;
use crate::error::{ServiceError, ServiceResult};
use crate::services::loyalty::ledger::{self, NewEntry};
use crate::services::loyalty::rules;
use crate::services::{audit, customers, validate};

/// Most points one adjustment may move either way: a typo guard.
pub const MAX_ADJUSTMENT: i64 = 10_000_000;

/// Points a customer spends.
#[derive(Debug, Clone)]
pub struct Redemption {
    pub customer_id: i64,
    pub points: i64,
    /// The client's key for this redemption, resent on retry.
    pub idempotency_key: String,
    pub reason: Option<String>,
}

/// A ledger entry a request wrote, or found written by an earlier try.
#[derive(Debug, Clone)]
pub struct Written {
    pub entry: points_entry::Model,
    /// True when the idempotency key had already written this entry.
    pub replayed: bool,
}

/// Redeems points, oldest first, refusing more than the balance: the
/// `redeem_points`/`redeem_value_minor` rate says what they are worth.
pub async fn redeem<C>(
    db: &C,
    settings: &LoyaltySettings,
    request: &Redemption,
    actor: &Principal,
    now: DateTime<Utc>,
) -> ServiceResult<Written>
where
    C: ConnectionTrait + TransactionTrait,
{
    let key = validate::text("idempotencyKey", &request.idempotency_key, 128)?;
    rules::redemption_value(settings, request.points)?;
    let reason = match &request.reason {
        Some(reason) => validate::text("reason", reason, 500)?,
        None => "redeemed".into(),
    };
    customers::referenced(db, "customerId", request.customer_id).await?;
    let once = Once {
        customer_id: request.customer_id,
        kind: PointsEntryKind::Redeem,
        key: Some(key.clone()),
        points: -request.points,
    };
    if let Some(written) = once.replay(db).await? {
        return Ok(written);
    }
    let attempt = async {
        let txn = db.begin().await?;
        let locked = ledger::lock(&txn, request.customer_id, now).await?;
        let entry = NewEntry {
            customer_id: request.customer_id,
            kind: PointsEntryKind::Redeem,
            points: request.points,
            order_id: None,
            reference: Some(key),
            reason,
            actor: actor.name.clone(),
        };
        let written = ledger::spend(&txn, entry, locked.balance, now).await?;
        txn.commit().await?;
        Ok::<_, ServiceError>(written)
    };
    once.settle(db, attempt.await).await
}

/// A privileged correction of a customer's points.
#[derive(Debug, Clone)]
pub struct Adjustment {
    pub customer_id: i64,
    /// Positive credits a lot that expires like earned points; negative debits
    /// oldest first.
    pub points: i64,
    pub reason: String,
    pub idempotency_key: Option<String>,
}

/// Adjusts points and records it in the audit log, in one transaction.
pub async fn adjust<C>(
    db: &C,
    settings: &LoyaltySettings,
    request: &Adjustment,
    actor: &Principal,
    now: DateTime<Utc>,
) -> ServiceResult<Written>
where
    C: ConnectionTrait + TransactionTrait,
{
    if request.points == 0 || request.points.abs() > MAX_ADJUSTMENT {
        return Err(ServiceError::invalid(
            "points",
            format!("must be non-zero and at most {MAX_ADJUSTMENT} either way"),
        ));
    }
    let reason = validate::text("reason", &request.reason, 500)?;
    let key = request
        .idempotency_key
        .as_deref()
        .map(|key| validate::text("idempotencyKey", key, 128))
        .transpose()?;
    customers::referenced(db, "customerId", request.customer_id).await?;
    let once = Once {
        customer_id: request.customer_id,
        kind: PointsEntryKind::Adjust,
        key: key.clone(),
        points: request.points,
    };
    if let Some(written) = once.replay(db).await? {
        return Ok(written);
    }
    let attempt = async {
        let txn = db.begin().await?;
        let entry = NewEntry {
            customer_id: request.customer_id,
            kind: PointsEntryKind::Adjust,
            points: request.points.abs(),
            order_id: None,
            reference: key,
            reason: reason.clone(),
            actor: actor.name.clone(),
        };
        let written = if request.points > 0 {
            ledger::credit(&txn, settings, entry, now).await?
        } else {
            let locked = ledger::lock(&txn, request.customer_id, now).await?;
            ledger::spend(&txn, entry, locked.balance, now).await?
        };
        let detail = json!({
            "points": request.points,
            "reason": reason,
            "balance": written.balance_after,
            "entry": written.id,
        });
        let target = request.customer_id.to_string();
        audit::record(&txn, actor, "points.adjust", target, detail, now).await?;
        txn.commit().await?;
        Ok::<_, ServiceError>(written)
    };
    once.settle(db, attempt.await).await
}

/// What makes a request idempotent: its customer, kind and key, and the signed
/// points a replay must match.
struct Once {
    customer_id: i64,
    kind: PointsEntryKind,
    key: Option<String>,
    points: i64,
}

impl Once {
    /// The entry the key already wrote, if any. A key reused for other points
    /// is a client bug, refused rather than hidden.
    async fn replay<C: ConnectionTrait>(&self, db: &C) -> ServiceResult<Option<Written>> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let Some(entry) = points_entry::Entity::find()
            .filter(points_entry::Column::CustomerId.eq(self.customer_id))
            .filter(points_entry::Column::Kind.eq(self.kind))
            .filter(points_entry::Column::Reference.eq(key.as_str()))
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        if entry.points != self.points {
            return Err(ServiceError::conflict(
                "idempotencyKey",
                format!("already used for {} points", entry.points.abs()),
            ));
        }
        Ok(Some(Written {
            entry,
            replayed: true,
        }))
    }

    /// The outcome of the write; when it failed because a racing retry with
    /// the same key won (the unique index refused the second entry, and the
    /// whole transaction rolled back), the winner's entry.
    async fn settle<C: ConnectionTrait>(
        &self,
        db: &C,
        attempt: ServiceResult<points_entry::Model>,
    ) -> ServiceResult<Written> {
        match attempt {
            Ok(entry) => Ok(Written {
                entry,
                replayed: false,
            }),
            Err(err) => match self.replay(db).await? {
                Some(written) => Ok(written),
                None => Err(err),
            },
        }
    }
}
