//! Referrals under a referral campaign: recording who brought whom, and
//! rewarding both sides with points, once, when the referred customer's first
//! order is paid (in the transaction that pays it).

use chrono::{DateTime, Utc};
use retain_schema::campaign::Offer;
use retain_schema::{CampaignKind, CampaignStatus, PointsEntryKind, campaign, order, referral};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};

use crate::auth::Principal;
use crate::config::LoyaltySettings;
use crate::database;
use crate::error::{ServiceError, ServiceResult};
use crate::services::campaigns;
use crate::services::customers;
use crate::services::loyalty::ledger::{self, NewEntry, SYSTEM};

/// A referral to record.
#[derive(Debug, Clone)]
pub struct NewReferral {
    pub campaign_id: i64,
    pub referrer_id: i64,
    pub referred_id: i64,
}

/// The points each side of a referral earns under `campaign`, if it is a
/// referral campaign with a referral reward.
fn reward(campaign: &campaign::Model) -> Option<(i64, i64)> {
    match campaign.offer {
        Offer::ReferralPoints {
            referrer_points,
            referred_points,
        } if campaign.kind == CampaignKind::Referral => Some((referrer_points, referred_points)),
        _ => None,
    }
}

/// Whether `campaign` is running at `at`: its status and its dates.
fn running(campaign: &campaign::Model, at: DateTime<Utc>) -> bool {
    campaign.status == CampaignStatus::Running && super::within_dates(campaign, at)
}

/// Whether the customer has an order that was ever paid, other than `except`.
async fn has_paid_order<C: ConnectionTrait>(
    db: &C,
    customer_id: i64,
    except: Option<i64>,
) -> ServiceResult<bool> {
    let mut query = order::Entity::find()
        .filter(order::Column::CustomerId.eq(customer_id))
        .filter(order::Column::PaidAt.is_not_null());
    if let Some(id) = except {
        query = query.filter(order::Column::Id.ne(id));
    }
    Ok(query.count(db).await? > 0)
}

/// Records a referral after checking that the campaign is a running referral
/// campaign, that both customers exist and differ, and that the referred
/// customer has neither been referred before nor paid an order yet.
pub async fn record<C>(
    db: &C,
    input: &NewReferral,
    actor: &Principal,
    now: DateTime<Utc>,
) -> ServiceResult<referral::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let campaign = campaigns::find(db, input.campaign_id)
        .await
        .map_err(|_| ServiceError::invalid("campaignId", "no such campaign"))?;
    if reward(&campaign).is_none() {
        return Err(ServiceError::invalid(
            "campaignId",
            "is not a referral campaign with a referral reward",
        ));
    }
    if !running(&campaign, now) {
        return Err(ServiceError::conflict(
            "campaignId",
            "the referral campaign is not running",
        ));
    }
    if input.referrer_id == input.referred_id {
        return Err(ServiceError::invalid(
            "referredId",
            "a customer cannot refer themselves",
        ));
    }
    customers::referenced(db, "referrerId", input.referrer_id).await?;
    customers::referenced(db, "referredId", input.referred_id).await?;
    let txn = database::begin_write(db).await?;
    if let Some(earlier) = referral::Entity::find()
        .filter(referral::Column::ReferredId.eq(input.referred_id))
        .one(&txn)
        .await?
    {
        return Err(ServiceError::conflict(
            "referredId",
            format!(
                "the customer was already referred (referral {})",
                earlier.id
            ),
        ));
    }
    if has_paid_order(&txn, input.referred_id, None).await? {
        return Err(ServiceError::conflict(
            "referredId",
            "the customer has already paid an order; referrals count only before the first",
        ));
    }
    let recorded = referral::ActiveModel {
        campaign_id: Set(campaign.id),
        referrer_id: Set(input.referrer_id),
        referred_id: Set(input.referred_id),
        actor: Set(actor.name.clone()),
        created_at: Set(now),
        reward_order_id: Set(None),
        rewarded_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(recorded)
}

/// Rewards both sides of the paying customer's referral when `order`, just
/// paid, is their first paid order and the referral campaign still runs.
/// Marking the referral rewarded first makes the reward happen at most once.
pub async fn reward_first_payment<C: ConnectionTrait>(
    txn: &C,
    settings: &LoyaltySettings,
    order: &order::Model,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let Some(referral) = referral::Entity::find()
        .filter(referral::Column::ReferredId.eq(order.customer_id))
        .filter(referral::Column::RewardedAt.is_null())
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    if has_paid_order(txn, order.customer_id, Some(order.id)).await? {
        return Ok(());
    }
    let campaign = campaigns::find(txn, referral.campaign_id).await?;
    let Some((referrer_points, referred_points)) = reward(&campaign) else {
        return Ok(());
    };
    if !running(&campaign, now) {
        return Ok(());
    }
    let marked = referral::Entity::update_many()
        .col_expr(referral::Column::RewardedAt, Expr::value(now))
        .col_expr(referral::Column::RewardOrderId, Expr::value(order.id))
        .filter(referral::Column::Id.eq(referral.id))
        .filter(referral::Column::RewardedAt.is_null())
        .exec(txn)
        .await?;
    if marked.rows_affected != 1 {
        return Ok(());
    }
    let sides = [
        (
            referral.referrer_id,
            referrer_points,
            format!(
                "referral reward: a referred customer paid first order {}",
                order.order_number
            ),
        ),
        (
            referral.referred_id,
            referred_points,
            format!("referral reward: first order {} paid", order.order_number),
        ),
    ];
    for (customer_id, points, reason) in sides {
        if points == 0 {
            continue;
        }
        let entry = NewEntry {
            customer_id,
            kind: PointsEntryKind::Referral,
            points,
            order_id: None,
            reference: Some(format!("referral:{}", referral.id)),
            reason,
            actor: SYSTEM.into(),
        };
        ledger::credit(txn, settings, entry, now).await?;
    }
    Ok(())
}

/// The referral that brought `customer_id`, if any.
pub async fn of_referred<C: ConnectionTrait>(
    db: &C,
    customer_id: i64,
) -> ServiceResult<Option<referral::Model>> {
    Ok(referral::Entity::find()
        .filter(referral::Column::ReferredId.eq(customer_id))
        .one(db)
        .await?)
}

/// Referrals recorded under a campaign, and how many of them were rewarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferralCounts {
    pub recorded: u64,
    pub rewarded: u64,
}

pub async fn counts<C: ConnectionTrait>(db: &C, campaign_id: i64) -> ServiceResult<ReferralCounts> {
    let of_campaign =
        || referral::Entity::find().filter(referral::Column::CampaignId.eq(campaign_id));
    Ok(ReferralCounts {
        recorded: of_campaign().count(db).await?,
        rewarded: of_campaign()
            .filter(referral::Column::RewardedAt.is_not_null())
            .count(db)
            .await?,
    })
}
