//! Customers: creating and updating profiles, consent, tags, and GDPR-style erasure.

use std::collections::HashMap;

use async_graphql::{InputObject, MaybeUndefined};
use chrono::{DateTime, NaiveDate, Utc};
use retain_schema::{customer, customer_tag, feedback};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    TransactionSession, TransactionTrait,
};

use crate::auth::Principal;
use crate::error::{ServiceError, ServiceResult};
use crate::services::{self, audit, validate};

/// A new customer.
#[derive(Debug, Clone, InputObject)]
pub struct CustomerInput {
    /// The customer's id in the shop's own systems; must be unique.
    pub external_id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub birthday: Option<NaiveDate>,
    /// Defaults to now.
    pub signup_at: Option<DateTime<Utc>>,
    #[graphql(default)]
    pub tags: Vec<String>,
    #[graphql(default)]
    pub consent: ConsentInput,
}

/// Consent per message channel. Absent channels keep their current value (no consent
/// for a new customer).
#[derive(Debug, Clone, Default, InputObject)]
pub struct ConsentInput {
    pub email: Option<bool>,
    pub sms: Option<bool>,
    pub app_push: Option<bool>,
    pub social: Option<bool>,
}

/// Changes to a customer. Absent fields are left alone; `null` clears an optional one.
#[derive(Debug, Clone, Default, InputObject)]
pub struct CustomerPatch {
    pub name: Option<String>,
    pub email: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    pub birthday: MaybeUndefined<NaiveDate>,
    /// Replaces all tags.
    pub tags: Option<Vec<String>>,
    pub consent: Option<ConsentInput>,
}

const ERASED_NAME: &str = "Erased customer";

pub async fn find<C: ConnectionTrait>(db: &C, id: i64) -> ServiceResult<customer::Model> {
    customer::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::not_found("customer", id))
}

/// The customer an input refers to in `field`: it must exist and not be erased.
pub async fn referenced<C: ConnectionTrait>(
    db: &C,
    field: &str,
    id: i64,
) -> ServiceResult<customer::Model> {
    match customer::Entity::find_by_id(id).one(db).await? {
        None => Err(ServiceError::invalid(field, "no such customer")),
        Some(c) if c.erased_at.is_some() => {
            Err(ServiceError::invalid(field, "the customer was erased"))
        }
        Some(c) => Ok(c),
    }
}

pub async fn find_by_external_id<C: ConnectionTrait>(
    db: &C,
    external_id: &str,
) -> ServiceResult<Option<customer::Model>> {
    Ok(customer::Entity::find()
        .filter(customer::Column::ExternalId.eq(external_id))
        .one(db)
        .await?)
}

/// The tags of many customers, in one statement.
pub async fn tags_of<C: ConnectionTrait>(
    db: &C,
    customer_ids: &[i64],
) -> ServiceResult<HashMap<i64, Vec<String>>> {
    let rows = customer_tag::Entity::find()
        .filter(customer_tag::Column::CustomerId.is_in(customer_ids.iter().copied()))
        .all(db)
        .await?;
    let tags = services::group_by_parent(customer_ids, rows, |row| row.customer_id);
    Ok(tags
        .into_iter()
        .map(|(id, rows)| {
            let mut tags: Vec<String> = rows.into_iter().map(|row| row.tag).collect();
            tags.sort();
            (id, tags)
        })
        .collect())
}

/// A checked new customer, ready to insert.
struct ValidCustomer {
    model: customer::ActiveModel,
    tags: Vec<String>,
}

fn validate_new(input: &CustomerInput, now: DateTime<Utc>) -> ServiceResult<ValidCustomer> {
    let external_id = validate::text("externalId", &input.external_id, 64)?;
    let name = validate::text("name", &input.name, 200)?;
    let email = input
        .email
        .as_deref()
        .map(|e| validate::email("email", e))
        .transpose()?;
    let phone = input
        .phone
        .as_deref()
        .map(|p| validate::phone("phone", p))
        .transpose()?;
    let birthday = input
        .birthday
        .map(|b| birthday("birthday", b, now))
        .transpose()?;
    let signup_at = validate::not_future("signupAt", input.signup_at.unwrap_or(now), now)?;
    let tags = validate::tags("tags", &input.tags)?;
    let consent = &input.consent;
    Ok(ValidCustomer {
        model: customer::ActiveModel {
            external_id: Set(external_id),
            name: Set(name),
            email: Set(email),
            phone: Set(phone),
            birthday: Set(birthday),
            signup_at: Set(signup_at),
            consent_email: Set(consent.email.unwrap_or(false)),
            consent_sms: Set(consent.sms.unwrap_or(false)),
            consent_app_push: Set(consent.app_push.unwrap_or(false)),
            consent_social: Set(consent.social.unwrap_or(false)),
            erased_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        },
        tags,
    })
}

fn birthday(field: &str, value: NaiveDate, now: DateTime<Utc>) -> ServiceResult<NaiveDate> {
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date");
    if value < earliest || value > now.date_naive() {
        return Err(ServiceError::invalid(
            field,
            "must be between 1900-01-01 and today",
        ));
    }
    Ok(value)
}

fn taken_external_id(external_id: &str) -> String {
    format!("{external_id} is already used by another customer")
}

async fn replace_tags<C: ConnectionTrait>(
    db: &C,
    customer_id: i64,
    tags: &[String],
) -> ServiceResult<()> {
    customer_tag::Entity::delete_many()
        .filter(customer_tag::Column::CustomerId.eq(customer_id))
        .exec(db)
        .await?;
    if !tags.is_empty() {
        customer_tag::Entity::insert_many(tags.iter().map(|tag| customer_tag::ActiveModel {
            customer_id: Set(customer_id),
            tag: Set(tag.clone()),
        }))
        .exec(db)
        .await?;
    }
    Ok(())
}

/// Creates a customer with their tags.
pub async fn create<C>(
    db: &C,
    input: &CustomerInput,
    now: DateTime<Utc>,
) -> ServiceResult<customer::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let valid = validate_new(input, now)?;
    let external_id = valid.model.external_id.as_ref().clone();
    // No look-up first: the unique index decides, and on SQLite a transaction that
    // reads before it writes can fail to upgrade its lock under concurrent writers.
    let txn = db.begin().await?;
    let created =
        valid.model.insert(&txn).await.map_err(|e| {
            ServiceError::on_insert(e, "externalId", taken_external_id(&external_id))
        })?;
    replace_tags(&txn, created.id, &valid.tags).await?;
    txn.commit().await?;
    Ok(created)
}

/// Creates the customer, or updates the one with the same external id: what an
/// import from another system wants.
pub async fn upsert<C>(
    db: &C,
    input: &CustomerInput,
    now: DateTime<Utc>,
) -> ServiceResult<customer::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    match find_by_external_id(db, input.external_id.trim()).await? {
        None => create(db, input, now).await,
        Some(existing) => {
            let patch = CustomerPatch {
                name: Some(input.name.clone()),
                email: present_or_null(input.email.clone()),
                phone: present_or_null(input.phone.clone()),
                birthday: present_or_null(input.birthday),
                tags: Some(input.tags.clone()),
                consent: Some(input.consent.clone()),
            };
            update(db, existing.id, &patch, now).await
        }
    }
}

/// An absent value in a full record (an import row) clears the stored one.
fn present_or_null<T>(value: Option<T>) -> MaybeUndefined<T> {
    value.map_or(MaybeUndefined::Null, MaybeUndefined::Value)
}

fn apply_patch(
    current: &customer::Model,
    patch: &CustomerPatch,
    now: DateTime<Utc>,
) -> ServiceResult<customer::ActiveModel> {
    let mut model: customer::ActiveModel = current.clone().into();
    if let Some(name) = &patch.name {
        model.name = Set(validate::text("name", name, 200)?);
    }
    match &patch.email {
        MaybeUndefined::Value(e) => model.email = Set(Some(validate::email("email", e)?)),
        MaybeUndefined::Null => model.email = Set(None),
        MaybeUndefined::Undefined => {}
    }
    match &patch.phone {
        MaybeUndefined::Value(p) => model.phone = Set(Some(validate::phone("phone", p)?)),
        MaybeUndefined::Null => model.phone = Set(None),
        MaybeUndefined::Undefined => {}
    }
    match patch.birthday {
        MaybeUndefined::Value(b) => model.birthday = Set(Some(birthday("birthday", b, now)?)),
        MaybeUndefined::Null => model.birthday = Set(None),
        MaybeUndefined::Undefined => {}
    }
    if let Some(consent) = &patch.consent {
        let channels = [
            (&mut model.consent_email, consent.email),
            (&mut model.consent_sms, consent.sms),
            (&mut model.consent_app_push, consent.app_push),
            (&mut model.consent_social, consent.social),
        ];
        for (column, value) in channels {
            if let Some(value) = value {
                *column = Set(value);
            }
        }
    }
    model.updated_at = Set(now);
    Ok(model)
}

/// Applies `patch` to customer `id`. Erased customers cannot be changed.
pub async fn update<C>(
    db: &C,
    id: i64,
    patch: &CustomerPatch,
    now: DateTime<Utc>,
) -> ServiceResult<customer::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let current = find(db, id).await?;
    if current.erased_at.is_some() {
        return Err(ServiceError::conflict("id", "the customer was erased"));
    }
    let model = apply_patch(&current, patch, now)?;
    let tags = patch
        .tags
        .as_deref()
        .map(|t| validate::tags("tags", t))
        .transpose()?;
    let txn = db.begin().await?;
    let updated = model.update(&txn).await?;
    if let Some(tags) = tags {
        replace_tags(&txn, id, &tags).await?;
    }
    txn.commit().await?;
    Ok(updated)
}

/// Removes a customer's PII (name, contact data, birthday, tags, consent, feedback
/// texts) and keeps their orders and interactions, anonymised, for the analytics.
pub async fn erase<C>(
    db: &C,
    id: i64,
    actor: &Principal,
    now: DateTime<Utc>,
) -> ServiceResult<customer::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let current = find(db, id).await?;
    if current.erased_at.is_some() {
        return Ok(current);
    }
    let txn = db.begin().await?;
    let erased = customer::ActiveModel {
        id: Set(id),
        external_id: Set(format!("erased-{id}")),
        name: Set(ERASED_NAME.into()),
        email: Set(None),
        phone: Set(None),
        birthday: Set(None),
        consent_email: Set(false),
        consent_sms: Set(false),
        consent_app_push: Set(false),
        consent_social: Set(false),
        erased_at: Set(Some(now)),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(&txn)
    .await?;
    replace_tags(&txn, id, &[]).await?;
    feedback::Entity::update_many()
        .col_expr(feedback::Column::Text, Expr::value(""))
        .filter(feedback::Column::CustomerId.eq(id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        "customer.erase",
        id.to_string(),
        serde_json::json!({ "external_id": current.external_id }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(erased)
}
