//! Enrolling customers in a campaign: who its target selects, which channel each
//! may be reached on (the first of the campaign's channels they consented to),
//! the frequency cap across campaigns, and the outbox rows — one per customer
//! and occasion, unique by idempotency key, so an occasion never enrols anyone
//! twice whatever restarts or replicas do.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use retain_schema::campaign::{self, Target};
use retain_schema::{
    MessageChannel, MessageStatus, campaign_message, customer, customer_tag, segment_membership,
};
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QuerySelect, Set,
};

use crate::config::DeliverySettings;
use crate::error::ServiceResult;

/// What enrolling customers did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Enrolled {
    /// Messages written to the outbox, waiting for delivery.
    pub queued: u64,
    /// Suppressed: the customer reached the frequency cap.
    pub capped: u64,
    /// Suppressed: no consent on any of the campaign's channels.
    pub without_consent: u64,
    /// Enrolled for this occasion before; nothing written.
    pub already: u64,
}

impl Enrolled {
    pub fn add(&mut self, other: Enrolled) {
        self.queued += other.queued;
        self.capped += other.capped;
        self.without_consent += other.without_consent;
        self.already += other.already;
    }
}

/// The customers `target` selects (its segment in the slot, and
/// any of its tags), never the erased.
pub fn audience(target: &Target) -> Condition {
    let mut condition = Condition::all().add(customer::Column::ErasedAt.is_null());
    if let Some(segment) = &target.segment {
        let members = Query::select()
            .column(segment_membership::Column::CustomerId)
            .from(segment_membership::Entity)
            .and_where(segment_membership::Column::Slot.eq(segment.slot.clone()))
            .and_where(segment_membership::Column::Segment.eq(segment.key.clone()))
            .to_owned();
        condition = condition.add(customer::Column::Id.in_subquery(members));
    }
    if !target.tags_any.is_empty() {
        let tagged = Query::select()
            .column(customer_tag::Column::CustomerId)
            .from(customer_tag::Entity)
            .and_where(customer_tag::Column::Tag.is_in(target.tags_any.iter().cloned()))
            .to_owned();
        condition = condition.add(customer::Column::Id.in_subquery(tagged));
    }
    condition
}

/// The key that makes an enrolment happen once.
pub fn idempotency_key(campaign_id: i64, customer_id: i64, occasion: &str) -> String {
    format!("{campaign_id}:{customer_id}:{occasion}")
}

fn consents(customer: &customer::Model, channel: MessageChannel) -> bool {
    match channel {
        MessageChannel::Email => customer.consent_email,
        MessageChannel::Sms => customer.consent_sms,
        MessageChannel::AppPush => customer.consent_app_push,
        MessageChannel::Social => customer.consent_social,
    }
}

fn channel_name(channel: MessageChannel) -> String {
    format!("{channel:?}").to_lowercase()
}

#[derive(Debug, FromQueryResult)]
struct Recent {
    customer_id: i64,
    messages: i64,
}

/// Enrols `customers` in `campaign` for `occasion`: a pending message on each
/// one's first consented channel, or a suppressed one saying why. Write it in
/// the caller's transaction.
pub async fn enrol(
    db: &impl ConnectionTrait,
    campaign: &campaign::Model,
    customers: &[customer::Model],
    occasion: &str,
    settings: &DeliverySettings,
    now: DateTime<Utc>,
) -> ServiceResult<Enrolled> {
    let mut enrolled = Enrolled::default();
    if customers.is_empty() {
        return Ok(enrolled);
    }
    let keys: Vec<String> = customers
        .iter()
        .map(|c| idempotency_key(campaign.id, c.id, occasion))
        .collect();
    let existing: HashSet<String> = campaign_message::Entity::find()
        .select_only()
        .column(campaign_message::Column::IdempotencyKey)
        .filter(campaign_message::Column::IdempotencyKey.is_in(keys.iter().cloned()))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let since = now - Duration::days(settings.frequency_window_days.into());
    let mut recent: HashMap<i64, i64> = campaign_message::Entity::find()
        .select_only()
        .column(campaign_message::Column::CustomerId)
        .column_as(campaign_message::Column::Id.count(), "messages")
        .filter(campaign_message::Column::CustomerId.is_in(customers.iter().map(|c| c.id)))
        .filter(
            campaign_message::Column::Status.is_in([MessageStatus::Pending, MessageStatus::Sent]),
        )
        .filter(campaign_message::Column::CreatedAt.gte(since))
        .group_by(campaign_message::Column::CustomerId)
        .into_model::<Recent>()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.customer_id, r.messages))
        .collect();
    let cap = i64::from(settings.frequency_cap);
    let mut rows = Vec::new();
    for (customer, key) in customers.iter().zip(keys) {
        if existing.contains(&key) {
            enrolled.already += 1;
            continue;
        }
        let reachable = campaign
            .channels
            .0
            .iter()
            .copied()
            .find(|channel| consents(customer, *channel));
        let sent_lately = recent.entry(customer.id).or_default();
        let (channel, status, reason) = match reachable {
            None => {
                enrolled.without_consent += 1;
                let names: Vec<String> = campaign
                    .channels
                    .0
                    .iter()
                    .map(|c| channel_name(*c))
                    .collect();
                (
                    campaign.channels.0[0],
                    MessageStatus::Suppressed,
                    Some(format!("no consent for {}", names.join(", "))),
                )
            }
            Some(channel) if *sent_lately >= cap => {
                enrolled.capped += 1;
                (
                    channel,
                    MessageStatus::Suppressed,
                    Some(format!(
                        "frequency cap: {sent_lately} messages in the last {} days",
                        settings.frequency_window_days
                    )),
                )
            }
            Some(channel) => {
                enrolled.queued += 1;
                *sent_lately += 1;
                (channel, MessageStatus::Pending, None)
            }
        };
        rows.push(campaign_message::ActiveModel {
            campaign_id: Set(campaign.id),
            customer_id: Set(customer.id),
            channel: Set(channel),
            occasion: Set(occasion.to_owned()),
            idempotency_key: Set(key),
            status: Set(status),
            suppressed_reason: Set(reason),
            attempts: Set(0),
            next_attempt_at: Set(now),
            lease_until: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            sent_at: Set(None),
            delivered_at: Set(None),
            opened_at: Set(None),
            clicked_at: Set(None),
            attributed_until: Set(None),
            ..Default::default()
        });
    }
    // Eighteen values a row: a few hundred rows an INSERT stays under both
    // backends' bind-parameter limits. A replica racing on the same occasion
    // loses quietly to the unique key.
    for chunk in rows.chunks(500) {
        campaign_message::Entity::insert_many(chunk.to_vec())
            .on_conflict_do_nothing_on([campaign_message::Column::IdempotencyKey])
            .exec(db)
            .await?;
    }
    Ok(enrolled)
}
