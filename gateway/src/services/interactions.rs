//! Interactions: what customers do, recorded by frontends as it happens.

use chrono::{DateTime, Utc};
use retain_schema::{Channel, InteractionKind, campaign, interaction, product};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use crate::error::{ServiceError, ServiceResult};
use crate::services::{customers, validate};

/// An interaction to record, with ids already resolved.
#[derive(Debug, Clone)]
pub struct NewInteraction {
    pub customer_id: i64,
    pub kind: InteractionKind,
    pub channel: Channel,
    pub product_id: Option<i64>,
    pub campaign_id: Option<i64>,
    /// Defaults to now.
    pub occurred_at: Option<DateTime<Utc>>,
}

pub async fn record<C: ConnectionTrait>(
    db: &C,
    new: &NewInteraction,
    now: DateTime<Utc>,
) -> ServiceResult<interaction::Model> {
    let occurred_at = validate::not_future("occurredAt", new.occurred_at.unwrap_or(now), now)?;
    let customer = customers::referenced(db, "customerId", new.customer_id).await?;
    if let Some(product_id) = new.product_id
        && product::Entity::find_by_id(product_id)
            .one(db)
            .await?
            .is_none()
    {
        return Err(ServiceError::invalid("productId", "no such product"));
    }
    if let Some(campaign_id) = new.campaign_id
        && campaign::Entity::find_by_id(campaign_id)
            .one(db)
            .await?
            .is_none()
    {
        return Err(ServiceError::invalid("campaignId", "no such campaign"));
    }
    Ok(interaction::ActiveModel {
        customer_id: Set(customer.id),
        kind: Set(new.kind),
        channel: Set(new.channel),
        product_id: Set(new.product_id),
        campaign_id: Set(new.campaign_id),
        occurred_at: Set(occurred_at),
        ..Default::default()
    }
    .insert(db)
    .await?)
}
