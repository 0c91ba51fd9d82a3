//! A referral under a referral campaign: who brought whom. Both are rewarded
//! once, when the referred customer's first order is paid.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "referrals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub campaign_id: i64,
    pub referrer_id: i64,
    /// A customer is referred at most once.
    #[sea_orm(unique)]
    pub referred_id: i64,
    /// Who recorded it: the caller's name.
    pub actor: String,
    pub created_at: DateTimeUtc,
    /// The referred customer's first paid order, once it rewarded both sides.
    pub reward_order_id: Option<i64>,
    pub rewarded_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
