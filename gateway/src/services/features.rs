//! The profile features segmenters classify: for given customers, or for every
//! customer in bounded batches read in id order.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use retain_schema::customer;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter,
};

use crate::database::statement;
use crate::error::ServiceResult;
use crate::memory;
use crate::plugins::batch::{Columns, ProfileFeatures};
use crate::plugins::v1::types::Feature;
use crate::services::profile::{self, Activity, Figures, Scope};
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchCustomer {
    pub id: i64,
    pub external_id: String,
}

/// One batch: customers in id order and their features, index for index.
#[derive(Debug)]
pub struct FeatureBatch {
    pub customers: Vec<BatchCustomer>,
    pub features: Vec<ProfileFeatures>,
}

/// A customer row with its order and interaction aggregates, as the batch
/// statement returns it.
#[derive(Debug, FromQueryResult)]
struct BatchRow {
    id: i64,
    external_id: String,
    signup_at: DateTime<Utc>,
    birthday: Option<NaiveDate>,
    #[sea_orm(nested)]
    activity: Activity,
}

#[derive(Debug, FromQueryResult)]
struct LastId {
    last: Option<i64>,
}

/// Every customer not erased with their features, read `size` at a time in id
/// order: what a run (or a shadow comparison) holds in memory at once. What the
/// pass freed goes back to the system when the batches are dropped.
pub struct FeatureBatches<'d> {
    db: &'d DatabaseConnection,
    size: u64,
    after: i64,
    now: DateTime<Utc>,
    columns: Columns,
    _release: memory::ReleaseWhenDone,
}

impl<'d> FeatureBatches<'d> {
    /// Batches of `size` customers with the `columns` features as of `now`.
    pub fn new(
        db: &'d DatabaseConnection,
        size: usize,
        now: DateTime<Utc>,
        columns: Columns,
    ) -> Self {
        Self {
            db,
            size: size.max(1) as u64,
            after: 0,
            now,
            columns,
            _release: memory::ReleaseWhenDone,
        }
    }

    /// How many customers the batches will hold (as of now).
    pub async fn total(&self) -> ServiceResult<u64> {
        Ok(customer::Entity::find()
            .filter(customer::Column::ErasedAt.is_null())
            .count(self.db)
            .await?)
    }

    /// The next batch, or `None` after the last.
    pub async fn next(&mut self) -> ServiceResult<Option<FeatureBatch>> {
        let backend = self.db.get_database_backend();
        // The batch's id range first: bounded on both sides, the aggregates
        // below read only that range of the order and interaction indexes.
        let last = LastId::find_by_statement(statement(
            backend,
            "SELECT MAX(id) AS last FROM (SELECT id FROM customers \
             WHERE erased_at IS NULL AND id > ? ORDER BY id LIMIT ?) AS batch",
            vec![self.after.into(), self.size.into()],
        ))
        .one(self.db)
        .await?
        .and_then(|row| row.last);
        let Some(last) = last else {
            return Ok(None);
        };
        let rows = BatchRow::find_by_statement(profile::activity_statement(
            backend,
            Scope::Batch {
                after: self.after,
                last,
            },
            &["external_id", "signup_at", "birthday"],
            figures(self.columns),
            self.now,
        ))
        .all(self.db)
        .await?;
        self.after = last;
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        let mut extras = Extras::of(self.db, &ids, self.now, self.columns).await?;
        let (customers, features) = rows
            .into_iter()
            .map(|row| {
                let features =
                    extras.features(row.id, row.signup_at, row.birthday, &row.activity, self.now);
                let customer = BatchCustomer {
                    id: row.id,
                    external_id: row.external_id,
                };
                (customer, features)
            })
            .unzip();
        Ok(Some(FeatureBatch {
            customers,
            features,
        }))
    }
}
