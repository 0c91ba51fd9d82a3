//! Feedback and complaints. Complaints (quality, service, payment, delivery) get
//! a first-response deadline when they arrive and a link to the customer's
//! previous complaint when they repeat one; every item moves forward through
//! received → acknowledged → resolved → closed.

use chrono::{DateTime, Utc};
use retain_schema::{FeedbackCategory, FeedbackStatus, feedback, order};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::config::FeedbackSettings;
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
    targets: &FeedbackSettings,
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
    let complaint = new.category.is_complaint();
    let repeat_of = if complaint {
        previous_complaint(db, customer.id, now, targets).await?
    } else {
        None
    };
    let due =
        complaint.then(|| now + chrono::Duration::minutes(targets.first_response_minutes.into()));
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
        response_due_at: Set(due),
        repeat_of: Set(repeat_of),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// The customer's latest complaint within the repeat window before `now`.
async fn previous_complaint<C: ConnectionTrait>(
    db: &C,
    customer_id: i64,
    now: DateTime<Utc>,
    targets: &FeedbackSettings,
) -> ServiceResult<Option<i64>> {
    let since = now - chrono::Duration::days(targets.repeat_window_days.into());
    Ok(feedback::Entity::find()
        .filter(feedback::Column::CustomerId.eq(customer_id))
        .filter(feedback::Column::Category.is_in(FeedbackCategory::COMPLAINTS))
        .filter(feedback::Column::CreatedAt.gte(since))
        .order_by_desc(feedback::Column::CreatedAt)
        .order_by_desc(feedback::Column::Id)
        .one(db)
        .await?
        .map(|f| f.id))
}

/// The workflow's steps, in order.
const STEPS: [FeedbackStatus; 4] = [
    FeedbackStatus::Received,
    FeedbackStatus::Acknowledged,
    FeedbackStatus::Resolved,
    FeedbackStatus::Closed,
];

fn step(status: FeedbackStatus) -> usize {
    STEPS
        .iter()
        .position(|s| *s == status)
        .expect("every status is a step")
}

/// Moves feedback forward to `to`, stamping the time of every step reached on
/// the way: resolving a complaint nobody acknowledged also acknowledges it, as
/// resolving is a response too. Going back, or staying, is a conflict.
pub async fn advance<C: ConnectionTrait>(
    db: &C,
    id: i64,
    to: FeedbackStatus,
    now: DateTime<Utc>,
) -> ServiceResult<feedback::Model> {
    let current = find(db, id).await?;
    let (from, target) = (step(current.status), step(to));
    if target <= from {
        return Err(ServiceError::conflict(
            "status",
            format!(
                "feedback {id} is {} and can only move forward",
                format!("{:?}", current.status).to_lowercase()
            ),
        ));
    }
    let mut update = feedback::ActiveModel {
        id: Set(id),
        status: Set(to),
        updated_at: Set(now),
        ..Default::default()
    };
    for reached in &STEPS[from + 1..=target] {
        match reached {
            FeedbackStatus::Acknowledged => update.acknowledged_at = Set(Some(now)),
            FeedbackStatus::Resolved => update.resolved_at = Set(Some(now)),
            FeedbackStatus::Closed => update.closed_at = Set(Some(now)),
            FeedbackStatus::Received => {}
        }
    }
    // Only a row still in the status read above moves, so two agents racing on
    // one complaint cannot both stamp it.
    let moved = feedback::Entity::update_many()
        .set(update)
        .filter(feedback::Column::Id.eq(id))
        .filter(feedback::Column::Status.eq(current.status))
        .exec(db)
        .await?
        .rows_affected;
    if moved == 0 {
        return Err(ServiceError::conflict(
            "status",
            format!("feedback {id} was moved by someone else; read it again"),
        ));
    }
    find(db, id).await
}

/// Whether a complaint's first response is late as of `now`: still received
/// after its deadline.
pub fn overdue(item: &feedback::Model, now: DateTime<Utc>) -> bool {
    item.status == FeedbackStatus::Received && item.response_due_at.is_some_and(|due| due < now)
}
