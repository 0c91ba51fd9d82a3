//! Products in GraphQL.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use retain_schema::product;
use sea_orm::{ColumnTrait, Condition};

use crate::app::app_context;
use crate::graphql::connection::{Conn, Money};
use crate::graphql::errors::GqlResultExt;
use crate::graphql::filters::{
    BooleanFilter, Direction, IdFilter, RangeFilter, StringFilter, boolean_filter,
};
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::loaders::loaders;
use crate::graphql::pages::{PageArgs, list_connection};
use crate::paging::{SortKey, SortValue};
use crate::services::catalog::{self, ProductInput, ProductPatch};

pub struct Product(pub product::Model);

#[Object]
impl Product {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::Product, self.0.id)
    }
    async fn sku(&self) -> &str {
        &self.0.sku
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn category(&self) -> &str {
        &self.0.category
    }
    async fn price(&self) -> Money {
        Money::new(self.0.price_minor, &self.0.currency)
    }
    /// Inactive products stay for history but cannot be ordered.
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Which products to list. All given criteria must hold.
#[derive(InputObject, Default)]
pub struct ProductFilter {
    pub id: Option<IdFilter>,
    pub sku: Option<StringFilter>,
    pub name: Option<StringFilter>,
    pub category: Option<StringFilter>,
    pub price_minor: Option<RangeFilter<i64>>,
    pub active: Option<bool>,
    pub and: Option<Vec<ProductFilter>>,
    pub or: Option<Vec<ProductFilter>>,
    pub not: Option<Box<ProductFilter>>,
}

fn product_criteria(f: &ProductFilter) -> crate::error::ServiceResult<Condition> {
    use product::Column as C;
    let mut c = Condition::all();
    if let Some(id) = &f.id {
        c = c.add(id.condition("filter.id", C::Id, NodeKind::Product)?);
    }
    for (filter, column) in [
        (&f.sku, C::Sku),
        (&f.name, C::Name),
        (&f.category, C::Category),
    ] {
        if let Some(filter) = filter {
            c = c.add(filter.condition(column));
        }
    }
    if let Some(price) = &f.price_minor {
        c = c.add(price.condition(C::PriceMinor));
    }
    if let Some(active) = f.active {
        c = c.add(C::Active.eq(active));
    }
    Ok(c)
}

boolean_filter!(ProductFilter, product_criteria);

#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProductOrderField {
    #[default]
    Id,
    Name,
    Sku,
    Price,
}

/// How to sort products.
#[derive(InputObject, Default)]
pub struct ProductOrder {
    #[graphql(default)]
    pub field: ProductOrderField,
    #[graphql(default)]
    pub direction: Direction,
}

impl ProductOrder {
    fn sort_key(&self) -> SortKey<product::Entity> {
        use product::Column as C;
        let (column, value): (C, fn(&product::Model) -> SortValue) = match self.field {
            ProductOrderField::Id => (C::Id, |m| SortValue::Int(m.id)),
            ProductOrderField::Name => (C::Name, |m| SortValue::Text(m.name.clone())),
            ProductOrderField::Sku => (C::Sku, |m| SortValue::Text(m.sku.clone())),
            ProductOrderField::Price => (C::PriceMinor, |m| SortValue::Int(m.price_minor)),
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

#[derive(Default)]
pub struct ProductQuery;

#[Object]
impl ProductQuery {
    /// The catalogue, filtered and sorted, one page at a time.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(0) as usize * child_complexity + 1")]
    #[allow(clippy::too_many_arguments)]
    async fn products(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProductFilter>,
        order_by: Option<ProductOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Product>> {
        let condition = filter.unwrap_or_default().condition().gql()?;
        let sort = order_by.unwrap_or_default().sort_key();
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        list_connection(ctx, condition, sort, args, Product).await
    }

    async fn product(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Product>> {
        let id = ids::decode("id", &id, NodeKind::Product).gql()?;
        let loaders = loaders(ctx);
        Ok(loaders.products.load_one(id).await.gql()?.map(Product))
    }
}

#[derive(Default)]
pub struct ProductMutation;

#[Object]
impl ProductMutation {
    async fn create_product(&self, ctx: &Context<'_>, input: ProductInput) -> Result<Product> {
        let app = app_context(ctx);
        catalog::create(&app.db, &input, &app.settings.currency, Utc::now())
            .await
            .gql()
            .map(Product)
    }

    async fn update_product(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: ProductPatch,
    ) -> Result<Product> {
        let id = ids::decode("id", &id, NodeKind::Product).gql()?;
        let db = &app_context(ctx).db;
        catalog::update(db, id, &input, Utc::now())
            .await
            .gql()
            .map(Product)
    }
}
