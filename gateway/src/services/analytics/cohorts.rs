//! Cohort retention: customers grouped by the month of their first purchase,
//! and the share of each cohort that bought again 1, 2, … months later.

use std::collections::{BTreeMap, HashMap, HashSet};

use sea_orm::{ConnectionTrait, FromQueryResult};

use super::{Month, month_range, share};
use crate::database::{month_of, statement};
use crate::error::{ServiceError, ServiceResult};
use crate::services::profile::purchased_sql_list;

/// Most cohorts and most months after the first one report shows.
pub const MAX_MONTHS: i32 = 36;

/// One cohort's row of the matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Cohort {
    /// The month of the first purchase.
    pub month: Month,
    pub customers: u64,
    /// `retained[k]`: customers of the cohort with a purchase `k` months after
    /// their first month (`retained[0]` is the whole cohort). Months after the
    /// last complete one (`as_of`) are left out.
    pub retained: Vec<u64>,
}

impl Cohort {
    /// `retained[k]` as a share of the cohort.
    pub fn rates(&self) -> Vec<Option<f64>> {
        self.retained
            .iter()
            .map(|r| share(*r, self.customers))
            .collect()
    }
}

#[derive(Debug, FromQueryResult)]
struct PurchaseMonth {
    customer_id: i64,
    month: String,
    first_month: String,
}

/// The cohorts whose first purchase fell from `from` to `to`, each followed for
/// up to `months` months after its first, but not past `as_of`.
pub async fn cohorts(
    db: &impl ConnectionTrait,
    from: Month,
    to: Month,
    months: i32,
    as_of: Month,
) -> ServiceResult<Vec<Cohort>> {
    let cohort_months = month_range(from, to, MAX_MONTHS)?;
    if !(0..=MAX_MONTHS).contains(&months) {
        return Err(ServiceError::invalid(
            "months",
            format!("must be 0–{MAX_MONTHS}"),
        ));
    }
    let backend = db.get_database_backend();
    let purchased = purchased_sql_list();
    let month = month_of(backend, "o.placed_at");
    let first = month_of(backend, "f.first_at");
    let rows = PurchaseMonth::find_by_statement(statement(
        backend,
        &format!(
            "SELECT o.customer_id AS customer_id, {month} AS month, {first} AS first_month \
             FROM orders o \
             JOIN (SELECT customer_id, MIN(placed_at) AS first_at FROM orders \
                   WHERE status IN ({purchased}) GROUP BY customer_id \
                   HAVING MIN(placed_at) >= ? AND MIN(placed_at) < ?) f \
               ON f.customer_id = o.customer_id \
             WHERE o.status IN ({purchased}) \
             GROUP BY o.customer_id, {month}, {first}"
        ),
        vec![from.start().into(), to.next().start().into()],
    ))
    .all(db)
    .await?;
    // By cohort, the customers who bought k months after their first month.
    let mut bought: HashMap<String, BTreeMap<i32, HashSet<i64>>> = HashMap::new();
    for row in &rows {
        let (Ok(first), Ok(month)) = (row.first_month.parse::<Month>(), row.month.parse::<Month>())
        else {
            continue;
        };
        bought
            .entry(row.first_month.clone())
            .or_default()
            .entry(first.months_until(month))
            .or_default()
            .insert(row.customer_id);
    }
    Ok(cohort_months
        .into_iter()
        .map(|cohort| {
            let by_offset = bought.get(&cohort.to_string());
            let count = |k: i32| {
                by_offset
                    .and_then(|m| m.get(&k))
                    .map_or(0, |c| c.len() as u64)
            };
            let followed = months.min(cohort.months_until(as_of));
            Cohort {
                month: cohort,
                customers: count(0),
                retained: (0..=followed.max(0)).map(count).collect(),
            }
        })
        .collect())
}
