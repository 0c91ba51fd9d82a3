//! Campaign delivery in GraphQL: launching, the outbox's messages and their
//! dead-letter list, engagement events, and each campaign's funnel.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use retain_schema::campaign::Trigger;
use retain_schema::{MessageChannel, MessageEvent, MessageStatus, campaign_message};

use crate::app::app_context;
use crate::graphql::campaigns::Campaign;
use crate::graphql::customers::Customer;
use crate::graphql::errors::GqlResultExt;
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::loaders::loaders;
use crate::services::campaigns::enrolment::Enrolled;
use crate::services::campaigns::funnel::ChannelFunnel;
use crate::services::campaigns::{self, delivery, events};

/// One message of a campaign in the outbox.
pub struct Message(pub campaign_message::Model);

#[Object]
impl Message {
    /// The message's number, as callbacks and `recordMessageEvent` name it.
    async fn id(&self) -> i64 {
        self.0.id
    }
    async fn campaign(&self, ctx: &Context<'_>) -> Result<Option<Campaign>> {
        Ok(loaders(ctx)
            .campaigns
            .load_one(self.0.campaign_id)
            .await
            .gql()?
            .map(Campaign))
    }
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        Ok(loaders(ctx)
            .customers
            .load_one(self.0.customer_id)
            .await
            .gql()?
            .map(Customer))
    }
    async fn channel(&self) -> MessageChannel {
        self.0.channel
    }
    /// `launch`, a day for dated triggers, `change:N` for a segment entry.
    async fn occasion(&self) -> &str {
        &self.0.occasion
    }
    /// Sent with every delivery attempt as `Idempotency-Key`.
    async fn idempotency_key(&self) -> &str {
        &self.0.idempotency_key
    }
    async fn status(&self) -> MessageStatus {
        self.0.status
    }
    async fn suppressed_reason(&self) -> Option<&str> {
        self.0.suppressed_reason.as_deref()
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == MessageStatus::Pending).then_some(self.0.next_attempt_at)
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
    async fn opened_at(&self) -> Option<DateTime<Utc>> {
        self.0.opened_at
    }
    async fn clicked_at(&self) -> Option<DateTime<Utc>> {
        self.0.clicked_at
    }
    /// Orders until then, after the click, count for the message.
    async fn attributed_until(&self) -> Option<DateTime<Utc>> {
        self.0.attributed_until
    }
}

/// A campaign's trigger.
#[derive(SimpleObject)]
pub struct CampaignTrigger {
    /// `BIRTHDAY`, `DATES` or `SEGMENT_ENTERED`.
    pub kind: String,
    /// The shop-local hour dated triggers send at.
    pub hour: Option<i32>,
    /// `MM-DD` days of a `DATES` trigger.
    pub dates: Vec<String>,
    pub slot: Option<String>,
    pub segment: Option<String>,
}

impl From<&Trigger> for CampaignTrigger {
    fn from(trigger: &Trigger) -> Self {
        match trigger {
            Trigger::Birthday { hour } => Self {
                kind: "BIRTHDAY".into(),
                hour: Some(i32::from(*hour)),
                dates: Vec::new(),
                slot: None,
                segment: None,
            },
            Trigger::Dates { dates, hour } => Self {
                kind: "DATES".into(),
                hour: Some(i32::from(*hour)),
                dates: dates.clone(),
                slot: None,
                segment: None,
            },
            Trigger::SegmentEntered { slot, key } => Self {
                kind: "SEGMENT_ENTERED".into(),
                hour: None,
                dates: Vec::new(),
                slot: Some(slot.clone()),
                segment: Some(key.clone()),
            },
        }
    }
}

/// One channel's funnel: enrolled → touched → delivered → opened → clicked →
/// added to cart → paid → repurchased (counts of messages).
#[derive(SimpleObject)]
pub struct Funnel {
    pub channel: MessageChannel,
    pub enrolled: i64,
    /// Not sent: frequency cap, no consent, or the campaign was cancelled.
    pub suppressed: i64,
    /// Accepted by the channel's webhook.
    pub touched: i64,
    pub delivered: i64,
    pub opened: i64,
    pub clicked: i64,
    /// Clicked, then added to cart within the attribution window.
    pub added_to_cart: i64,
    /// Clicked, then paid an order within the window.
    pub paid: i64,
    /// Clicked, then paid a second order within the window.
    pub repurchased: i64,
    /// Paid revenue within the windows, in minor units.
    pub revenue_minor: i64,
    /// On the dead-letter list.
    pub dead: i64,
}

impl From<ChannelFunnel> for Funnel {
    fn from(f: ChannelFunnel) -> Self {
        Self {
            channel: f.channel,
            enrolled: f.enrolled,
            suppressed: f.suppressed,
            touched: f.touched,
            delivered: f.delivered,
            opened: f.opened,
            clicked: f.clicked,
            added_to_cart: f.added_to_cart,
            paid: f.paid,
            repurchased: f.repurchased,
            revenue_minor: f.revenue,
            dead: f.dead,
        }
    }
}

/// What enrolling did.
#[derive(SimpleObject)]
pub struct Enrolment {
    /// Messages waiting for delivery.
    pub queued: u64,
    /// Suppressed by the frequency cap.
    pub capped: u64,
    /// Suppressed for want of consent on every channel of the campaign.
    pub without_consent: u64,
}

impl From<Enrolled> for Enrolment {
    fn from(e: Enrolled) -> Self {
        Self {
            queued: e.queued,
            capped: e.capped,
            without_consent: e.without_consent,
        }
    }
}

/// A launched campaign and what its launch enrolled.
#[derive(SimpleObject)]
pub struct LaunchCampaignPayload {
    pub campaign: Campaign,
    pub enrolment: Enrolment,
}

/// The messages of `campaign` (or of every campaign), newest first.
pub async fn list(
    ctx: &Context<'_>,
    campaign: Option<i64>,
    status: Option<MessageStatus>,
    first: i32,
) -> Result<Vec<Message>> {
    let db = &app_context(ctx).db;
    Ok(campaigns::messages(db, campaign, status, first as u64)
        .await
        .gql()?
        .into_iter()
        .map(Message)
        .collect())
}

#[derive(Default)]
pub struct MessageQuery;

#[Object]
impl MessageQuery {
    /// Messages every delivery attempt failed for, newest first; `retryMessage`
    /// puts one back in the queue.
    async fn dead_letters(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> Result<Vec<Message>> {
        list(ctx, None, Some(MessageStatus::Dead), first).await
    }
}

#[derive(Default)]
pub struct MessageMutation;

#[Object]
impl MessageMutation {
    /// Starts a draft or scheduled campaign. Without a trigger, its whole
    /// target is enrolled in the outbox at once (consent and the frequency cap
    /// applied); with one, the trigger fires from now on.
    async fn launch_campaign(&self, ctx: &Context<'_>, id: ID) -> Result<LaunchCampaignPayload> {
        let id = ids::decode("id", &id, NodeKind::Campaign).gql()?;
        let app = app_context(ctx);
        let (campaign, enrolled) =
            campaigns::launch(&app.db, id, &app.settings.delivery, Utc::now())
                .await
                .gql()?;
        Ok(LaunchCampaignPayload {
            campaign: Campaign(campaign),
            enrolment: enrolled.into(),
        })
    }

    /// Records what a channel reported for a message; a later event implies the
    /// earlier ones, and each keeps its first time.
    async fn record_message_event(
        &self,
        ctx: &Context<'_>,
        message_id: i64,
        event: MessageEvent,
        at: Option<DateTime<Utc>>,
    ) -> Result<Message> {
        let db = &app_context(ctx).db;
        let message = events::find(db, message_id).await.gql()?;
        events::record(db, message, event, at.unwrap_or_else(Utc::now))
            .await
            .gql()
            .map(Message)
    }

    /// Puts a dead message back in the queue for a fresh round of attempts.
    async fn retry_message(&self, ctx: &Context<'_>, message_id: i64) -> Result<Message> {
        let db = &app_context(ctx).db;
        delivery::retry(db, message_id, Utc::now())
            .await
            .gql()
            .map(Message)
    }
}
