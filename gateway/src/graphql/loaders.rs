//! DataLoaders for every relation, so a nested query costs a fixed number of
//! statements whatever the page size. A fresh set is made per request (and cleared
//! before each subscription event), so the cache never serves stale rows; pages warm
//! it in one batch per relation (see `prefetch`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use chrono::Utc;
use retain_schema::{
    campaign, customer, feedback, interaction, order, order_item, order_refund, plugin,
    points_entry, product,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
};

use crate::config::Settings;
use crate::error::ServiceError;
use crate::paging::{Page, PageRequest, SortKey, fetch_child_pages};
use crate::services::loyalty::levels::Level;
use crate::services::profile::{self, Activity};
use crate::services::segmentation::{self, Membership};
use crate::services::{customers, loyalty, orders, refunds};

pub type LoadError = Arc<ServiceError>;

/// Rows of one table by primary key.
pub struct ById<E: EntityTrait> {
    db: DatabaseConnection,
    id_column: E::Column,
    id_of: fn(&E::Model) -> i64,
}

impl<E> Loader<i64> for ById<E>
where
    E: EntityTrait,
    E::Model: Send + Sync + Clone,
{
    type Value = E::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, E::Model>, LoadError> {
        let rows = E::find()
            .filter(self.id_column.is_in(keys.iter().copied()))
            .all(&self.db)
            .await
            .map_err(|e| Arc::new(e.into()))?;
        Ok(rows.into_iter().map(|m| ((self.id_of)(&m), m)).collect())
    }
}

/// Loads `ids` at once into the request's cache instead of waiting out the batch
/// window: for lookups with nothing to batch with (the root `node` field) or whose
/// keys are all known up front (the products of a list of recommendations). Later
/// `load_one`s of these ids are answered from the cache.
pub async fn load_now<E>(
    loader: &Batched<ById<E>>,
    ids: &[i64],
) -> Result<HashMap<i64, E::Model>, LoadError>
where
    E: EntityTrait,
    E::Model: Send + Sync + Clone,
{
    let found = loader.loader().load(ids).await?;
    loader.feed_many(found.clone()).await;
    Ok(found)
}

/// One page of a parent's children (a customer's orders, …), for many parents.
pub struct ChildPages<E: EntityTrait> {
    db: DatabaseConnection,
    parent_column: E::Column,
    parent_of: fn(&E::Model) -> i64,
    sort: SortKey<E>,
}

impl<E> Loader<(i64, PageRequest)> for ChildPages<E>
where
    E: EntityTrait,
    E::Model: Send + Sync + Clone,
{
    type Value = Page<E::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[(i64, PageRequest)],
    ) -> Result<HashMap<(i64, PageRequest), Page<E::Model>>, LoadError> {
        // Parents asking for the same page shape share one statement.
        let mut by_request: HashMap<&PageRequest, Vec<i64>> = HashMap::new();
        for (parent, request) in keys {
            by_request.entry(request).or_default().push(*parent);
        }
        let mut pages = HashMap::with_capacity(keys.len());
        for (request, parents) in by_request {
            let found = fetch_child_pages(
                &self.db,
                E::find(),
                self.parent_column,
                self.parent_of,
                &parents,
                &self.sort,
                request,
            )
            .await
            .map_err(Arc::new)?;
            pages.extend(
                found
                    .into_iter()
                    .map(|(p, page)| ((p, request.clone()), page)),
            );
        }
        Ok(pages)
    }
}

/// How many children each parent has.
pub struct ChildCounts<E: EntityTrait> {
    db: DatabaseConnection,
    parent_column: E::Column,
}

#[derive(FromQueryResult)]
struct ParentCount {
    parent: i64,
    children: i64,
}

impl<E> Loader<i64> for ChildCounts<E>
where
    E: EntityTrait,
{
    type Value = u64;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, u64>, LoadError> {
        let counts = E::find()
            .select_only()
            .column_as(self.parent_column, "parent")
            .column_as(Expr::cust("COUNT(*)"), "children")
            .filter(self.parent_column.is_in(keys.iter().copied()))
            .group_by(self.parent_column)
            .into_model::<ParentCount>()
            .all(&self.db)
            .await
            .map_err(|e| Arc::new(e.into()))?;
        let mut result: HashMap<i64, u64> = keys.iter().map(|k| (*k, 0)).collect();
        result.extend(counts.into_iter().map(|c| (c.parent, c.children as u64)));
        Ok(result)
    }
}

/// Interest tags per customer.
pub struct TagsOfCustomer(DatabaseConnection);

impl Loader<i64> for TagsOfCustomer {
    type Value = Vec<String>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Vec<String>>, LoadError> {
        customers::tags_of(&self.0, keys).await.map_err(Arc::new)
    }
}

/// Items per order.
pub struct ItemsOfOrder(DatabaseConnection);

impl Loader<i64> for ItemsOfOrder {
    type Value = Vec<order_item::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Vec<order_item::Model>>, LoadError> {
        orders::items_of(&self.0, keys).await.map_err(Arc::new)
    }
}

/// Refunds per order.
pub struct RefundsOfOrder(DatabaseConnection);

impl Loader<i64> for RefundsOfOrder {
    type Value = Vec<order_refund::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[i64],
    ) -> Result<HashMap<i64, Vec<order_refund::Model>>, LoadError> {
        refunds::of_orders(&self.0, keys).await.map_err(Arc::new)
    }
}

/// Purchase and engagement figures per customer.
pub struct ActivityOfCustomer(DatabaseConnection);

impl Loader<i64> for ActivityOfCustomer {
    type Value = Activity;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Activity>, LoadError> {
        profile::activity_of(&self.0, keys, Utc::now())
            .await
            .map_err(Arc::new)
    }
}

/// Customers' unexpired points, keyed by (customer, days): all of them with no
/// days, else those expiring within that many days.
pub struct PointsOfCustomer(DatabaseConnection);

impl Loader<(i64, Option<u32>)> for PointsOfCustomer {
    type Value = i64;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[(i64, Option<u32>)],
    ) -> Result<HashMap<(i64, Option<u32>), i64>, LoadError> {
        let now = Utc::now();
        let mut by_days: HashMap<Option<u32>, Vec<i64>> = HashMap::new();
        for (customer, days) in keys {
            by_days.entry(*days).or_default().push(*customer);
        }
        let mut found = HashMap::with_capacity(keys.len());
        for (days, customers) in by_days {
            let until = days.map(|d| now + chrono::Duration::days(i64::from(d)));
            let points = loyalty::unexpired_points(&self.0, &customers, now, until)
                .await
                .map_err(Arc::new)?;
            found.extend(points.into_iter().map(|(c, p)| ((c, days), p)));
        }
        Ok(found)
    }
}

/// Customers' effective membership levels.
pub struct LevelOfCustomer {
    db: DatabaseConnection,
    settings: Arc<Settings>,
}

impl Loader<i64> for LevelOfCustomer {
    type Value = Level;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Level>, LoadError> {
        loyalty::levels::effective(&self.db, &self.settings.loyalty, keys, Utc::now())
            .await
            .map_err(Arc::new)
    }
}

/// Customers' segments, keyed by (slot, customer).
pub struct SegmentOfCustomer(DatabaseConnection);

impl Loader<(String, i64)> for SegmentOfCustomer {
    type Value = Membership;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[(String, i64)],
    ) -> Result<HashMap<(String, i64), Membership>, LoadError> {
        let mut by_slot: HashMap<&str, Vec<i64>> = HashMap::new();
        for (slot, customer) in keys {
            by_slot.entry(slot).or_default().push(*customer);
        }
        let mut found = HashMap::with_capacity(keys.len());
        for (slot, customers) in by_slot {
            let memberships = segmentation::segments_of(&self.0, slot, &customers)
                .await
                .map_err(Arc::new)?;
            found.extend(
                memberships
                    .into_iter()
                    .map(|(customer, m)| ((slot.to_owned(), customer), m)),
            );
        }
        Ok(found)
    }
}

/// Most keys one batch statement binds. Page-size caps bound a request's keys to
/// about 100 × 100; both SQLite (32,766) and PostgreSQL (65,535) bind that many.
const MAX_BATCH: usize = 10_000;

/// A DataLoader with a per-request cache.
pub type Batched<T> = DataLoader<T, HashMapCache>;

/// Every loader a request may use.
pub struct Loaders {
    pub customers: Batched<ById<customer::Entity>>,
    pub products: Batched<ById<product::Entity>>,
    pub orders: Batched<ById<order::Entity>>,
    pub campaigns: Batched<ById<campaign::Entity>>,
    pub plugins: Batched<ById<plugin::Entity>>,
    pub tags: Batched<TagsOfCustomer>,
    pub items: Batched<ItemsOfOrder>,
    pub refunds: Batched<RefundsOfOrder>,
    pub activity: Batched<ActivityOfCustomer>,
    pub segments: Batched<SegmentOfCustomer>,
    pub points: Batched<PointsOfCustomer>,
    pub levels: Batched<LevelOfCustomer>,
    pub ledger_of_customer: Batched<ChildPages<points_entry::Entity>>,
    pub ledger_counts: Batched<ChildCounts<points_entry::Entity>>,
    pub orders_of_customer: Batched<ChildPages<order::Entity>>,
    pub order_counts: Batched<ChildCounts<order::Entity>>,
    pub interactions_of_customer: Batched<ChildPages<interaction::Entity>>,
    pub interaction_counts: Batched<ChildCounts<interaction::Entity>>,
    pub feedback_of_customer: Batched<ChildPages<feedback::Entity>>,
    pub feedback_counts: Batched<ChildCounts<feedback::Entity>>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection, settings: &Arc<Settings>) -> Self {
        let batch_window = Duration::from_millis(settings.limits.batch_window_ms);
        fn loader<T: Loader<K>, K: Send + Sync + std::hash::Hash + Eq + Clone + 'static>(
            inner: T,
            window: Duration,
        ) -> Batched<T> {
            DataLoader::with_cache(inner, tokio::spawn, HashMapCache::default())
                .delay(window)
                .max_batch_size(MAX_BATCH)
        }
        let db = db.clone();
        Self {
            customers: loader(
                ById::<customer::Entity> {
                    db: db.clone(),
                    id_column: customer::Column::Id,
                    id_of: |m| m.id,
                },
                batch_window,
            ),
            products: loader(
                ById::<product::Entity> {
                    db: db.clone(),
                    id_column: product::Column::Id,
                    id_of: |m| m.id,
                },
                batch_window,
            ),
            orders: loader(
                ById::<order::Entity> {
                    db: db.clone(),
                    id_column: order::Column::Id,
                    id_of: |m| m.id,
                },
                batch_window,
            ),
            campaigns: loader(
                ById::<campaign::Entity> {
                    db: db.clone(),
                    id_column: campaign::Column::Id,
                    id_of: |m| m.id,
                },
                batch_window,
            ),
            plugins: loader(
                ById::<plugin::Entity> {
                    db: db.clone(),
                    id_column: plugin::Column::Id,
                    id_of: |m| m.id,
                },
                batch_window,
            ),
            tags: loader(TagsOfCustomer(db.clone()), batch_window),
            items: loader(ItemsOfOrder(db.clone()), batch_window),
            refunds: loader(RefundsOfOrder(db.clone()), batch_window),
            activity: loader(ActivityOfCustomer(db.clone()), batch_window),
            segments: loader(SegmentOfCustomer(db.clone()), batch_window),
            points: loader(PointsOfCustomer(db.clone()), batch_window),
            levels: loader(
                LevelOfCustomer {
                    db: db.clone(),
                    settings: settings.clone(),
                },
                batch_window,
            ),
            ledger_of_customer: loader(
                ChildPages {
                    db: db.clone(),
                    parent_column: points_entry::Column::CustomerId,
                    parent_of: |m: &points_entry::Model| m.customer_id,
                    sort: crate::graphql::loyalty::newest_first(),
                },
                batch_window,
            ),
            ledger_counts: loader(
                ChildCounts::<points_entry::Entity> {
                    db: db.clone(),
                    parent_column: points_entry::Column::CustomerId,
                },
                batch_window,
            ),
            orders_of_customer: loader(
                ChildPages {
                    db: db.clone(),
                    parent_column: order::Column::CustomerId,
                    parent_of: |m: &order::Model| m.customer_id,
                    sort: crate::graphql::orders::newest_first(),
                },
                batch_window,
            ),
            order_counts: loader(
                ChildCounts::<order::Entity> {
                    db: db.clone(),
                    parent_column: order::Column::CustomerId,
                },
                batch_window,
            ),
            interactions_of_customer: loader(
                ChildPages {
                    db: db.clone(),
                    parent_column: interaction::Column::CustomerId,
                    parent_of: |m: &interaction::Model| m.customer_id,
                    sort: crate::graphql::customers::interactions_newest_first(),
                },
                batch_window,
            ),
            interaction_counts: loader(
                ChildCounts::<interaction::Entity> {
                    db: db.clone(),
                    parent_column: interaction::Column::CustomerId,
                },
                batch_window,
            ),
            feedback_of_customer: loader(
                ChildPages {
                    db: db.clone(),
                    parent_column: feedback::Column::CustomerId,
                    parent_of: |m: &feedback::Model| m.customer_id,
                    sort: crate::graphql::feedback::newest_first(),
                },
                batch_window,
            ),
            feedback_counts: loader(
                ChildCounts::<feedback::Entity> {
                    db,
                    parent_column: feedback::Column::CustomerId,
                },
                batch_window,
            ),
        }
    }
}

impl Loaders {
    /// Forgets every cached row, so the next event of a long-lived subscription reads
    /// fresh data.
    pub fn clear(&self) {
        self.customers.clear::<i64>();
        self.products.clear::<i64>();
        self.orders.clear::<i64>();
        self.campaigns.clear::<i64>();
        self.plugins.clear::<i64>();
        self.tags.clear::<i64>();
        self.items.clear::<i64>();
        self.refunds.clear::<i64>();
        self.activity.clear::<i64>();
        self.segments.clear::<(String, i64)>();
        self.points.clear::<(i64, Option<u32>)>();
        self.levels.clear::<i64>();
        self.ledger_of_customer.clear::<(i64, PageRequest)>();
        self.ledger_counts.clear::<i64>();
        self.orders_of_customer.clear::<(i64, PageRequest)>();
        self.order_counts.clear::<i64>();
        self.interactions_of_customer.clear::<(i64, PageRequest)>();
        self.interaction_counts.clear::<i64>();
        self.feedback_of_customer.clear::<(i64, PageRequest)>();
        self.feedback_counts.clear::<i64>();
    }
}

/// The request's loaders, from inside a resolver.
pub fn loaders<'c>(ctx: &async_graphql::Context<'c>) -> &'c Loaders {
    ctx.data_unchecked::<Arc<Loaders>>()
}
