//! The product catalogue.

use std::collections::HashMap;

use async_graphql::InputObject;
use chrono::{DateTime, Utc};
use retain_schema::product;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::error::{ServiceError, ServiceResult};
use crate::services::validate;

/// A new product.
#[derive(Debug, Clone, InputObject)]
pub struct ProductInput {
    /// Stock-keeping unit; must be unique.
    pub sku: String,
    pub name: String,
    pub category: String,
    /// List price in minor units of the shop currency.
    pub price_minor: i64,
    /// Defaults to the shop currency, the only one accepted.
    pub currency: Option<String>,
    #[graphql(default = true)]
    pub active: bool,
}

/// Changes to a product; absent fields are left alone.
#[derive(Debug, Clone, Default, InputObject)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub category: Option<String>,
    pub price_minor: Option<i64>,
    pub active: Option<bool>,
}

pub async fn find<C: ConnectionTrait>(db: &C, id: i64) -> ServiceResult<product::Model> {
    product::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::not_found("product", id))
}

/// Products by SKU, for imports.
pub async fn find_by_skus<C: ConnectionTrait>(
    db: &C,
    skus: impl IntoIterator<Item = String>,
) -> ServiceResult<HashMap<String, product::Model>> {
    let rows = product::Entity::find()
        .filter(product::Column::Sku.is_in(skus))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|p| (p.sku.clone(), p)).collect())
}

fn validate_new(
    input: &ProductInput,
    shop_currency: &str,
    now: DateTime<Utc>,
) -> ServiceResult<product::ActiveModel> {
    Ok(product::ActiveModel {
        sku: Set(validate::text("sku", &input.sku, 64)?),
        name: Set(validate::text("name", &input.name, 200)?),
        category: Set(validate::text("category", &input.category, 64)?),
        price_minor: Set(validate::amount("priceMinor", input.price_minor)?),
        currency: Set(validate::currency(
            "currency",
            input.currency.as_deref().unwrap_or(shop_currency),
            shop_currency,
        )?),
        active: Set(input.active),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
}

pub async fn create<C: ConnectionTrait>(
    db: &C,
    input: &ProductInput,
    shop_currency: &str,
    now: DateTime<Utc>,
) -> ServiceResult<product::Model> {
    let model = validate_new(input, shop_currency, now)?;
    let sku = model.sku.as_ref().clone();
    let taken = format!("{sku} is already used by another product");
    // The unique index decides (see `customers::create`).
    model
        .insert(db)
        .await
        .map_err(|e| ServiceError::on_insert(e, "sku", taken))
}

/// Creates the product, or updates the one with the same SKU (for imports).
pub async fn upsert<C: ConnectionTrait>(
    db: &C,
    input: &ProductInput,
    shop_currency: &str,
    now: DateTime<Utc>,
) -> ServiceResult<product::Model> {
    let sku = input.sku.trim().to_string();
    match find_by_skus(db, [sku.clone()]).await?.remove(&sku) {
        None => create(db, input, shop_currency, now).await,
        Some(existing) => {
            validate_new(input, shop_currency, now)?;
            let patch = ProductPatch {
                name: Some(input.name.clone()),
                category: Some(input.category.clone()),
                price_minor: Some(input.price_minor),
                active: Some(input.active),
            };
            update(db, existing.id, &patch, now).await
        }
    }
}

pub async fn update<C: ConnectionTrait>(
    db: &C,
    id: i64,
    patch: &ProductPatch,
    now: DateTime<Utc>,
) -> ServiceResult<product::Model> {
    let mut model: product::ActiveModel = find(db, id).await?.into();
    if let Some(name) = &patch.name {
        model.name = Set(validate::text("name", name, 200)?);
    }
    if let Some(category) = &patch.category {
        model.category = Set(validate::text("category", category, 64)?);
    }
    if let Some(price) = patch.price_minor {
        model.price_minor = Set(validate::amount("priceMinor", price)?);
    }
    if let Some(active) = patch.active {
        model.active = Set(active);
    }
    model.updated_at = Set(now);
    Ok(model.update(db).await?)
}
