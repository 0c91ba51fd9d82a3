//! An experiment's results: what each variant's exposed customers bought within
//! their conversion window, aggregated in one grouped statement, then compared
//! with the control by `stats`.

use retain_schema::ExperimentMetric;
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::Experiment;
use super::stats::{self, VariantData};
use crate::database::statement;
use crate::error::ServiceResult;
use crate::services::profile::purchased_sql_list;

/// One variant's outcome, as a report shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct VariantOutcome {
    pub key: String,
    pub exposed: u64,
    /// Exposed customers who met the experiment's metric: bought (conversion and
    /// revenue), or bought for at least the second time (repurchase).
    pub converters: u64,
    /// Paid orders in the window.
    pub orders: u64,
    /// Paid revenue in the window, in minor units.
    pub revenue_minor: i64,
}

impl VariantOutcome {
    /// Mean value of the window's orders, in minor units.
    pub fn mean_order_value(&self) -> Option<f64> {
        (self.orders > 0).then(|| self.revenue_minor as f64 / self.orders as f64)
    }
}

/// Outcomes per variant (control first) and their statistics.
#[derive(Debug, Clone)]
pub struct Results {
    pub metric: ExperimentMetric,
    pub outcomes: Vec<VariantOutcome>,
    pub analysis: stats::ExperimentResults,
}

#[derive(Debug, FromQueryResult)]
struct Aggregate {
    variant: i32,
    exposed: i64,
    buyers: i64,
    repeat_buyers: i64,
    orders: i64,
    revenue_sum: f64,
    revenue_sum_squares: f64,
}

/// Results over the exposures of the current bucket version. An order counts
/// for a customer when it was placed from their exposure until the end of their
/// window and is paid (not cancelled or refunded).
pub async fn results(db: &impl ConnectionTrait, experiment: &Experiment) -> ServiceResult<Results> {
    let statuses = purchased_sql_list();
    let rows = Aggregate::find_by_statement(statement(
        db.get_database_backend(),
        &format!(
            "SELECT variant, \
                    CAST(COUNT(*) AS BIGINT) AS exposed, \
                    CAST(SUM(CASE WHEN orders > 0 THEN 1 ELSE 0 END) AS BIGINT) AS buyers, \
                    CAST(SUM(CASE WHEN orders > 0 AND orders + earlier >= 2 THEN 1 ELSE 0 END) AS BIGINT) AS repeat_buyers, \
                    CAST(SUM(orders) AS BIGINT) AS orders, \
                    CAST(SUM(revenue) AS DOUBLE PRECISION) AS revenue_sum, \
                    SUM(CAST(revenue AS DOUBLE PRECISION) * CAST(revenue AS DOUBLE PRECISION)) AS revenue_sum_squares \
             FROM (SELECT e.variant AS variant, \
                          COUNT(o.id) AS orders, \
                          COALESCE(SUM(o.total_minor), 0) AS revenue, \
                          (SELECT COUNT(*) FROM orders p \
                            WHERE p.customer_id = e.customer_id AND p.status IN ({statuses}) \
                              AND p.placed_at < e.exposed_at) AS earlier \
                   FROM experiment_exposures e \
                   LEFT JOIN orders o ON o.customer_id = e.customer_id \
                        AND o.status IN ({statuses}) \
                        AND o.placed_at >= e.exposed_at AND o.placed_at <= e.converts_until \
                   WHERE e.experiment_id = ? AND e.bucket_version = ? \
                   GROUP BY e.variant, e.customer_id, e.exposed_at) per_customer \
             GROUP BY variant"
        ),
        vec![
            experiment.row.id.into(),
            experiment.row.bucket_version.into(),
        ],
    ))
    .all(db)
    .await?;
    let metric = experiment.row.metric;
    let mut outcomes: Vec<VariantOutcome> = experiment
        .variants
        .iter()
        .map(|v| VariantOutcome {
            key: v.key.clone(),
            exposed: 0,
            converters: 0,
            orders: 0,
            revenue_minor: 0,
        })
        .collect();
    let mut data = vec![VariantData::default(); outcomes.len()];
    for row in rows {
        let Some(index) = usize::try_from(row.variant)
            .ok()
            .filter(|i| *i < outcomes.len())
        else {
            continue;
        };
        let converters = match metric {
            ExperimentMetric::Conversion | ExperimentMetric::Revenue => row.buyers,
            ExperimentMetric::Repurchase => row.repeat_buyers,
        };
        outcomes[index] = VariantOutcome {
            key: outcomes[index].key.clone(),
            exposed: count(row.exposed),
            converters: count(converters),
            orders: count(row.orders),
            revenue_minor: row.revenue_sum as i64,
        };
        data[index] = VariantData {
            exposed: count(row.exposed),
            converters: count(converters),
            revenue_sum: row.revenue_sum,
            revenue_sum_squares: row.revenue_sum_squares,
        };
    }
    Ok(Results {
        metric,
        outcomes,
        analysis: stats::analyze(&data, &experiment.weights()),
    })
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
