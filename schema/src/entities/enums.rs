//! Closed vocabularies stored as short strings, so the database stays readable and
//! new values need no schema change. Each is also the GraphQL enum of the same name.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Where something happened: a sales channel for orders, a touchpoint for interactions.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    App,
    MiniProgram,
    Store,
    Email,
    Sms,
    AppPush,
    Social,
}

/// A channel a campaign message can be sent through; each needs the customer's consent.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum MessageChannel {
    Email,
    Sms,
    AppPush,
    Social,
}

/// An order's place in its lifecycle: placed → paid → shipped → delivered, or
/// cancelled / refunded.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Placed,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
    Refunded,
}

/// What a customer did.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    Login,
    View,
    Click,
    AddToCart,
    CheckIn,
    MessageOpen,
    Share,
    Search,
}

/// The retention practice a campaign serves.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(24))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    BirthdayCare,
    HolidayCare,
    WinBack,
    RepurchaseReminder,
    FirstOrder,
    Referral,
    MemberExclusive,
}

/// A campaign's lifecycle.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    Scheduled,
    Running,
    Paused,
    Completed,
    Cancelled,
}

/// What a piece of feedback is about.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackCategory {
    Quality,
    Service,
    Payment,
    Delivery,
    Suggestion,
    Review,
}

impl FeedbackCategory {
    /// The categories that are complaints, with a first-response deadline.
    pub const COMPLAINTS: [FeedbackCategory; 4] = [
        FeedbackCategory::Quality,
        FeedbackCategory::Service,
        FeedbackCategory::Payment,
        FeedbackCategory::Delivery,
    ];

    pub fn is_complaint(self) -> bool {
        Self::COMPLAINTS.contains(&self)
    }
}

/// The complaint workflow: received → acknowledged → resolved → closed.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackStatus {
    Received,
    Acknowledged,
    Resolved,
    Closed,
}

/// The kind of strategy a plugin implements; one WIT world each.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum PluginKind {
    Segmenter,
    Recommender,
}

/// How a slot came to its binding.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum SlotAction {
    Activate,
    Rollback,
}

/// Where a segmentation run stands; only a completed run becomes visible.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Completed,
    Failed,
}

/// What a caller may do. Each role is a fixed set of permissions (see the gateway's
/// `auth` module); they are not a ladder, so a data team's key cannot read PII.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything except personal data, which is masked.
    Viewer,
    /// Customer service: reads personal data, records interactions and feedback,
    /// handles complaints, corrects customer records.
    Agent,
    /// Runs the shop: orders, products, campaigns, customers.
    Operator,
    /// The data team: plugins, slots, segmentation runs.
    Strategist,
    /// Everything, including API keys, the audit log and erasure.
    Admin,
}

/// Where an experiment is in its lifecycle: draft → running → stopped →
/// concluded (running may also conclude directly).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentStatus {
    Draft,
    Running,
    Stopped,
    Concluded,
}

/// What an experiment is judged by, per exposed customer within the conversion
/// window.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentMetric {
    /// Any paid order in the window.
    Conversion,
    /// A paid order in the window that is at least the customer's second ever.
    Repurchase,
    /// Paid revenue in the window, per exposed customer.
    Revenue,
}

/// Where a campaign message is in delivery.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Waiting for its (next) delivery attempt.
    Pending,
    /// The channel's webhook accepted it.
    Sent,
    /// Every attempt failed: on the dead-letter list until retried.
    Dead,
    /// Not sent: frequency cap or no consent on any of the campaign's channels.
    Suppressed,
}

/// An engagement event a channel reports for a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum MessageEvent {
    Delivered,
    Opened,
    Clicked,
}

/// What a points ledger entry records. Earns and positive adjustments are
/// credits (lots, consumed oldest first); the others are debits.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(StringLen::N(16))",
    rename_all = "snake_case"
)]
#[serde(rename_all = "snake_case")]
pub enum PointsEntryKind {
    /// Points earned by a paid order.
    Earn,
    /// An earn taken back because its order was refunded.
    Reverse,
    /// Points spent by the customer.
    Redeem,
    /// Points that reached their expiry date unspent.
    Expire,
    /// A manual correction by an operator, either way.
    Adjust,
    /// A referral reward, credited to both sides when the referred customer's
    /// first order is paid.
    Referral,
}
