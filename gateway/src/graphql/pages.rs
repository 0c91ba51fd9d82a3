//! Resolving connection arguments and nested (per-parent) connections.

use async_graphql::{Context, OutputType};
use sea_orm::{Condition, EntityTrait, QueryFilter};

use crate::app::app_context;
use crate::graphql::connection::{Conn, connection, wants_total};
use crate::graphql::errors::GqlResultExt;
use crate::graphql::loaders::{Batched, ChildCounts, ChildPages};
use crate::paging::{self, PageRequest, SortKey};

/// The connection arguments every list takes.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    pub fn request(&self, ctx: &Context<'_>) -> async_graphql::Result<PageRequest> {
        let limits = &app_context(ctx).settings.limits;
        PageRequest::new(
            self.first,
            self.after.as_deref(),
            self.last,
            self.before.as_deref(),
            limits,
        )
        .gql()
    }
}

/// A parent's page of children, batched with every other parent on the page.
pub async fn child_connection<E, N>(
    ctx: &Context<'_>,
    pages: &Batched<ChildPages<E>>,
    counts: &Batched<ChildCounts<E>>,
    parent: i64,
    args: PageArgs,
    sort: SortKey<E>,
    node: fn(E::Model) -> N,
) -> async_graphql::Result<Conn<N>>
where
    E: EntityTrait,
    E::Model: Send + Sync + Clone,
    N: OutputType,
{
    let request = args.request(ctx)?;
    let total = if wants_total(ctx) {
        Some(counts.load_one(parent).await.gql()?.unwrap_or(0))
    } else {
        None
    };
    let page = pages
        .load_one((parent, request))
        .await
        .gql()?
        .expect("the loader answers for every parent");
    Ok(connection(page, total, |m| sort.cursor(m), node))
}

/// A top-level list: the rows of `E` matching `condition`, one page at a time.
pub async fn list_connection<E, N>(
    ctx: &Context<'_>,
    condition: Condition,
    sort: SortKey<E>,
    args: PageArgs,
    node: fn(E::Model) -> N,
) -> async_graphql::Result<Conn<N>>
where
    E: EntityTrait,
    E::Model: Sync,
    N: OutputType,
{
    let request = args.request(ctx)?;
    let db = &app_context(ctx).db;
    let total = if wants_total(ctx) {
        Some(
            paging::count(db, E::find().filter(condition.clone()))
                .await
                .gql()?,
        )
    } else {
        None
    };
    let page = paging::fetch_page(db, E::find().filter(condition), &sort, &request)
        .await
        .gql()?;
    Ok(connection(page, total, |m| sort.cursor(m), node))
}
