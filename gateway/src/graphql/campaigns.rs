//! Campaign definitions in GraphQL.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use retain_schema::campaign::{self, Offer as StoredOffer};
use retain_schema::{CampaignKind, CampaignStatus, MessageChannel, MessageStatus};
use sea_orm::Condition;

use crate::app::app_context;
use crate::graphql::connection::Conn;
use crate::graphql::errors::GqlResultExt;
use crate::graphql::filters::{
    BooleanFilter, Direction, EnumFilter, IdFilter, RangeFilter, StringFilter, boolean_filter,
};
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::loaders::loaders;
use crate::graphql::messages::{self, CampaignTrigger, Funnel, Message};
use crate::graphql::pages::{PageArgs, list_connection};
use crate::graphql::referrals::{self, ReferralStats};
use crate::paging::{SortKey, SortValue};
use crate::services::campaigns::{self, CampaignInput, CampaignPatch, funnel};

pub struct Campaign(pub campaign::Model);

/// A segment of a strategy slot.
#[derive(SimpleObject)]
pub struct SegmentRef {
    pub slot: String,
    pub key: String,
}

/// Who a campaign is for.
#[derive(SimpleObject)]
pub struct CampaignTarget {
    pub segment: Option<SegmentRef>,
    pub tags_any: Vec<String>,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum OfferKind {
    None,
    AmountOff,
    PercentOff,
    PointsMultiplier,
    Gift,
    ReferralPoints,
}

/// The incentive; only the fields of its `kind` are set.
#[derive(SimpleObject, Default)]
pub struct Offer {
    pub kind: Option<OfferKind>,
    pub amount_minor: Option<i64>,
    pub threshold_minor: Option<i64>,
    pub percent: Option<i32>,
    pub points_multiplier_tenths: Option<i32>,
    pub gift_sku: Option<String>,
    /// Of a referral reward: points for the customer who referred.
    pub referrer_points: Option<i64>,
    /// Of a referral reward: points for the referred customer.
    pub referred_points: Option<i64>,
}

impl From<&StoredOffer> for Offer {
    fn from(offer: &StoredOffer) -> Self {
        match offer {
            StoredOffer::None => Offer {
                kind: Some(OfferKind::None),
                ..Default::default()
            },
            StoredOffer::AmountOff {
                amount_minor,
                threshold_minor,
            } => Offer {
                kind: Some(OfferKind::AmountOff),
                amount_minor: Some(*amount_minor),
                threshold_minor: Some(*threshold_minor),
                ..Default::default()
            },
            StoredOffer::PercentOff { percent } => Offer {
                kind: Some(OfferKind::PercentOff),
                percent: Some(i32::from(*percent)),
                ..Default::default()
            },
            StoredOffer::PointsMultiplier { tenths } => Offer {
                kind: Some(OfferKind::PointsMultiplier),
                points_multiplier_tenths: Some(i32::from(*tenths)),
                ..Default::default()
            },
            StoredOffer::Gift { sku } => Offer {
                kind: Some(OfferKind::Gift),
                gift_sku: Some(sku.clone()),
                ..Default::default()
            },
            StoredOffer::ReferralPoints {
                referrer_points,
                referred_points,
            } => Offer {
                kind: Some(OfferKind::ReferralPoints),
                referrer_points: Some(*referrer_points),
                referred_points: Some(*referred_points),
                ..Default::default()
            },
        }
    }
}

#[Object]
impl Campaign {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::Campaign, self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> CampaignKind {
        self.0.kind
    }
    async fn channels(&self) -> &[MessageChannel] {
        &self.0.channels.0
    }
    async fn target(&self) -> CampaignTarget {
        CampaignTarget {
            segment: self.0.target.segment.as_ref().map(|s| SegmentRef {
                slot: s.slot.clone(),
                key: s.key.clone(),
            }),
            tags_any: self.0.target.tags_any.clone(),
        }
    }
    async fn offer(&self) -> Offer {
        Offer::from(&self.0.offer)
    }
    async fn starts_at(&self) -> Option<DateTime<Utc>> {
        self.0.starts_at
    }
    async fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.0.ends_at
    }
    async fn status(&self) -> CampaignStatus {
        self.0.status
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// What enrols customers while it runs; null for a one-off send at launch.
    async fn trigger(&self) -> Option<CampaignTrigger> {
        self.0.trigger.as_ref().map(CampaignTrigger::from)
    }
    /// Days after a click in which the customer's orders count for the message.
    async fn attribution_days(&self) -> i32 {
        self.0.attribution_days
    }
    /// The funnel per channel.
    async fn funnel(&self, ctx: &Context<'_>) -> Result<Vec<Funnel>> {
        let db = &app_context(ctx).db;
        Ok(funnel::funnel(db, self.0.id)
            .await
            .gql()?
            .into_iter()
            .map(Funnel::from)
            .collect())
    }
    /// Of a referral campaign: referrals recorded and rewarded.
    async fn referrals(&self, ctx: &Context<'_>) -> Result<ReferralStats> {
        referrals::stats_of(ctx, self.0.id).await
    }
    /// The campaign's messages, newest first.
    async fn messages(
        &self,
        ctx: &Context<'_>,
        status: Option<MessageStatus>,
        #[graphql(default = 20, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> Result<Vec<Message>> {
        messages::list(ctx, Some(self.0.id), status, first).await
    }
}

/// Which campaigns to list. All given criteria must hold.
#[derive(InputObject, Default)]
pub struct CampaignFilter {
    pub id: Option<IdFilter>,
    pub name: Option<StringFilter>,
    pub kind: Option<EnumFilter<CampaignKind>>,
    pub status: Option<EnumFilter<CampaignStatus>>,
    pub starts_at: Option<RangeFilter<DateTime<Utc>>>,
    pub and: Option<Vec<CampaignFilter>>,
    pub or: Option<Vec<CampaignFilter>>,
    pub not: Option<Box<CampaignFilter>>,
}

fn campaign_criteria(f: &CampaignFilter) -> crate::error::ServiceResult<Condition> {
    use campaign::Column as C;
    let mut c = Condition::all();
    if let Some(id) = &f.id {
        c = c.add(id.condition("filter.id", C::Id, NodeKind::Campaign)?);
    }
    if let Some(name) = &f.name {
        c = c.add(name.condition(C::Name));
    }
    if let Some(kind) = &f.kind {
        c = c.add(kind.condition(C::Kind));
    }
    if let Some(status) = &f.status {
        c = c.add(status.condition(C::Status));
    }
    if let Some(starts) = &f.starts_at {
        c = c.add(starts.condition(C::StartsAt));
    }
    Ok(c)
}

boolean_filter!(CampaignFilter, campaign_criteria);

#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum CampaignOrderField {
    #[default]
    CreatedAt,
    Name,
    Id,
}

/// How to sort campaigns.
#[derive(InputObject, Default)]
pub struct CampaignOrder {
    #[graphql(default)]
    pub field: CampaignOrderField,
    #[graphql(default)]
    pub direction: Direction,
}

impl CampaignOrder {
    fn sort_key(&self) -> SortKey<campaign::Entity> {
        use campaign::Column as C;
        let (column, value): (C, fn(&campaign::Model) -> SortValue) = match self.field {
            CampaignOrderField::CreatedAt => (C::CreatedAt, |m| SortValue::Time(m.created_at)),
            CampaignOrderField::Name => (C::Name, |m| SortValue::Text(m.name.clone())),
            CampaignOrderField::Id => (C::Id, |m| SortValue::Int(m.id)),
        };
        SortKey {
            column,
            id_column: C::Id,
            descending: self.direction == Direction::Desc,
            value,
            id: |m| m.id,
        }
    }
}

#[derive(Default)]
pub struct CampaignQuery;

#[Object]
impl CampaignQuery {
    /// Campaigns, filtered and sorted, one page at a time.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(0) as usize * child_complexity + 1")]
    #[allow(clippy::too_many_arguments)]
    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        filter: Option<CampaignFilter>,
        order_by: Option<CampaignOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Campaign>> {
        let condition = filter.unwrap_or_default().condition().gql()?;
        let sort = order_by.unwrap_or_default().sort_key();
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        list_connection(ctx, condition, sort, args, Campaign).await
    }

    async fn campaign(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Campaign>> {
        let id = ids::decode("id", &id, NodeKind::Campaign).gql()?;
        let loaders = loaders(ctx);
        Ok(loaders.campaigns.load_one(id).await.gql()?.map(Campaign))
    }
}

#[derive(Default)]
pub struct CampaignMutation;

#[Object]
impl CampaignMutation {
    async fn create_campaign(&self, ctx: &Context<'_>, input: CampaignInput) -> Result<Campaign> {
        let db = &app_context(ctx).db;
        campaigns::create(db, &input, Utc::now())
            .await
            .gql()
            .map(Campaign)
    }

    /// Changes a campaign, including its status: DRAFT → SCHEDULED → RUNNING ⇄ PAUSED
    /// → COMPLETED, or CANCELLED.
    async fn update_campaign(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: CampaignPatch,
    ) -> Result<Campaign> {
        let id = ids::decode("id", &id, NodeKind::Campaign).gql()?;
        let app = app_context(ctx);
        campaigns::update(&app.db, id, &input, &app.settings.delivery, Utc::now())
            .await
            .gql()
            .map(|(campaign, _)| Campaign(campaign))
    }
}
