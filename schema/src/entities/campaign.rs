//! A retention campaign: who it targets, through which channels, with which offer, when.

use sea_orm::FromJsonQueryResult;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use super::{CampaignKind, CampaignStatus, MessageChannel};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub kind: CampaignKind,
    #[sea_orm(column_type = "Json")]
    pub channels: Channels,
    #[sea_orm(column_type = "Json")]
    pub target: Target,
    #[sea_orm(column_type = "Json")]
    pub offer: Offer,
    pub starts_at: Option<DateTimeUtc>,
    pub ends_at: Option<DateTimeUtc>,
    pub status: CampaignStatus,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// What enrols customers while the campaign runs; none for a one-off send
    /// to the target when it starts.
    #[sea_orm(column_type = "Json", nullable)]
    pub trigger: Option<Trigger>,
    /// How far the trigger's scheduler got: the last day handled (`YYYYMMDD`)
    /// for dated triggers, the last segment change for `SegmentEntered`.
    pub trigger_cursor: Option<i64>,
    /// Days after a click in which the customer's orders count for the message.
    pub attribution_days: i32,
}

/// What enrols customers in a running campaign, beyond the one-off send when it
/// starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// Every day at `hour` (shop local time): target customers whose birthday
    /// is that day.
    Birthday { hour: u8 },
    /// On each of `dates` (`MM-DD`, a holiday calendar) at `hour`: the whole
    /// target.
    Dates { dates: Vec<String>, hour: u8 },
    /// When a target customer enters segment `key` of `slot`, e.g. win-back on
    /// entering `dormant`.
    SegmentEntered { slot: String, key: String },
}

/// The channels a campaign sends through, in order of preference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct Channels(pub Vec<MessageChannel>);

/// Who a campaign is for. Every present criterion must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct Target {
    /// Customers in this segment of a strategy slot, e.g. slot `tier`, key `dormant`.
    pub segment: Option<SegmentRef>,
    /// Customers with at least one of these interest tags.
    #[serde(default)]
    pub tags_any: Vec<String>,
}

/// A segment of a strategy slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRef {
    pub slot: String,
    pub key: String,
}

/// The incentive a campaign offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Offer {
    /// No incentive: a care message or a reminder.
    None,
    /// `amount_minor` off an order of at least `threshold_minor` (e.g. 100 off 200).
    AmountOff {
        amount_minor: i64,
        threshold_minor: i64,
    },
    /// A percentage off the order.
    PercentOff { percent: u8 },
    /// Points earned are multiplied, in tenths (15 = ×1.5).
    PointsMultiplier { tenths: u16 },
    /// A gift product.
    Gift { sku: String },
    /// Points for both sides of a referral, credited when the referred
    /// customer's first order is paid.
    ReferralPoints {
        referrer_points: i64,
        referred_points: i64,
    },
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
