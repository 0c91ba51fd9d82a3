//! The Relay `Node` interface: any object refetched by its global id.

use async_graphql::{Context, ID, Interface, Object, Result};
use retain_schema::{feedback, interaction, order_item};
use sea_orm::EntityTrait;

use crate::app::app_context;
use crate::graphql::campaigns::Campaign;
use crate::graphql::catalog::Product;
use crate::graphql::customers::{Customer, Interaction};
use crate::graphql::errors::GqlResultExt;
use crate::graphql::feedback::Feedback;
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::loaders::{Batched, ById, load_now, loaders};
use crate::graphql::orders::{Order, OrderItem};
use crate::services::orders;

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Customer(Customer),
    Product(Product),
    Order(Order),
    OrderItem(OrderItem),
    Interaction(Interaction),
    Campaign(Campaign),
    Feedback(Feedback),
}

/// Most ids `nodes` accepts at once.
const MAX_NODES: usize = 100;

/// How a lookup reaches the rows it needs.
#[derive(Clone, Copy)]
enum Fetch {
    /// Through the request's loaders, batched with sibling lookups.
    Batched,
    /// At once: a lone lookup has nothing to wait for.
    Now,
}

async fn by_id<E>(loader: &Batched<ById<E>>, row: i64, fetch: Fetch) -> Result<Option<E::Model>>
where
    E: EntityTrait,
    E::Model: Send + Sync + Clone,
{
    match fetch {
        Fetch::Batched => loader.load_one(row).await.gql(),
        Fetch::Now => Ok(load_now(loader, &[row]).await.gql()?.remove(&row)),
    }
}

async fn load(ctx: &Context<'_>, id: &ID, fetch: Fetch) -> Result<Option<Node>> {
    let Some((kind, row)) = ids::decode_any(id) else {
        return Ok(None);
    };
    let loaders = loaders(ctx);
    let db = &app_context(ctx).db;
    let db_err = |e: sea_orm::DbErr| crate::error::ServiceError::from(e);
    Ok(match kind {
        NodeKind::Customer => by_id(&loaders.customers, row, fetch)
            .await?
            .map(|m| Node::Customer(Customer(m))),
        NodeKind::Product => by_id(&loaders.products, row, fetch)
            .await?
            .map(|m| Node::Product(Product(m))),
        NodeKind::Order => by_id(&loaders.orders, row, fetch)
            .await?
            .map(|m| Node::Order(Order(m))),
        NodeKind::Campaign => by_id(&loaders.campaigns, row, fetch)
            .await?
            .map(|m| Node::Campaign(Campaign(m))),
        NodeKind::Interaction => interaction::Entity::find_by_id(row)
            .one(db)
            .await
            .map_err(db_err)
            .gql()?
            .map(|m| Node::Interaction(Interaction(m))),
        NodeKind::Feedback => feedback::Entity::find_by_id(row)
            .one(db)
            .await
            .map_err(db_err)
            .gql()?
            .map(|m| Node::Feedback(Feedback(m))),
        NodeKind::OrderItem => {
            let item = order_item::Entity::find_by_id(row)
                .one(db)
                .await
                .map_err(db_err)
                .gql()?;
            match item {
                None => None,
                Some(item) => {
                    let order = orders::find(db, item.order_id).await.gql()?;
                    Some(Node::OrderItem(OrderItem {
                        item,
                        currency: order.currency,
                    }))
                }
            }
        }
    })
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id; null when it does not exist.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        load(ctx, &id, Fetch::Now).await
    }

    /// Objects by global id, in the order asked; null where one does not exist.
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(crate::error::ServiceError::invalid(
                "ids",
                format!("must hold at most {MAX_NODES} ids"),
            ))
            .gql();
        }
        futures::future::try_join_all(ids.iter().map(|id| load(ctx, id, Fetch::Batched))).await
    }
}
