//! A customer: identity, contact data (PII), consent per channel and lifecycle dates.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The customer's id in the shop's own systems; unique.
    #[sea_orm(unique)]
    pub external_id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub birthday: Option<Date>,
    pub signup_at: DateTimeUtc,
    pub consent_email: bool,
    pub consent_sms: bool,
    pub consent_app_push: bool,
    pub consent_social: bool,
    /// Set when the customer's PII was erased; their orders stay, anonymised.
    pub erased_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::order::Entity")]
    Order,
    #[sea_orm(has_many = "super::customer_tag::Entity")]
    CustomerTag,
}

impl Related<super::order::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Order.def()
    }
}

impl Related<super::customer_tag::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CustomerTag.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
