//! One campaign message in the transactional outbox: written when a customer is
//! enrolled (in the same transaction), sent by the dispatcher with retries, and
//! updated by the engagement events the channel reports back.

use sea_orm::entity::prelude::*;

use super::{MessageChannel, MessageStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaign_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub customer_id: i64,
    pub channel: MessageChannel,
    /// Why the customer was enrolled: `launch`, a day (`2026-12-01`) for dated
    /// triggers, `change:ID` for a segment entry.
    pub occasion: String,
    /// `campaign:CUSTOMER:OCCASION` with the campaign id first: unique, so an
    /// occasion enrols a customer once whatever restarts or replicas do, and
    /// sent with the webhook so receivers can drop retried deliveries.
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub status: MessageStatus,
    /// Why a suppressed message is not sent (frequency cap, no consent).
    pub suppressed_reason: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// A dispatcher holds the message until then; another may take it after.
    pub lease_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
    pub opened_at: Option<DateTimeUtc>,
    pub clicked_at: Option<DateTimeUtc>,
    /// The end of the attribution window after the first click.
    pub attributed_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
