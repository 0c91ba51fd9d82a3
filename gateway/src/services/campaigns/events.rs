//! Engagement events channels report back — delivered, opened, clicked — by
//! mutation or by a callback signed with the channel's secret. Each timestamp
//! is kept from its first report, and a later event implies the earlier ones
//! (a click was opened and delivered). The first click opens the message's
//! attribution window.

use chrono::{DateTime, Duration, Utc};
use retain_schema::{MessageEvent, MessageStatus, campaign, campaign_message};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Deserialize;

use super::signature;
use crate::config::DeliverySettings;
use crate::error::{ServiceError, ServiceResult};

pub async fn find(
    db: &impl ConnectionTrait,
    message_id: i64,
) -> ServiceResult<campaign_message::Model> {
    campaign_message::Entity::find_by_id(message_id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::not_found("campaign message", message_id))
}

/// Records `event` for a message at `at`.
pub async fn record(
    db: &impl ConnectionTrait,
    message: campaign_message::Model,
    event: MessageEvent,
    at: DateTime<Utc>,
) -> ServiceResult<campaign_message::Model> {
    if message.status == MessageStatus::Suppressed {
        return Err(ServiceError::conflict(
            "event",
            format!("message {} was suppressed and never sent", message.id),
        ));
    }
    let attribution_days = campaign::Entity::find_by_id(message.campaign_id)
        .one(db)
        .await?
        .map_or(7, |c| c.attribution_days);
    let reached = |e: MessageEvent| event as u8 >= e as u8;
    let mut update: campaign_message::ActiveModel = message.clone().into();
    if reached(MessageEvent::Delivered) && message.delivered_at.is_none() {
        update.delivered_at = Set(Some(at));
    }
    if reached(MessageEvent::Opened) && message.opened_at.is_none() {
        update.opened_at = Set(Some(at));
    }
    if reached(MessageEvent::Clicked) && message.clicked_at.is_none() {
        update.clicked_at = Set(Some(at));
        update.attributed_until = Set(Some(at + Duration::days(attribution_days.into())));
    }
    Ok(update.update(db).await?)
}

/// A callback's body: which message, what happened, and when (now if absent).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Callback {
    pub idempotency_key: String,
    pub event: MessageEvent,
    pub at: Option<DateTime<Utc>>,
}

/// Why a callback was refused.
#[derive(Debug, thiserror::Error)]
pub enum CallbackRefused {
    #[error("the body is not a callback: {0}")]
    Malformed(String),
    #[error("no message has this idempotency key")]
    UnknownMessage,
    #[error("the signature does not match the channel's secret")]
    BadSignature,
    #[error("the timestamp is missing or older than {0} seconds")]
    Stale(u64),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Verifies a signed callback (`x-retain-timestamp`, `x-retain-signature` over
/// `timestamp.body` with the message's channel secret, at most
/// `callback_max_age_secs` old) and records its event.
pub async fn callback(
    db: &impl ConnectionTrait,
    settings: &DeliverySettings,
    body: &[u8],
    timestamp: Option<i64>,
    signature_header: Option<&str>,
    now: DateTime<Utc>,
) -> Result<campaign_message::Model, CallbackRefused> {
    let callback: Callback =
        serde_json::from_slice(body).map_err(|e| CallbackRefused::Malformed(e.to_string()))?;
    let message = campaign_message::Entity::find()
        .filter(campaign_message::Column::IdempotencyKey.eq(&callback.idempotency_key))
        .one(db)
        .await
        .map_err(ServiceError::from)?
        .ok_or(CallbackRefused::UnknownMessage)?;
    let secret = settings
        .webhook(message.channel)
        .map(|w| w.secret.expose())
        .ok_or(CallbackRefused::BadSignature)?;
    let max_age = settings.callback_max_age_secs;
    let timestamp = timestamp
        .filter(|t| now.timestamp().abs_diff(*t) <= max_age)
        .ok_or(CallbackRefused::Stale(max_age))?;
    if !signature_header.is_some_and(|s| signature::verify(secret, timestamp, body, s)) {
        return Err(CallbackRefused::BadSignature);
    }
    Ok(record(db, message, callback.event, callback.at.unwrap_or(now)).await?)
}
