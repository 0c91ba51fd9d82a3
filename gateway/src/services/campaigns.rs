//! Campaign definitions: kind, channels, target, offer, schedule and lifecycle.
//! Launching and delivery come with the retention-programme work.

use async_graphql::{InputObject, MaybeUndefined, OneofObject};
use chrono::{DateTime, Utc};
use retain_schema::campaign::{self, Channels, Offer, SegmentRef, Target};
use retain_schema::{CampaignKind, CampaignStatus, MessageChannel, product};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::error::{ServiceError, ServiceResult};
use crate::services::validate;

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
}

/// `amountMinor` off an order of at least `thresholdMinor` (e.g. 100 off 200).
#[derive(Debug, Clone, InputObject)]
pub struct AmountOffInput {
    pub amount_minor: i64,
    #[graphql(default)]
    pub threshold_minor: i64,
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
        offer: Set(offer(db, "offer", input.offer.as_ref()).await?),
        starts_at: Set(input.starts_at),
        ends_at: Set(input.ends_at),
        status: Set(status),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Ok(model.insert(db).await?)
}

pub async fn update<C: ConnectionTrait>(
    db: &C,
    id: i64,
    patch: &CampaignPatch,
    now: DateTime<Utc>,
) -> ServiceResult<campaign::Model> {
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
        MaybeUndefined::Value(o) => model.offer = Set(offer(db, "offer", Some(o)).await?),
        MaybeUndefined::Null => model.offer = Set(Offer::None),
        MaybeUndefined::Undefined => {}
    }
    if let Some(status) = patch.status {
        model.status = Set(status);
    }
    model.starts_at = Set(starts_at);
    model.ends_at = Set(ends_at);
    model.updated_at = Set(now);
    Ok(model.update(db).await?)
}
