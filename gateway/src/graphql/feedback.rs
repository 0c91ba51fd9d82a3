//! Feedback and complaints in GraphQL.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use retain_schema::{FeedbackCategory, FeedbackStatus, feedback};
use sea_orm::{ColumnTrait, Condition};

use crate::app::app_context;
use crate::graphql::connection::Conn;
use crate::graphql::customers::Customer;
use crate::graphql::errors::GqlResultExt;
use crate::graphql::filters::{
    BooleanFilter, Direction, EnumFilter, IdFilter, RangeFilter, boolean_filter,
};
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::loaders::loaders;
use crate::graphql::orders::Order;
use crate::graphql::pages::{PageArgs, list_connection};
use crate::paging::{SortKey, SortValue};
use crate::services::feedback::{self as feedback_service, NewFeedback};

pub struct Feedback(pub feedback::Model);

#[Object]
impl Feedback {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::Feedback, self.0.id)
    }
    async fn category(&self) -> FeedbackCategory {
        self.0.category
    }
    /// Customer satisfaction, 1–5.
    async fn csat(&self) -> Option<i32> {
        self.0.csat.map(i32::from)
    }
    /// Net promoter score, 0–10.
    async fn nps(&self) -> Option<i32> {
        self.0.nps.map(i32::from)
    }
    async fn text(&self) -> &str {
        &self.0.text
    }
    async fn status(&self) -> FeedbackStatus {
        self.0.status
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn acknowledged_at(&self) -> Option<DateTime<Utc>> {
        self.0.acknowledged_at
    }
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.resolved_at
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// Quality, service, payment and delivery feedback are complaints: they have
    /// a first-response deadline.
    async fn is_complaint(&self) -> bool {
        self.0.is_complaint()
    }
    /// When the first response (acknowledgement) is due.
    async fn response_due_at(&self) -> Option<DateTime<Utc>> {
        self.0.response_due_at
    }
    /// Still unacknowledged after its deadline.
    async fn overdue(&self) -> bool {
        feedback_service::overdue(&self.0, Utc::now())
    }
    /// Whether the first response met the deadline; null until there is one
    /// (or for feedback that is not a complaint).
    async fn responded_in_time(&self) -> Option<bool> {
        Some(self.0.acknowledged_at? <= self.0.response_due_at?)
    }
    /// The same customer's previous complaint, when this one came within the
    /// repeat window after it.
    async fn repeat_of(&self, ctx: &Context<'_>) -> Result<Option<Feedback>> {
        let Some(id) = self.0.repeat_of else {
            return Ok(None);
        };
        let db = &app_context(ctx).db;
        Ok(Some(Feedback(feedback_service::find(db, id).await.gql()?)))
    }
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        let loaders = loaders(ctx);
        Ok(loaders
            .customers
            .load_one(self.0.customer_id)
            .await
            .gql()?
            .map(Customer))
    }
    async fn order(&self, ctx: &Context<'_>) -> Result<Option<Order>> {
        let Some(id) = self.0.order_id else {
            return Ok(None);
        };
        let loaders = loaders(ctx);
        Ok(loaders.orders.load_one(id).await.gql()?.map(Order))
    }
}

/// Feedback is listed newest first.
pub fn newest_first() -> SortKey<feedback::Entity> {
    SortKey {
        column: feedback::Column::CreatedAt,
        id_column: feedback::Column::Id,
        descending: true,
        value: |m| SortValue::Time(m.created_at),
        id: |m| m.id,
    }
}

/// Which feedback to list. All given criteria must hold.
#[derive(InputObject, Default)]
pub struct FeedbackFilter {
    pub id: Option<IdFilter>,
    pub customer_id: Option<IdFilter>,
    pub category: Option<EnumFilter<FeedbackCategory>>,
    pub status: Option<EnumFilter<FeedbackStatus>>,
    pub csat: Option<RangeFilter<i64>>,
    pub nps: Option<RangeFilter<i64>>,
    pub created_at: Option<RangeFilter<DateTime<Utc>>>,
    /// Complaints only (true) or everything else (false).
    pub complaint: Option<bool>,
    /// Complaints still unacknowledged after their first-response deadline.
    pub overdue: Option<bool>,
    /// Complaints that repeat one of the customer's within the repeat window.
    pub repeat: Option<bool>,
    pub and: Option<Vec<FeedbackFilter>>,
    pub or: Option<Vec<FeedbackFilter>>,
    pub not: Option<Box<FeedbackFilter>>,
}

fn feedback_criteria(f: &FeedbackFilter) -> crate::error::ServiceResult<Condition> {
    use feedback::Column as C;
    let mut c = Condition::all();
    if let Some(id) = &f.id {
        c = c.add(id.condition("filter.id", C::Id, NodeKind::Feedback)?);
    }
    if let Some(customer) = &f.customer_id {
        c = c.add(customer.condition("filter.customerId", C::CustomerId, NodeKind::Customer)?);
    }
    if let Some(category) = &f.category {
        c = c.add(category.condition(C::Category));
    }
    if let Some(status) = &f.status {
        c = c.add(status.condition(C::Status));
    }
    if let Some(csat) = &f.csat {
        c = c.add(csat.condition(C::Csat));
    }
    if let Some(nps) = &f.nps {
        c = c.add(nps.condition(C::Nps));
    }
    if let Some(created) = &f.created_at {
        c = c.add(created.condition(C::CreatedAt));
    }
    if let Some(complaint) = f.complaint {
        c = c.add(if complaint {
            C::Category.is_in(FeedbackCategory::COMPLAINTS)
        } else {
            C::Category.is_not_in(FeedbackCategory::COMPLAINTS)
        });
    }
    if let Some(overdue) = f.overdue {
        // Never NULL (the deadline is checked for presence first), so `not`
        // gives the exact complement.
        let late = Condition::all()
            .add(C::Status.eq(FeedbackStatus::Received))
            .add(C::ResponseDueAt.is_not_null())
            .add(C::ResponseDueAt.lt(Utc::now()));
        c = c.add(if overdue { late } else { late.not() });
    }
    if let Some(repeat) = f.repeat {
        c = c.add(if repeat {
            C::RepeatOf.is_not_null()
        } else {
            C::RepeatOf.is_null()
        });
    }
    Ok(c)
}

boolean_filter!(FeedbackFilter, feedback_criteria);

#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeedbackOrderField {
    #[default]
    CreatedAt,
    Id,
}

/// How to sort feedback; newest first by default.
#[derive(InputObject)]
pub struct FeedbackOrder {
    #[graphql(default)]
    pub field: FeedbackOrderField,
    #[graphql(default_with = "Direction::Desc")]
    pub direction: Direction,
}

impl Default for FeedbackOrder {
    fn default() -> Self {
        Self {
            field: FeedbackOrderField::CreatedAt,
            direction: Direction::Desc,
        }
    }
}

impl FeedbackOrder {
    fn sort_key(&self) -> SortKey<feedback::Entity> {
        use feedback::Column as C;
        let (column, value): (C, fn(&feedback::Model) -> SortValue) = match self.field {
            FeedbackOrderField::CreatedAt => (C::CreatedAt, |m| SortValue::Time(m.created_at)),
            FeedbackOrderField::Id => (C::Id, |m| SortValue::Int(m.id)),
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

/// Feedback to submit.
#[derive(InputObject)]
pub struct SubmitFeedbackInput {
    pub customer_id: ID,
    pub order_id: Option<ID>,
    pub category: FeedbackCategory,
    /// Customer satisfaction, 1–5.
    pub csat: Option<i32>,
    /// Net promoter score, 0–10.
    pub nps: Option<i32>,
    #[graphql(default)]
    pub text: String,
}

#[derive(Default)]
pub struct FeedbackQuery;

#[Object]
impl FeedbackQuery {
    /// Feedback and complaints, filtered and sorted, one page at a time.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(0) as usize * child_complexity + 1")]
    #[allow(clippy::too_many_arguments)]
    async fn feedback(
        &self,
        ctx: &Context<'_>,
        filter: Option<FeedbackFilter>,
        order_by: Option<FeedbackOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Feedback>> {
        let condition = filter.unwrap_or_default().condition().gql()?;
        let sort = order_by.unwrap_or_default().sort_key();
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        list_connection(ctx, condition, sort, args, Feedback).await
    }
}

#[derive(Default)]
pub struct FeedbackMutation;

#[Object]
impl FeedbackMutation {
    async fn submit_feedback(
        &self,
        ctx: &Context<'_>,
        input: SubmitFeedbackInput,
    ) -> Result<Feedback> {
        let new = NewFeedback {
            customer_id: ids::decode("customerId", &input.customer_id, NodeKind::Customer).gql()?,
            order_id: input
                .order_id
                .as_ref()
                .map(|id| ids::decode("orderId", id, NodeKind::Order))
                .transpose()
                .gql()?,
            category: input.category,
            csat: input.csat,
            nps: input.nps,
            text: input.text,
        };
        let app = app_context(ctx);
        feedback_service::submit(&app.db, &new, &app.settings.feedback, Utc::now())
            .await
            .gql()
            .map(Feedback)
    }

    /// Moves feedback forward in received → acknowledged → resolved → closed;
    /// steps skipped on the way are stamped with the same time.
    async fn update_feedback_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        status: FeedbackStatus,
    ) -> Result<Feedback> {
        let id = ids::decode("id", &id, NodeKind::Feedback).gql()?;
        let db = &app_context(ctx).db;
        feedback_service::advance(db, id, status, Utc::now())
            .await
            .gql()
            .map(Feedback)
    }
}
