//! The outbox dispatcher: every replica takes due messages under a lease,
//! POSTs each to its channel's webhook, signed, with the message's idempotency
//! key, and retries failures with exponential backoff until the message goes to
//! the dead-letter list.
//!
//! Delivery is at least once: a replica that dies after the webhook accepted a
//! message but before recording it sends it again once the lease expires, with
//! the same `Idempotency-Key`, so receivers drop the repeat.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use retain_schema::{
    CampaignStatus, MessageChannel, MessageStatus, campaign, campaign_message, customer,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::json;
use tokio::sync::watch;

use super::signature::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::config::{DeliverySettings, Webhook};
use crate::error::ServiceResult;
use crate::metrics::{DeliveryLabels, Metrics};

/// Messages taken per round, and sent at once.
const BATCH: u64 = 100;
const IN_FLIGHT: usize = 8;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Sent,
    Failed(String),
}

/// The dispatcher of one replica.
#[derive(Clone)]
pub struct Dispatcher {
    db: DatabaseConnection,
    settings: Arc<DeliverySettings>,
    client: reqwest::Client,
    metrics: Arc<Metrics>,
}

impl Dispatcher {
    pub fn new(db: DatabaseConnection, settings: DeliverySettings, metrics: Arc<Metrics>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .build()
            .expect("an HTTP client");
        Self {
            db,
            settings: Arc::new(settings),
            client,
            metrics,
        }
    }

    /// Dispatches due messages every poll interval until `stop` turns true; the
    /// round in progress finishes first, so shutdown never cuts a send short.
    pub fn spawn(self, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker =
                tokio::time::interval(Duration::from_millis(self.settings.poll_interval_ms.max(1)));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = stop.changed() => {}
                }
                if *stop.borrow() {
                    break;
                }
                if let Err(error) = self.dispatch_due(Utc::now()).await {
                    tracing::warn!(%error, "dispatching campaign messages failed");
                }
            }
        })
    }

    /// One round: takes up to a batch of due messages and sends them. Returns
    /// how many were attempted.
    pub async fn dispatch_due(&self, now: DateTime<Utc>) -> ServiceResult<usize> {
        // Only channels with a webhook are sent; without any, no statement runs.
        let configured: Vec<MessageChannel> = [
            MessageChannel::Email,
            MessageChannel::Sms,
            MessageChannel::AppPush,
            MessageChannel::Social,
        ]
        .into_iter()
        .filter(|c| self.settings.webhook(*c).is_some())
        .collect();
        if configured.is_empty() {
            return Ok(0);
        }
        let sending = campaign::Entity::find()
            .select_only()
            .column(campaign::Column::Id)
            .filter(
                campaign::Column::Status
                    .is_in([CampaignStatus::Running, CampaignStatus::Completed]),
            )
            .into_tuple::<i64>()
            .all(&self.db)
            .await?;
        if sending.is_empty() {
            return Ok(0);
        }
        let due = campaign_message::Entity::find()
            .filter(campaign_message::Column::Status.eq(MessageStatus::Pending))
            .filter(campaign_message::Column::NextAttemptAt.lte(now))
            .filter(campaign_message::Column::CampaignId.is_in(sending))
            .filter(campaign_message::Column::Channel.is_in(configured))
            .filter(unleased(now))
            .order_by_asc(campaign_message::Column::NextAttemptAt)
            .order_by_asc(campaign_message::Column::Id)
            .limit(BATCH)
            .all(&self.db)
            .await?;
        let mut claimed = Vec::with_capacity(due.len());
        let lease =
            now + chrono::Duration::milliseconds(2 * self.settings.timeout_ms as i64 + 1000);
        for message in due {
            if self.claim(&message, now, lease).await? {
                claimed.push(message);
            }
        }
        if claimed.is_empty() {
            return Ok(0);
        }
        let customers: HashMap<i64, customer::Model> = customer::Entity::find()
            .filter(customer::Column::Id.is_in(claimed.iter().map(|m| m.customer_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let campaigns: HashMap<i64, campaign::Model> = campaign::Entity::find()
            .filter(campaign::Column::Id.is_in(claimed.iter().map(|m| m.campaign_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let attempted = claimed.len();
        let outcomes: Vec<(campaign_message::Model, Outcome)> =
            futures::stream::iter(claimed.into_iter().map(|message| {
                let customer = customers.get(&message.customer_id);
                let campaign = campaigns.get(&message.campaign_id);
                async move {
                    let outcome = match (customer, campaign) {
                        (Some(customer), Some(campaign)) => {
                            self.send(&message, customer, campaign).await
                        }
                        _ => Outcome::Failed("the customer or campaign is gone".into()),
                    };
                    (message, outcome)
                }
            }))
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        for (message, outcome) in outcomes {
            self.record(&message, outcome, Utc::now()).await?;
        }
        Ok(attempted)
    }

    /// Takes the message for this replica until `lease`, unless another did.
    async fn claim(
        &self,
        message: &campaign_message::Model,
        now: DateTime<Utc>,
        lease: DateTime<Utc>,
    ) -> ServiceResult<bool> {
        let taken = campaign_message::Entity::update_many()
            .col_expr(campaign_message::Column::LeaseUntil, Expr::value(lease))
            .filter(campaign_message::Column::Id.eq(message.id))
            .filter(campaign_message::Column::Status.eq(MessageStatus::Pending))
            .filter(unleased(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        Ok(taken == 1)
    }

    async fn send(
        &self,
        message: &campaign_message::Model,
        customer: &customer::Model,
        campaign: &campaign::Model,
    ) -> Outcome {
        let Some(Webhook { url, secret }) = self.settings.webhook(message.channel) else {
            return Outcome::Failed("no webhook for the channel".into());
        };
        let body = json!({
            "messageId": message.id,
            "idempotencyKey": message.idempotency_key,
            "channel": message.channel,
            "campaign": { "id": campaign.id, "name": campaign.name, "kind": campaign.kind, "offer": campaign.offer },
            "customer": {
                "externalId": customer.external_id,
                "name": customer.name,
                "email": (message.channel == MessageChannel::Email).then_some(&customer.email),
                "phone": (message.channel == MessageChannel::Sms).then_some(&customer.phone),
            },
            "occasion": message.occasion,
        })
        .to_string();
        let timestamp = Utc::now().timestamp();
        let answer = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("idempotency-key", &message.idempotency_key)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(
                SIGNATURE_HEADER,
                signature::sign(secret.expose(), timestamp, body.as_bytes()),
            )
            .body(body)
            .send()
            .await;
        match answer {
            Ok(response) if response.status().is_success() => Outcome::Sent,
            Ok(response) => Outcome::Failed(format!("the webhook answered {}", response.status())),
            Err(error) if error.is_timeout() => Outcome::Failed("the webhook timed out".into()),
            Err(error) => Outcome::Failed(format!("the webhook could not be reached: {error}")),
        }
    }

    /// Records an attempt: sent, retried later, or dead after the last one.
    async fn record(
        &self,
        message: &campaign_message::Model,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let attempts = message.attempts + 1;
        let mut update = campaign_message::Entity::update_many()
            .col_expr(campaign_message::Column::Attempts, Expr::value(attempts))
            .col_expr(
                campaign_message::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            );
        let label = match &outcome {
            Outcome::Sent => {
                update = update
                    .col_expr(
                        campaign_message::Column::Status,
                        Expr::value(MessageStatus::Sent),
                    )
                    .col_expr(campaign_message::Column::SentAt, Expr::value(now))
                    .col_expr(
                        campaign_message::Column::LastError,
                        Expr::value(Option::<String>::None),
                    );
                "sent"
            }
            Outcome::Failed(error) => {
                update = update.col_expr(
                    campaign_message::Column::LastError,
                    Expr::value(error.clone()),
                );
                if attempts >= self.settings.max_attempts as i32 {
                    tracing::warn!(message = message.id, %error, attempts, "campaign message dead-lettered");
                    update = update.col_expr(
                        campaign_message::Column::Status,
                        Expr::value(MessageStatus::Dead),
                    );
                    "dead"
                } else {
                    let retry_at = now + backoff(&self.settings, attempts);
                    update = update.col_expr(
                        campaign_message::Column::NextAttemptAt,
                        Expr::value(retry_at),
                    );
                    "retry"
                }
            }
        };
        update
            .filter(campaign_message::Column::Id.eq(message.id))
            .exec(&self.db)
            .await?;
        self.metrics
            .campaign_messages
            .get_or_create(&DeliveryLabels {
                channel: format!("{:?}", message.channel).to_lowercase(),
                outcome: label.into(),
            })
            .inc();
        Ok(())
    }
}

/// No lease, or an expired one.
fn unleased(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(campaign_message::Column::LeaseUntil.is_null())
        .add(campaign_message::Column::LeaseUntil.lt(now))
}

/// The wait before attempt `attempts + 1`: the base, doubled for each attempt
/// after the first, at most the maximum.
fn backoff(settings: &DeliverySettings, attempts: i32) -> chrono::Duration {
    let doublings = u32::try_from(attempts - 1).unwrap_or(0).min(30);
    let wait = settings
        .retry_base_ms
        .saturating_mul(1 << doublings)
        .min(settings.retry_max_ms);
    chrono::Duration::milliseconds(wait as i64)
}

/// Puts a dead message back in the queue for a fresh round of attempts.
pub async fn retry(
    db: &impl ConnectionTrait,
    message_id: i64,
    now: DateTime<Utc>,
) -> ServiceResult<campaign_message::Model> {
    let moved = campaign_message::Entity::update_many()
        .col_expr(
            campaign_message::Column::Status,
            Expr::value(MessageStatus::Pending),
        )
        .col_expr(campaign_message::Column::Attempts, Expr::value(0))
        .col_expr(campaign_message::Column::NextAttemptAt, Expr::value(now))
        .filter(campaign_message::Column::Id.eq(message_id))
        .filter(campaign_message::Column::Status.eq(MessageStatus::Dead))
        .exec(db)
        .await?
        .rows_affected;
    let message = campaign_message::Entity::find_by_id(message_id)
        .one(db)
        .await?
        .ok_or_else(|| crate::error::ServiceError::not_found("campaign message", message_id))?;
    if moved == 0 {
        return Err(crate::error::ServiceError::conflict(
            "id",
            format!(
                "message {message_id} is {} and only dead messages are retried",
                format!("{:?}", message.status).to_lowercase()
            ),
        ));
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let settings = DeliverySettings {
            retry_base_ms: 1000,
            retry_max_ms: 5000,
            ..DeliverySettings::default()
        };
        let waits: Vec<i64> = (1..=5)
            .map(|a| backoff(&settings, a).num_milliseconds())
            .collect();
        assert_eq!(waits, [1000, 2000, 4000, 5000, 5000]);
    }
}
