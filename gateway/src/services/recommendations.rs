//! Recommendations: the catalogue facts recommender plugins read through their
//! `catalog` import (co-purchases, recency-weighted popularity), kept in memory and
//! recomputed every few minutes, and the call that asks a slot's plugin for one
//! customer's products.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use chrono::{DateTime, Utc};
use retain_schema::{PluginKind, customer, product};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, Value};

use crate::app::AppContext;
use crate::database::statement;
use crate::error::{ServiceError, ServiceResult};
use crate::memory;
use crate::plugins::v1::types::{self, Product, WeightedProduct};
use crate::services::experiments::live::{self, Subject};
use crate::services::profile::purchased_sql_list;
use crate::services::{customers, profile, segmentation};

/// Co-purchase neighbours and popular products kept per product, segment or
/// category: more than any plugin asks for, few enough to stay small.
const KEPT: usize = 100;
/// Purchases older than this do not count towards popularity or co-purchases.
const WINDOW_DAYS: i64 = 180;
/// Recent purchases handed to a recommender as context.
const CONTEXT_PURCHASES: u64 = 50;

/// What recommenders may know about the catalogue, computed from recent orders.
#[derive(Debug, Default)]
pub struct CatalogFacts {
    products: HashMap<i64, Product>,
    co_purchased: HashMap<i64, Vec<WeightedProduct>>,
    popular: Vec<WeightedProduct>,
    popular_by_segment: HashMap<String, Vec<WeightedProduct>>,
    popular_by_category: HashMap<String, Vec<WeightedProduct>>,
}

impl CatalogFacts {
    pub fn empty() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn co_purchased(&self, product: i64, limit: u32) -> Vec<WeightedProduct> {
        take(self.co_purchased.get(&product), limit)
    }

    pub fn popular_in_segment(&self, segment: Option<&str>, limit: u32) -> Vec<WeightedProduct> {
        match segment {
            Some(segment) => take(self.popular_by_segment.get(segment), limit),
            None => take(Some(&self.popular), limit),
        }
    }

    pub fn popular_in_category(&self, category: &str, limit: u32) -> Vec<WeightedProduct> {
        take(self.popular_by_category.get(category), limit)
    }

    pub fn products(&self, ids: &[i64]) -> Vec<Product> {
        ids.iter()
            .filter_map(|id| self.products.get(id).cloned())
            .collect()
    }

    pub fn knows(&self, product: i64) -> bool {
        self.products.contains_key(&product)
    }

    /// Computes the facts from the database: products, co-purchase counts and
    /// recency-weighted popularity overall, per category and per segment of
    /// `context_slot`.
    pub async fn compute(
        db: &impl ConnectionTrait,
        context_slot: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<Self> {
        let _release = memory::ReleaseWhenDone;
        let products: HashMap<i64, Product> = product::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .filter(|p| p.active)
            .map(|p| {
                (
                    p.id,
                    Product {
                        id: p.id,
                        sku: p.sku,
                        name: p.name,
                        category: p.category,
                        price: p.price_minor,
                    },
                )
            })
            .collect();
        let since = now - chrono::Duration::days(WINDOW_DAYS);
        let statuses = purchased_sql_list();
        let backend = db.get_database_backend();

        let pairs = Pair::find_by_statement(statement(
            backend,
            &format!(
                "SELECT a.product_id AS product, b.product_id AS other, COUNT(*) AS orders \
                 FROM order_items a \
                 JOIN order_items b ON b.order_id = a.order_id AND b.product_id <> a.product_id \
                 JOIN orders o ON o.id = a.order_id \
                 WHERE o.placed_at >= ? AND o.status IN ({statuses}) \
                 GROUP BY a.product_id, b.product_id"
            ),
            vec![since.into()],
        ))
        .all(db)
        .await?;
        let mut co_purchased: HashMap<i64, Vec<WeightedProduct>> = HashMap::new();
        for pair in pairs {
            co_purchased
                .entry(pair.product)
                .or_default()
                .push(WeightedProduct {
                    product: pair.other,
                    weight: pair.orders as f64,
                });
        }
        co_purchased.values_mut().for_each(rank);

        // A purchase in the last 30 days counts fully, in the last 90 half, older
        // a quarter: what sells now matters more than what sold in spring.
        let recency = |column: &str| {
            format!(
                "CAST(SUM(i.quantity * CASE WHEN {column} >= ? THEN 1.0 WHEN {column} >= ? THEN 0.5 ELSE 0.25 END) AS DOUBLE PRECISION)"
            )
        };
        let recency_values = || -> Vec<Value> {
            vec![
                (now - chrono::Duration::days(30)).into(),
                (now - chrono::Duration::days(90)).into(),
            ]
        };
        let mut values = recency_values();
        values.push(since.into());
        let sold = Sold::find_by_statement(statement(
            backend,
            &format!(
                "SELECT NULL AS segment, i.product_id AS product, {weight} AS weight \
                 FROM order_items i JOIN orders o ON o.id = i.order_id \
                 WHERE o.placed_at >= ? AND o.status IN ({statuses}) \
                 GROUP BY i.product_id",
                weight = recency("o.placed_at")
            ),
            values,
        ))
        .all(db)
        .await?;
        let mut popular = Vec::new();
        let mut popular_by_category: HashMap<String, Vec<WeightedProduct>> = HashMap::new();
        for row in sold {
            let Some(product) = products.get(&row.product) else {
                continue;
            };
            let weighted = WeightedProduct {
                product: row.product,
                weight: row.weight,
            };
            popular_by_category
                .entry(product.category.clone())
                .or_default()
                .push(weighted);
            popular.push(weighted);
        }
        rank(&mut popular);
        popular_by_category.values_mut().for_each(rank);

        let mut popular_by_segment: HashMap<String, Vec<WeightedProduct>> = HashMap::new();
        let mut values = recency_values();
        values.push(since.into());
        values.push(context_slot.into());
        let sold = Sold::find_by_statement(statement(
            backend,
            &format!(
                "SELECT m.segment AS segment, i.product_id AS product, {weight} AS weight \
                 FROM order_items i JOIN orders o ON o.id = i.order_id \
                 JOIN segment_memberships m ON m.customer_id = o.customer_id \
                 WHERE o.placed_at >= ? AND o.status IN ({statuses}) AND m.slot = ? \
                 GROUP BY m.segment, i.product_id",
                weight = recency("o.placed_at")
            ),
            values,
        ))
        .all(db)
        .await?;
        for row in sold {
            if products.contains_key(&row.product) {
                popular_by_segment
                    .entry(row.segment.unwrap_or_default())
                    .or_default()
                    .push(WeightedProduct {
                        product: row.product,
                        weight: row.weight,
                    });
            }
        }
        popular_by_segment.values_mut().for_each(rank);

        Ok(Self {
            products,
            co_purchased,
            popular,
            popular_by_segment,
            popular_by_category,
        })
    }
}

#[derive(Debug, FromQueryResult)]
struct Pair {
    product: i64,
    other: i64,
    orders: i64,
}

#[derive(Debug, FromQueryResult)]
struct Sold {
    segment: Option<String>,
    product: i64,
    weight: f64,
}

/// Strongest first (ties by product id, so answers are stable), the top `KEPT`.
fn rank(products: &mut Vec<WeightedProduct>) {
    products.sort_by(|a, b| {
        b.weight
            .total_cmp(&a.weight)
            .then(a.product.cmp(&b.product))
    });
    products.truncate(KEPT);
}

fn take(products: Option<&Vec<WeightedProduct>>, limit: u32) -> Vec<WeightedProduct> {
    products
        .map(|p| p.iter().take(limit as usize).copied().collect())
        .unwrap_or_default()
}

/// The catalogue facts of this replica, recomputed when older than the refresh
/// interval or after a segmentation run. Once there are facts, requests keep using
/// them while one background task computes the new ones: on 100,000 customers the
/// computation takes seconds on PostgreSQL, and recommendation requests waiting for
/// it stalled for as long (measured by the soak test). Only the very first request
/// waits, as there is nothing to serve yet.
#[derive(Default)]
pub struct CatalogCache {
    shared: Arc<CacheState>,
}

#[derive(Default)]
struct CacheState {
    current: ArcSwapOption<(Instant, Arc<CatalogFacts>)>,
    /// Set by `invalidate`: the facts are still served, but refreshed.
    stale: AtomicBool,
    /// A background refresh is under way.
    refreshing: AtomicBool,
    /// Serialises the first computation.
    computing: tokio::sync::Mutex<()>,
    /// The replica is computing its first facts at startup.
    warming_up: AtomicBool,
}

impl CatalogCache {
    pub async fn facts(&self, ctx: &AppContext) -> ServiceResult<Arc<CatalogFacts>> {
        let max_age = Duration::from_secs(ctx.settings.plugins.catalog_refresh_secs);
        if let Some(current) = self.shared.current.load_full() {
            if current.0.elapsed() >= max_age || self.shared.stale.load(Ordering::Acquire) {
                self.refresh_in_background(ctx);
            }
            return Ok(current.1.clone());
        }
        let _one_at_a_time = self.shared.computing.lock().await;
        if let Some(current) = self.shared.current.load_full() {
            return Ok(current.1.clone());
        }
        self.shared
            .compute(&ctx.db, &ctx.settings.plugins.recommendation_context_slot)
            .await
    }

    /// Computes the first facts in the background; until they are there (or
    /// their computation failed, and the first request will try again) the replica
    /// reports itself not ready, so no traffic waits for them.
    pub fn warm_up(&self, ctx: Arc<AppContext>) {
        self.shared.warming_up.store(true, Ordering::Release);
        tokio::spawn(async move {
            if let Err(error) = ctx.catalog.facts(&ctx).await {
                tracing::warn!(%error, "warming up the catalogue facts failed");
            }
            ctx.catalog
                .shared
                .warming_up
                .store(false, Ordering::Release);
        });
    }

    pub fn is_warming_up(&self) -> bool {
        self.shared.warming_up.load(Ordering::Acquire)
    }

    /// Starts one refresh task unless one is running.
    fn refresh_in_background(&self, ctx: &AppContext) {
        if self.shared.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        // Cleared before computing, so an invalidation during the computation
        // asks for another refresh.
        self.shared.stale.store(false, Ordering::Release);
        let shared = Arc::clone(&self.shared);
        let db = ctx.db.clone();
        let slot = ctx.settings.plugins.recommendation_context_slot.clone();
        tokio::spawn(async move {
            if let Err(error) = shared.compute(&db, &slot).await {
                // The old facts stay in use; the next request tries again.
                tracing::warn!(%error, "refreshing the catalogue facts failed");
                shared.stale.store(true, Ordering::Release);
            }
            shared.refreshing.store(false, Ordering::Release);
        });
    }

    /// Marks the facts out of date (segments changed): the next request starts a
    /// refresh.
    pub fn invalidate(&self) {
        self.shared.stale.store(true, Ordering::Release);
    }
}

impl CacheState {
    async fn compute(
        &self,
        db: &DatabaseConnection,
        slot: &str,
    ) -> ServiceResult<Arc<CatalogFacts>> {
        let facts = Arc::new(CatalogFacts::compute(db, slot, Utc::now()).await?);
        self.current
            .store(Some(Arc::new((Instant::now(), facts.clone()))));
        Ok(facts)
    }
}

/// One recommended product.
#[derive(Debug, Clone)]
pub struct Recommended {
    pub product_id: i64,
    pub score: f64,
    pub reason: String,
}

/// Up to `limit` products for `customer_id` from the recommender in `slot`. A
/// failing plugin falls back to the slot's previous version, then to nothing.
pub async fn recommend(
    ctx: &AppContext,
    slot: &str,
    customer_id: i64,
    limit: u32,
) -> ServiceResult<Vec<Recommended>> {
    let binding = ctx
        .slots
        .binding(slot)
        .ok_or_else(|| ServiceError::not_found("slot", slot))?;
    if binding.kind != PluginKind::Recommender {
        return Err(ServiceError::invalid(
            "slot",
            format!("{slot} holds segmenters, not recommenders"),
        ));
    }
    let (customer, context) = customer_context(ctx, customer_id).await?;
    let facts = ctx.catalog.facts(ctx).await?;
    let subject = [Subject {
        id: customer.id,
        external_id: &customer.external_id,
    }];
    let enrolment = live::enrolments(&ctx.db, &binding, &subject).await?[0];
    if let (Some(enrolment), Some(live)) = (enrolment, &binding.experiment) {
        ctx.exposures
            .log([live.exposure(enrolment, customer_id, Utc::now())]);
    }
    // The customer's variant first; if it fails, what everyone else gets.
    let versions = enrolment
        .and_then(|e| live::version_for(&binding, Some(e)))
        .into_iter()
        .chain(binding.serving())
        .chain(binding.fallback.as_ref());
    for version in versions {
        match ctx
            .slots
            .recommend(version, context.clone(), limit, facts.clone())
            .await
        {
            Ok(answer) => {
                return Ok(answer
                    .into_iter()
                    .filter(|r| facts.knows(r.product))
                    .map(|r| Recommended {
                        product_id: r.product,
                        score: r.score,
                        reason: r.reason,
                    })
                    .collect());
            }
            Err(err) => tracing::warn!(slot, "recommender failed, trying the fallback: {err}"),
        }
    }
    Ok(Vec::new())
}

/// What a recommender knows about a customer: segment, tags, totals and recent
/// purchases.
async fn customer_context(
    ctx: &AppContext,
    customer_id: i64,
) -> ServiceResult<(customer::Model, types::CustomerContext)> {
    let db = &ctx.db;
    let now = Utc::now();
    let customer = customers::find(db, customer_id).await?;
    let tags = customers::tags_of(db, &[customer_id])
        .await?
        .remove(&customer_id)
        .unwrap_or_default();
    let activity = profile::activity_of(db, &[customer_id], now)
        .await?
        .remove(&customer_id)
        .unwrap_or_default();
    let segment = segmentation::segments_of(
        db,
        &ctx.settings.plugins.recommendation_context_slot,
        &[customer_id],
    )
    .await?
    .remove(&customer_id)
    .map(|m| m.segment);
    let purchases = Purchase::find_by_statement(statement(
        db.get_database_backend(),
        &format!(
            "SELECT i.product_id AS product, i.quantity AS quantity, o.placed_at AS placed_at \
             FROM order_items i JOIN orders o ON o.id = i.order_id \
             WHERE o.customer_id = ? AND o.status IN ({}) \
             ORDER BY o.placed_at DESC, i.id LIMIT {CONTEXT_PURCHASES}",
            purchased_sql_list()
        ),
        vec![customer_id.into()],
    ))
    .all(db)
    .await?;
    let context = types::CustomerContext {
        customer: customer_id,
        segment,
        tags,
        lifetime_orders: activity.lifetime_orders as u32,
        lifetime_spend: activity.lifetime_spend_minor,
        purchases: purchases
            .into_iter()
            .map(|p| types::Purchase {
                product: p.product,
                quantity: p.quantity.max(0) as u32,
                days_ago: (now - p.placed_at).num_days().max(0) as u32,
            })
            .collect(),
    };
    Ok((customer, context))
}

#[derive(Debug, FromQueryResult)]
struct Purchase {
    product: i64,
    quantity: i32,
    placed_at: DateTime<Utc>,
}
