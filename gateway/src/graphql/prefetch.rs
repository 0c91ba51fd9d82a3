//! Warming the loaders for a whole page at once. async-graphql resolves list items in
//! chunks, rescheduling between them, so under load a time-window DataLoader splits
//! a page's lookups into many statements. Instead, once a page of parents is known,
//! each relation its selection asks for is loaded with one `load_many`; the child
//! resolvers then find their rows in the request's cache.

use async_graphql::{Context, Lookahead, Result, SelectionField, Value};
use retain_schema::order;

use crate::graphql::errors::GqlResultExt;
use crate::graphql::loaders::loaders;
use crate::graphql::pages::PageArgs;

/// Where the objects of a connection are selected: `edges { node }` and `nodes`.
fn node_selections<'a>(connection: &Lookahead<'a>) -> [Lookahead<'a>; 2] {
    [
        connection.field("edges").field("node"),
        connection.field("nodes"),
    ]
}

/// The connection arguments written on a nested field, with variables resolved, as
/// its own resolver will read them.
fn page_args(field: &SelectionField<'_>) -> Result<PageArgs> {
    let mut args = PageArgs::default();
    for (name, value) in field.arguments()? {
        let count = |v: &Value| match v {
            Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
            _ => None,
        };
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            _ => None,
        };
        match name.as_str() {
            "first" => args.first = count(&value),
            "last" => args.last = count(&value),
            "after" => args.after = text(&value),
            "before" => args.before = text(&value),
            _ => {}
        }
    }
    Ok(args)
}

/// Warms what a page of customers (`connection` selects their fields) will read.
pub async fn customers(ctx: &Context<'_>, connection: &Lookahead<'_>, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let loaders = loaders(ctx);
    let keys = || ids.iter().copied();
    for node in node_selections(connection) {
        if node.field("tags").exists() {
            loaders.tags.load_many(keys()).await.gql()?;
        }
        if node.field("profile").exists() {
            loaders.activity.load_many(keys()).await.gql()?;
        }
        for field in node.field("orders").selection_fields() {
            // Bad arguments are the field resolver's to report.
            let Ok(request) = page_args(&field)?.request(ctx) else {
                continue;
            };
            let selection = Lookahead::from(field);
            if selection.field("totalCount").exists() {
                loaders.order_counts.load_many(keys()).await.gql()?;
            }
            let pages = loaders
                .orders_of_customer
                .load_many(ids.iter().map(|id| (*id, request.clone())))
                .await
                .gql()?;
            let rows: Vec<&order::Model> = pages.values().flat_map(|page| &page.rows).collect();
            orders(ctx, &selection, &rows).await?;
        }
    }
    Ok(())
}

/// Warms what a page of orders (`connection` selects their fields) will read.
pub async fn orders(
    ctx: &Context<'_>,
    connection: &Lookahead<'_>,
    rows: &[&order::Model],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let loaders = loaders(ctx);
    for node in node_selections(connection) {
        let items = node.field("items");
        if items.exists() {
            let found = loaders
                .items
                .load_many(rows.iter().map(|o| o.id))
                .await
                .gql()?;
            if items.field("product").exists() {
                let products = found.values().flatten().map(|item| item.product_id);
                loaders.products.load_many(products).await.gql()?;
            }
        }
        if node.field("customer").exists() {
            loaders
                .customers
                .load_many(rows.iter().map(|o| o.customer_id))
                .await
                .gql()?;
        }
    }
    Ok(())
}
