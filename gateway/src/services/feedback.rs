//! Feedback and complaints.

use chrono::{DateTime, Utc};
use retain_schema::{FeedbackCategory, FeedbackStatus, feedback, order};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use crate::error::{ServiceError, ServiceResult};
use crate::services::{customers, validate};

/// Feedback to submit, with ids already resolved.
#[derive(Debug, Clone)]
pub struct NewFeedback {
    pub customer_id: i64,
    pub order_id: Option<i64>,
    pub category: FeedbackCategory,
    /// Customer satisfaction, 1–5.
    pub csat: Option<i32>,
    /// Net promoter score, 0–10.
    pub nps: Option<i32>,
    pub text: String,
}

pub async fn find<C: ConnectionTrait>(db: &C, id: i64) -> ServiceResult<feedback::Model> {
    feedback::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::not_found("feedback", id))
}

pub async fn submit<C: ConnectionTrait>(
    db: &C,
    new: &NewFeedback,
    now: DateTime<Utc>,
) -> ServiceResult<feedback::Model> {
    let csat = new
        .csat
        .map(|v| validate::score("csat", v, 1, 5))
        .transpose()?;
    let nps = new
        .nps
        .map(|v| validate::score("nps", v, 0, 10))
        .transpose()?;
    if new.text.chars().count() > 5000 {
        return Err(ServiceError::invalid(
            "text",
            "must be at most 5000 characters",
        ));
    }
    if csat.is_none() && nps.is_none() && new.text.trim().is_empty() {
        return Err(ServiceError::invalid(
            "text",
            "must not be empty when neither csat nor nps is given",
        ));
    }
    let customer = customers::referenced(db, "customerId", new.customer_id).await?;
    if let Some(order_id) = new.order_id {
        match order::Entity::find_by_id(order_id).one(db).await? {
            None => return Err(ServiceError::invalid("orderId", "no such order")),
            Some(o) if o.customer_id != customer.id => {
                return Err(ServiceError::invalid(
                    "orderId",
                    "the order belongs to another customer",
                ));
            }
            Some(_) => {}
        }
    }
    Ok(feedback::ActiveModel {
        customer_id: Set(customer.id),
        order_id: Set(new.order_id),
        category: Set(new.category),
        csat: Set(csat),
        nps: Set(nps),
        text: Set(new.text.trim().to_string()),
        status: Set(FeedbackStatus::Received),
        created_at: Set(now),
        acknowledged_at: Set(None),
        resolved_at: Set(None),
        closed_at: Set(None),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}
