//! Referrals in GraphQL: recording one under a referral campaign, and reading
//! who referred a customer and how a campaign's referrals fare.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use retain_schema::referral;

use crate::app::{app_context, caller};
use crate::graphql::campaigns::Campaign;
use crate::graphql::customers::Customer;
use crate::graphql::errors::GqlResultExt;
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::loaders::loaders;
use crate::graphql::orders::Order;
use crate::services::campaigns::referrals::{self, NewReferral, ReferralCounts};

/// Who referred whom, under which campaign.
pub struct Referral(pub referral::Model);

#[Object]
impl Referral {
    /// The referral's row id; referrals are not nodes.
    async fn id(&self) -> i64 {
        self.0.id
    }
    async fn campaign(&self, ctx: &Context<'_>) -> Result<Option<Campaign>> {
        let loaders = loaders(ctx);
        let campaign = loaders.campaigns.load_one(self.0.campaign_id).await.gql()?;
        Ok(campaign.map(Campaign))
    }
    async fn referrer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        let loaders = loaders(ctx);
        let customer = loaders.customers.load_one(self.0.referrer_id).await.gql()?;
        Ok(customer.map(Customer))
    }
    async fn referred(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        let loaders = loaders(ctx);
        let customer = loaders.customers.load_one(self.0.referred_id).await.gql()?;
        Ok(customer.map(Customer))
    }
    /// `key:NAME` of the caller who recorded it.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the referred customer's first paid order rewarded both sides.
    async fn rewarded_at(&self) -> Option<DateTime<Utc>> {
        self.0.rewarded_at
    }
    /// That first paid order.
    async fn reward_order(&self, ctx: &Context<'_>) -> Result<Option<Order>> {
        let Some(id) = self.0.reward_order_id else {
            return Ok(None);
        };
        let order = loaders(ctx).orders.load_one(id).await.gql()?;
        Ok(order.map(Order))
    }
}

/// How a referral campaign's referrals fare.
#[derive(SimpleObject)]
pub struct ReferralStats {
    /// Referrals recorded.
    pub recorded: u64,
    /// Referrals whose referred customer paid a first order, rewarding both.
    pub rewarded: u64,
}

impl From<ReferralCounts> for ReferralStats {
    fn from(counts: ReferralCounts) -> Self {
        Self {
            recorded: counts.recorded,
            rewarded: counts.rewarded,
        }
    }
}

/// The referral that brought `customer_id`, if any.
pub async fn referral_of(ctx: &Context<'_>, customer_id: i64) -> Result<Option<Referral>> {
    let db = &app_context(ctx).db;
    let found = referrals::of_referred(db, customer_id).await.gql()?;
    Ok(found.map(Referral))
}

/// How the referrals of campaign `campaign_id` fare.
pub async fn stats_of(ctx: &Context<'_>, campaign_id: i64) -> Result<ReferralStats> {
    let db = &app_context(ctx).db;
    let counts = referrals::counts(db, campaign_id).await.gql()?;
    Ok(counts.into())
}

/// A referral to record.
#[derive(InputObject)]
pub struct RecordReferralInput {
    /// A running referral campaign with a referral reward.
    pub campaign_id: ID,
    pub referrer_id: ID,
    /// A customer who was never referred and has not paid an order yet.
    pub referred_id: ID,
}

#[derive(Default)]
pub struct ReferralMutation;

#[Object]
impl ReferralMutation {
    /// Records that one customer referred another under a referral campaign.
    /// When the referred customer's first order is paid while the campaign
    /// runs, both are credited the campaign's referral points, once.
    async fn record_referral(
        &self,
        ctx: &Context<'_>,
        input: RecordReferralInput,
    ) -> Result<Referral> {
        let referral = NewReferral {
            campaign_id: ids::decode("campaignId", &input.campaign_id, NodeKind::Campaign).gql()?,
            referrer_id: ids::decode("referrerId", &input.referrer_id, NodeKind::Customer).gql()?,
            referred_id: ids::decode("referredId", &input.referred_id, NodeKind::Customer).gql()?,
        };
        let app = app_context(ctx);
        referrals::record(&app.db, &referral, caller(ctx)?, Utc::now())
            .await
            .gql()
            .map(Referral)
    }
}
