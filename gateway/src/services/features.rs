//! The profile features segmenters classify: for given customers, or for every
//! customer in bounded batches read in id order.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use retain_schema::customer;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

use crate::database::{self, statement};
use crate::error::ServiceResult;
use crate::memory;
use crate::plugins::batch::{Columns, ProfileFeatures};
use crate::plugins::v1::types::Feature;
use crate::services::profile::{self, Activity, Figures, Scope};
use crate::services::segmentation::Membership;
use crate::services::{customers, loyalty};

/// The features computed from a customer's orders.
const PURCHASE_FEATURES: [Feature; 7] = [
    Feature::DaysSinceLastOrder,
    Feature::Orders365d,
    Feature::Spend365d,
    Feature::LifetimeOrders,
    Feature::LifetimeSpend,
    Feature::AverageOrderValue,
    Feature::DaysBetweenOrders,
];

/// The aggregates `columns` need.
fn figures(columns: Columns) -> Figures {
    Figures {
        purchases: PURCHASE_FEATURES.iter().any(|f| columns.has(*f)),
        interactions: columns.has(Feature::Interactions30d),
    }
}

/// The profile features of `customers`, in the same order. Only `columns` are
/// computed (each costs statements); the others stay at their defaults.
pub async fn features_of(
    db: &impl ConnectionTrait,
    customers: &[customer::Model],
    now: DateTime<Utc>,
    columns: Columns,
) -> ServiceResult<Vec<ProfileFeatures>> {
    let ids: Vec<i64> = customers.iter().map(|c| c.id).collect();
    let mut activity = profile::activity_with(db, &ids, now, figures(columns)).await?;
    let mut extras = Extras::of(db, &ids, now, columns).await?;
    Ok(customers
        .iter()
        .map(|c| {
            let activity = activity.remove(&c.id).unwrap_or_default();
            extras.features(c.id, c.signup_at, c.birthday, &activity, now)
        })
        .collect())
}

/// The features that are not aggregates of orders or interactions, read only
/// when a plugin asks for them.
struct Extras {
    tags: HashMap<i64, Vec<String>>,
    points: HashMap<i64, i64>,
}

impl Extras {
    async fn of(
        db: &impl ConnectionTrait,
        ids: &[i64],
        now: DateTime<Utc>,
        columns: Columns,
    ) -> ServiceResult<Self> {
        Ok(Self {
            tags: match columns.has(Feature::Tags) {
                true => customers::tags_of(db, ids).await?,
                false => HashMap::new(),
            },
            points: match columns.has(Feature::PointsBalance) {
                true => loyalty::unexpired_points(db, ids, now, None).await?,
                false => HashMap::new(),
            },
        })
    }

    /// One customer's features; their tags move out of `self`.
    fn features(
        &mut self,
        id: i64,
        signup_at: DateTime<Utc>,
        birthday: Option<NaiveDate>,
        a: &Activity,
        now: DateTime<Utc>,
    ) -> ProfileFeatures {
        let days = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX - 1);
        let count = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        ProfileFeatures {
            days_since_last_order: a.days_since_last_order(now).map(days),
            orders_365d: count(a.orders_last_365_days),
            spend_365d: a.spend_last_365_days_minor,
            lifetime_orders: count(a.lifetime_orders),
            lifetime_spend: a.lifetime_spend_minor,
            average_order_value: a.average_order_value_minor(),
            interactions_30d: count(a.interactions_last_30_days),
            days_since_signup: days((now - signup_at).num_days()),
            points_balance: self.points.get(&id).copied().unwrap_or(0),
            days_between_orders: a.days_between_orders().map(days),
            birthday_month: birthday.map(|b| b.month() as u8),
            tags: self.tags.remove(&id).unwrap_or_default(),
        }
    }
}

/// A customer of a batch: who they are to experiments and memberships.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchCustomer {
    pub id: i64,
    pub external_id: String,
    /// Their membership in the slot the batches were asked to join, if any.
    pub membership: Option<Membership>,
}

/// One batch: customers in id order and their features, index for index.
#[derive(Debug)]
pub struct FeatureBatch {
    pub customers: Vec<BatchCustomer>,
    pub features: Vec<ProfileFeatures>,
}

/// A batch's customers and their memberships, each as one JSON array (see
/// [`BatchQuery::read`]).
#[derive(Debug, FromQueryResult)]
struct PackedBatch {
    profiles: Option<String>,
    memberships: Option<String>,
}

/// The columns of [`PackedProfile`], in its field order, from the activity
/// statement: [`Activity`]'s figures as one nested array.
fn profile_columns(backend: DbBackend) -> String {
    let activity = database::json_array(
        backend,
        "a.first_order_at, a.last_order_at, a.orders_last_365_days, \
         a.spend_last_365_days_minor, a.lifetime_orders, a.lifetime_spend_minor, \
         a.interactions_last_30_days",
    );
    format!("a.id, a.external_id, a.signup_at, a.birthday, {activity}")
}

/// One customer of a packed batch, read from an array of [`profile_columns`].
#[derive(Debug, Deserialize)]
struct PackedProfile {
    id: i64,
    external_id: String,
    signup_at: DateTime<Utc>,
    birthday: Option<NaiveDate>,
    activity: Activity,
}

/// One membership of a packed batch: customer id, segment, score.
#[derive(Debug, Deserialize)]
struct PackedMembership(i64, String, f64);

#[derive(Debug, FromQueryResult)]
struct LastId {
    last: Option<i64>,
}

/// Batches being read, each on its own connection, while the caller works on
/// the one before: reading is most of a run and a statement runs on one
/// thread, so two keep both cores of a small machine busy.
const READ_AHEAD: usize = 2;

/// What reading one batch needs, cloned into the task that reads it.
#[derive(Clone)]
struct BatchQuery {
    db: DatabaseConnection,
    now: DateTime<Utc>,
    columns: Columns,
    memberships_of: Option<Arc<str>>,
}

/// Every customer not erased with their features, read `size` at a time in id
/// order: what a run (or a shadow comparison) holds in memory at once, plus the
/// few batches read ahead. What the pass freed goes back to the system when the
/// batches are dropped.
pub struct FeatureBatches {
    query: BatchQuery,
    size: u64,
    after: i64,
    exhausted: bool,
    reading: VecDeque<JoinHandle<ServiceResult<FeatureBatch>>>,
    _release: memory::ReleaseWhenDone,
}

impl FeatureBatches {
    /// Batches of `size` customers with the `columns` features as of `now`.
    pub fn new(db: &DatabaseConnection, size: usize, now: DateTime<Utc>, columns: Columns) -> Self {
        Self {
            query: BatchQuery {
                db: db.clone(),
                now,
                columns,
                memberships_of: None,
            },
            size: size.max(1) as u64,
            after: 0,
            exhausted: false,
            reading: VecDeque::new(),
            _release: memory::ReleaseWhenDone,
        }
    }

    /// Each customer also carries their membership in `slot`: what a run
    /// compares its classification with.
    pub fn with_memberships_of(mut self, slot: &str) -> Self {
        self.query.memberships_of = Some(slot.into());
        self
    }

    /// How many customers the batches will hold (as of now).
    pub async fn total(&self) -> ServiceResult<u64> {
        Ok(customer::Entity::find()
            .filter(customer::Column::ErasedAt.is_null())
            .count(&self.query.db)
            .await?)
    }

    /// The next batch, or `None` after the last.
    pub async fn next(&mut self) -> ServiceResult<Option<FeatureBatch>> {
        while self.reading.len() <= READ_AHEAD && !self.exhausted {
            match self.next_range().await? {
                Some((after, last)) => {
                    let query = self.query.clone();
                    self.reading
                        .push_back(tokio::spawn(async move { query.read(after, last).await }));
                }
                None => self.exhausted = true,
            }
        }
        match self.reading.pop_front() {
            Some(reading) => match reading.await {
                Ok(batch) => batch.map(Some),
                Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
                Err(_) => Err(DbErr::Custom("reading a batch was cancelled".into()).into()),
            },
            None => Ok(None),
        }
    }

    /// The next batch's id range, `(after, last]`: bounded on both sides, the
    /// aggregates read only that range of the order and interaction indexes.
    async fn next_range(&mut self) -> ServiceResult<Option<(i64, i64)>> {
        let db = &self.query.db;
        let last = LastId::find_by_statement(statement(
            db.get_database_backend(),
            "SELECT MAX(id) AS last FROM (SELECT id FROM customers \
             WHERE erased_at IS NULL AND id > ? ORDER BY id LIMIT ?) AS batch",
            vec![self.after.into(), self.size.into()],
        ))
        .one(db)
        .await?
        .and_then(|row| row.last);
        Ok(last.map(|last| (std::mem::replace(&mut self.after, last), last)))
    }
}

impl Drop for FeatureBatches {
    /// Batches read ahead for a pass that ended early are not wanted.
    fn drop(&mut self) {
        self.reading.iter().for_each(JoinHandle::abort);
    }
}

impl BatchQuery {
    /// The customers not erased with id in `(after, last]`, with their
    /// memberships if asked. Both come back as one row of two JSON arrays: the
    /// SQLite driver hands every result row from its worker thread to the async
    /// side on its own, and those hand-offs cost more than computing the
    /// profiles (SQLite, 1,000,000 customers: 22.6 s of CPU for a 14 s run, 40 %
    /// of it in the kernel switching threads).
    async fn read(&self, after: i64, last: i64) -> ServiceResult<FeatureBatch> {
        let db = &self.db;
        let backend = db.get_database_backend();
        let (activity, mut values) = profile::activity_query(
            Scope::Batch { after, last },
            &["external_id", "signup_at", "birthday"],
            figures(self.columns),
            self.now,
        );
        let memberships = match &self.memberships_of {
            Some(slot) => {
                values.extend([slot.as_ref().into(), after.into(), last.into()]);
                format!(
                    "(SELECT {} FROM segment_memberships m \
                     WHERE m.slot = ? AND m.customer_id > ? AND m.customer_id <= ?)",
                    database::json_rows(backend, "m.customer_id, m.segment, m.score")
                )
            }
            None => "CAST(NULL AS TEXT)".to_owned(),
        };
        let sql = format!(
            "SELECT (SELECT {} FROM ({activity}) a) AS profiles, {memberships} AS memberships",
            database::json_rows(backend, &profile_columns(backend))
        );
        let packed = PackedBatch::find_by_statement(database::statement(backend, &sql, values))
            .one(db)
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("a packed batch".into()))?;
        let mut profiles: Vec<PackedProfile> = unpack(packed.profiles)?;
        // The aggregate need not keep the statement's order.
        profiles.sort_by_key(|p| p.id);
        let mut memberships: HashMap<i64, Membership> = unpack(packed.memberships)?
            .into_iter()
            .map(|PackedMembership(id, segment, score)| (id, Membership { segment, score }))
            .collect();
        let ids: Vec<i64> = profiles.iter().map(|p| p.id).collect();
        let mut extras = Extras::of(db, &ids, self.now, self.columns).await?;
        let (customers, features) = profiles
            .into_iter()
            .map(|p| {
                let features =
                    extras.features(p.id, p.signup_at, p.birthday, &p.activity, self.now);
                let customer = BatchCustomer {
                    id: p.id,
                    external_id: p.external_id,
                    membership: memberships.remove(&p.id),
                };
                (customer, features)
            })
            .unzip();
        Ok(FeatureBatch {
            customers,
            features,
        })
    }
}

/// The rows of a JSON array from [`database::json_rows`]; NULL is none.
fn unpack<T: DeserializeOwned>(json: Option<String>) -> ServiceResult<Vec<T>> {
    match json {
        Some(json) => serde_json::from_str(&json)
            .map_err(|err| DbErr::Json(format!("a packed batch: {err}")).into()),
        None => Ok(Vec::new()),
    }
}
