//! Feedback and complaints: a category, optional CSAT (1–5) and NPS (0–10) scores, a
//! text, and the complaint workflow's timestamps.

use sea_orm::entity::prelude::*;

use super::{FeedbackCategory, FeedbackStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "feedback")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub customer_id: i64,
    pub order_id: Option<i64>,
    pub category: FeedbackCategory,
    pub csat: Option<i16>,
    pub nps: Option<i16>,
    pub text: String,
    pub status: FeedbackStatus,
    pub created_at: DateTimeUtc,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
    /// When a complaint's first response (acknowledgement) is due; none for
    /// suggestions and reviews.
    pub response_due_at: Option<DateTimeUtc>,
    /// The same customer's previous complaint, when this one repeats it within
    /// the repeat window.
    pub repeat_of: Option<i64>,
}

impl Model {
    /// Whether this is a complaint (quality, service, payment, delivery) rather
    /// than a suggestion or review.
    pub fn is_complaint(&self) -> bool {
        self.category.is_complaint()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::customer::Entity",
        from = "Column::CustomerId",
        to = "super::customer::Column::Id"
    )]
    Customer,
}

impl Related<super::customer::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Customer.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
