//! Campaigns: their definitions (kind, channels, target, offer, trigger,
//! schedule and lifecycle) and launching; enrolment into the outbox
//! (`enrolment`), delivery to channel webhooks (`delivery`, `signature`),
//! engagement events back (`events`), the funnel (`funnel`) and triggers
//! (`automation`).

pub mod automation;
pub mod delivery;
pub mod enrolment;
pub mod events;
pub mod funnel;
pub mod referrals;
pub mod signature;

use async_graphql::{InputObject, MaybeUndefined, OneofObject};
use chrono::{DateTime, Utc};
use retain_schema::campaign::{self, Channels, Offer, SegmentRef, Target, Trigger};
use retain_schema::{
    CampaignKind, CampaignStatus, MessageChannel, MessageStatus, campaign_message, customer,
    product,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::config::DeliverySettings;
use crate::database;
use crate::error::{ServiceError, ServiceResult};
use crate::services::validate;
use enrolment::Enrolled;

/// A new campaign.
#[derive(Debug, Clone, InputObject)]
pub struct CampaignInput {
    pub name: String,
    pub kind: CampaignKind,
    /// Channels in order of preference; at least one.
    pub channels: Vec<MessageChannel>,
    #[graphql(default)]
    pub target: TargetInput,
    /// No offer: a care message or a reminder.
    pub offer: Option<OfferInput>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// DRAFT or SCHEDULED; defaults to DRAFT.
    pub status: Option<CampaignStatus>,
    /// What enrols customers while it runs; without one, the target is sent
    /// to once, at launch.
    pub trigger: Option<TriggerInput>,
    /// Days after a click in which orders count for the message; default 7.
    pub attribution_days: Option<i32>,
}

/// Exactly one trigger.
#[derive(Debug, Clone, OneofObject)]
pub enum TriggerInput {
    /// Every day, target customers whose birthday it is.
    Birthday(LocalHourInput),
    /// On each of the dates, the whole target.
    Dates(DatesInput),
    /// When a target customer enters the segment.
    SegmentEntered(SegmentRefInput),
}

/// The shop-local hour (0–23) a dated trigger sends at.
#[derive(Debug, Clone, InputObject)]
pub struct LocalHourInput {
    pub hour: i32,
}

/// A holiday calendar: `MM-DD` dates, sent at `hour`.
#[derive(Debug, Clone, InputObject)]
pub struct DatesInput {
    pub dates: Vec<String>,
    pub hour: i32,
}

/// Changes to a campaign; absent fields are left alone, `null` clears a date.
#[derive(Debug, Clone, Default, InputObject)]
pub struct CampaignPatch {
    pub name: Option<String>,
    pub channels: Option<Vec<MessageChannel>>,
    pub target: Option<TargetInput>,
    pub offer: MaybeUndefined<OfferInput>,
    pub starts_at: MaybeUndefined<DateTime<Utc>>,
    pub ends_at: MaybeUndefined<DateTime<Utc>>,
    /// Moves the campaign through its lifecycle.
    pub status: Option<CampaignStatus>,
}

/// Who a campaign is for; every given criterion must hold.
#[derive(Debug, Clone, Default, InputObject)]
pub struct TargetInput {
    pub segment: Option<SegmentRefInput>,
    #[graphql(default)]
    pub tags_any: Vec<String>,
}

/// A segment of a strategy slot, e.g. slot `tier`, key `dormant`.
#[derive(Debug, Clone, InputObject)]
pub struct SegmentRefInput {
    pub slot: String,
    pub key: String,
}

/// Exactly one kind of offer.
#[derive(Debug, Clone, OneofObject)]
pub enum OfferInput {
    AmountOff(AmountOffInput),
    /// Percent off the order, 1–100.
    PercentOff(i32),
    /// Points multiplier in tenths: 15 means ×1.5 (11–100).
    PointsMultiplierTenths(i32),
    /// SKU of the gift product.
    GiftSku(String),
    /// Points for both sides of a referral (referral campaigns only).
    ReferralPoints(ReferralPointsInput),
}

/// Points credited to the referrer and to the referred customer when the
/// referred customer's first order is paid.
#[derive(Debug, Clone, InputObject)]
pub struct ReferralPointsInput {
    pub referrer_points: i64,
    pub referred_points: i64,
}

/// Most points one side of a referral may be promised.
const MAX_REFERRAL_POINTS: i64 = 1_000_000;

/// `amountMinor` off an order of at least `thresholdMinor` (e.g. 100 off 200).
#[derive(Debug, Clone, InputObject)]
pub struct AmountOffInput {
    pub amount_minor: i64,
    #[graphql(default)]
    pub threshold_minor: i64,
}

/// Whether `at` falls within `campaign`'s dates (open ends count as open).
pub fn within_dates(campaign: &campaign::Model, at: DateTime<Utc>) -> bool {
    campaign.starts_at.is_none_or(|starts| starts <= at)
        && campaign.ends_at.is_none_or(|ends| at < ends)
}

/// Whether a campaign may move from `from` to `to`.
pub fn can_transition(from: CampaignStatus, to: CampaignStatus) -> bool {
    use CampaignStatus::*;
    matches!(
        (from, to),
        (Draft, Scheduled | Running | Cancelled)
            | (Scheduled, Draft | Running | Cancelled)
            | (Running, Paused | Completed | Cancelled)
            | (Paused, Running | Completed | Cancelled)
    )
}

pub async fn find<C: ConnectionTrait>(db: &C, id: i64) -> ServiceResult<campaign::Model> {
    campaign::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::not_found("campaign", id))
}

fn channels(field: &str, values: &[MessageChannel]) -> ServiceResult<Channels> {
    if values.is_empty() {
        return Err(ServiceError::invalid(
            field,
            "must name at least one channel",
        ));
    }
    let mut unique = Vec::with_capacity(values.len());
    for channel in values {
        if !unique.contains(channel) {
            unique.push(*channel);
        }
    }
    Ok(Channels(unique))
}

fn target(field: &str, input: &TargetInput) -> ServiceResult<Target> {
    let segment = input
        .segment
        .as_ref()
        .map(|s| -> ServiceResult<SegmentRef> {
            Ok(SegmentRef {
                slot: validate::text(&format!("{field}.segment.slot"), &s.slot, 64)?,
                key: validate::text(&format!("{field}.segment.key"), &s.key, 64)?,
            })
        })
        .transpose()?;
    Ok(Target {
        segment,
        tags_any: validate::tags(&format!("{field}.tagsAny"), &input.tags_any)?,
    })
}

async fn offer<C: ConnectionTrait>(
    db: &C,
    field: &str,
    kind: CampaignKind,
    input: Option<&OfferInput>,
) -> ServiceResult<Offer> {
    Ok(match input {
        None => Offer::None,
        Some(OfferInput::AmountOff(a)) => {
            if a.amount_minor <= 0 {
                return Err(ServiceError::invalid(
                    format!("{field}.amountOff.amountMinor"),
                    "must be positive",
                ));
            }
            if a.threshold_minor != 0 && a.threshold_minor < a.amount_minor {
                return Err(ServiceError::invalid(
                    format!("{field}.amountOff.thresholdMinor"),
                    "must be 0 (no threshold) or at least the amount off",
                ));
            }
            Offer::AmountOff {
                amount_minor: a.amount_minor,
                threshold_minor: validate::amount(
                    &format!("{field}.amountOff.thresholdMinor"),
                    a.threshold_minor,
                )?,
            }
        }
        Some(OfferInput::PercentOff(p)) => Offer::PercentOff {
            percent: validate::score(&format!("{field}.percentOff"), *p, 1, 100)? as u8,
        },
        Some(OfferInput::PointsMultiplierTenths(t)) => Offer::PointsMultiplier {
            tenths: validate::score(&format!("{field}.pointsMultiplierTenths"), *t, 11, 100)?
                as u16,
        },
        Some(OfferInput::GiftSku(sku)) => {
            let sku = validate::text(&format!("{field}.giftSku"), sku, 64)?;
            let exists = product::Entity::find()
                .filter(product::Column::Sku.eq(&sku))
                .one(db)
                .await?
                .is_some();
            if !exists {
                return Err(ServiceError::invalid(
                    format!("{field}.giftSku"),
                    "no such product",
                ));
            }
            Offer::Gift { sku }
        }
        Some(OfferInput::ReferralPoints(points)) => {
            if kind != CampaignKind::Referral {
                return Err(ServiceError::invalid(
                    format!("{field}.referralPoints"),
                    "only referral campaigns reward referrals",
                ));
            }
            let side = |name: &str, points: i64| -> ServiceResult<i64> {
                if !(0..=MAX_REFERRAL_POINTS).contains(&points) {
                    return Err(ServiceError::invalid(
                        format!("{field}.referralPoints.{name}"),
                        format!("must be between 0 and {MAX_REFERRAL_POINTS}"),
                    ));
                }
                Ok(points)
            };
            let referrer_points = side("referrerPoints", points.referrer_points)?;
            let referred_points = side("referredPoints", points.referred_points)?;
            if referrer_points + referred_points == 0 {
                return Err(ServiceError::invalid(
                    format!("{field}.referralPoints"),
                    "must reward at least one side",
                ));
            }
            Offer::ReferralPoints {
                referrer_points,
                referred_points,
            }
        }
    })
}

fn trigger(field: &str, input: &TriggerInput) -> ServiceResult<Trigger> {
    let hour = |hour: i32| -> ServiceResult<u8> {
        Ok(validate::score(&format!("{field}.hour"), hour, 0, 23)? as u8)
    };
    Ok(match input {
        TriggerInput::Birthday(at) => Trigger::Birthday {
            hour: hour(at.hour)?,
        },
        TriggerInput::Dates(dates) => {
            if dates.dates.is_empty() {
                return Err(ServiceError::invalid(
                    format!("{field}.dates.dates"),
                    "must name at least one date",
                ));
            }
            let mut days = Vec::with_capacity(dates.dates.len());
            for (i, day) in dates.dates.iter().enumerate() {
                // Any leap year accepts every MM-DD there is.
                if chrono::NaiveDate::parse_from_str(&format!("2024-{day}"), "%Y-%m-%d").is_err()
                    || day.len() != 5
                {
                    return Err(ServiceError::invalid(
                        format!("{field}.dates.dates[{i}]"),
                        format!("{day:?} is not a day of the year (MM-DD)"),
                    ));
                }
                days.push(day.clone());
            }
            Trigger::Dates {
                dates: days,
                hour: hour(dates.hour)?,
            }
        }
        TriggerInput::SegmentEntered(segment) => Trigger::SegmentEntered {
            slot: validate::text(&format!("{field}.segmentEntered.slot"), &segment.slot, 64)?,
            key: validate::text(&format!("{field}.segmentEntered.key"), &segment.key, 64)?,
        },
    })
}

fn schedule(starts_at: Option<DateTime<Utc>>, ends_at: Option<DateTime<Utc>>) -> ServiceResult<()> {
    if let (Some(start), Some(end)) = (starts_at, ends_at)
        && end <= start
    {
        return Err(ServiceError::invalid("endsAt", "must be after startsAt"));
    }
    Ok(())
}

pub async fn create<C: ConnectionTrait>(
    db: &C,
    input: &CampaignInput,
    now: DateTime<Utc>,
) -> ServiceResult<campaign::Model> {
    let status = input.status.unwrap_or(CampaignStatus::Draft);
    if !matches!(status, CampaignStatus::Draft | CampaignStatus::Scheduled) {
        return Err(ServiceError::invalid(
            "status",
            "a new campaign is DRAFT or SCHEDULED",
        ));
    }
    schedule(input.starts_at, input.ends_at)?;
    let model = campaign::ActiveModel {
        name: Set(validate::text("name", &input.name, 200)?),
        kind: Set(input.kind),
        channels: Set(channels("channels", &input.channels)?),
        target: Set(target("target", &input.target)?),
        offer: Set(offer(db, "offer", input.kind, input.offer.as_ref()).await?),
        starts_at: Set(input.starts_at),
        ends_at: Set(input.ends_at),
        status: Set(status),
        created_at: Set(now),
        updated_at: Set(now),
        trigger: Set(input
            .trigger
            .as_ref()
            .map(|t| trigger("trigger", t))
            .transpose()?),
        trigger_cursor: Set(None),
        attribution_days: Set(i32::from(validate::score(
            "attributionDays",
            input.attribution_days.unwrap_or(7),
            1,
            90,
        )?)),
        ..Default::default()
    };
    Ok(model.insert(db).await?)
}

/// Applies `patch` in one transaction. Moving a draft or scheduled campaign to
/// RUNNING launches it (see [`launch`]); cancelling suppresses what was not sent.
pub async fn update(
    db: &sea_orm::DatabaseConnection,
    id: i64,
    patch: &CampaignPatch,
    settings: &DeliverySettings,
    now: DateTime<Utc>,
) -> ServiceResult<(campaign::Model, Enrolled)> {
    let txn = database::begin_write(db).await?;
    let db = &txn;
    let current = find(db, id).await?;
    if let Some(status) = patch.status
        && status != current.status
        && !can_transition(current.status, status)
    {
        return Err(ServiceError::conflict(
            "status",
            format!(
                "a campaign cannot move from {} to {}",
                format!("{:?}", current.status).to_uppercase(),
                format!("{status:?}").to_uppercase()
            ),
        ));
    }
    let starts_at = match patch.starts_at {
        MaybeUndefined::Value(v) => Some(v),
        MaybeUndefined::Null => None,
        MaybeUndefined::Undefined => current.starts_at,
    };
    let ends_at = match patch.ends_at {
        MaybeUndefined::Value(v) => Some(v),
        MaybeUndefined::Null => None,
        MaybeUndefined::Undefined => current.ends_at,
    };
    schedule(starts_at, ends_at)?;
    let current_status = current.status;
    let kind = current.kind;
    let mut model: campaign::ActiveModel = current.into();
    if let Some(name) = &patch.name {
        model.name = Set(validate::text("name", name, 200)?);
    }
    if let Some(values) = &patch.channels {
        model.channels = Set(channels("channels", values)?);
    }
    if let Some(t) = &patch.target {
        model.target = Set(target("target", t)?);
    }
    match &patch.offer {
        MaybeUndefined::Value(o) => model.offer = Set(offer(db, "offer", kind, Some(o)).await?),
        MaybeUndefined::Null => model.offer = Set(Offer::None),
        MaybeUndefined::Undefined => {}
    }
    if let Some(status) = patch.status {
        model.status = Set(status);
    }
    model.starts_at = Set(starts_at);
    model.ends_at = Set(ends_at);
    model.updated_at = Set(now);
    let mut updated = model.update(db).await?;
    let mut enrolled = Enrolled::default();
    if updated.status == CampaignStatus::Running
        && matches!(
            current_status,
            CampaignStatus::Draft | CampaignStatus::Scheduled
        )
    {
        (updated, enrolled) = start(db, updated, settings, now).await?;
    }
    if updated.status == CampaignStatus::Cancelled {
        // What was not sent yet never will be.
        campaign_message::Entity::update_many()
            .col_expr(
                campaign_message::Column::Status,
                Expr::value(MessageStatus::Suppressed),
            )
            .col_expr(
                campaign_message::Column::SuppressedReason,
                Expr::value("the campaign was cancelled"),
            )
            .filter(campaign_message::Column::CampaignId.eq(updated.id))
            .filter(campaign_message::Column::Status.eq(MessageStatus::Pending))
            .exec(db)
            .await?;
    }
    txn.commit().await?;
    Ok((updated, enrolled))
}

/// Customers read and enrolled at a time during a launch.
const LAUNCH_BATCH: u64 = 1000;

/// Launches a draft or scheduled campaign: without a trigger, its whole target
/// is enrolled in the outbox in the same transaction as the status change, so
/// a launch is all or nothing; with one, the trigger fires from now on.
pub async fn launch(
    db: &sea_orm::DatabaseConnection,
    id: i64,
    settings: &DeliverySettings,
    now: DateTime<Utc>,
) -> ServiceResult<(campaign::Model, Enrolled)> {
    let patch = CampaignPatch {
        status: Some(CampaignStatus::Running),
        ..CampaignPatch::default()
    };
    let current = find(db, id).await?;
    if !matches!(
        current.status,
        CampaignStatus::Draft | CampaignStatus::Scheduled
    ) {
        return Err(ServiceError::conflict(
            "status",
            format!(
                "only draft and scheduled campaigns launch; this one is {}",
                format!("{:?}", current.status).to_uppercase()
            ),
        ));
    }
    update(db, id, &patch, settings, now).await
}

/// The first move to RUNNING: the one-off send to the target, or the trigger's
/// starting cursor.
async fn start(
    txn: &sea_orm::DatabaseTransaction,
    campaign: campaign::Model,
    settings: &DeliverySettings,
    now: DateTime<Utc>,
) -> ServiceResult<(campaign::Model, Enrolled)> {
    let mut enrolled = Enrolled::default();
    let cursor = match &campaign.trigger {
        Some(trigger) => automation::starting_cursor(txn, trigger).await?,
        None => {
            let audience = enrolment::audience(&campaign.target);
            let mut after = 0;
            loop {
                let customers = customer::Entity::find()
                    .filter(audience.clone())
                    .filter(customer::Column::Id.gt(after))
                    .order_by_asc(customer::Column::Id)
                    .limit(LAUNCH_BATCH)
                    .all(txn)
                    .await?;
                let Some(last) = customers.last().map(|c| c.id) else {
                    break;
                };
                enrolled.add(
                    enrolment::enrol(txn, &campaign, &customers, "launch", settings, now).await?,
                );
                after = last;
            }
            None
        }
    };
    let mut model: campaign::ActiveModel = campaign.into();
    model.trigger_cursor = Set(cursor);
    Ok((model.update(txn).await?, enrolled))
}

/// A campaign's messages, newest first, optionally in one status.
pub async fn messages(
    db: &impl ConnectionTrait,
    campaign_id: Option<i64>,
    status: Option<MessageStatus>,
    limit: u64,
) -> ServiceResult<Vec<campaign_message::Model>> {
    let mut query = campaign_message::Entity::find().order_by_desc(campaign_message::Column::Id);
    if let Some(id) = campaign_id {
        query = query.filter(campaign_message::Column::CampaignId.eq(id));
    }
    if let Some(status) = status {
        query = query.filter(campaign_message::Column::Status.eq(status));
    }
    Ok(query.limit(limit).all(db).await?)
}
