//! KPIs per calendar month: buyers, retention, repurchase and churn, orders and
//! revenue, and what customers said (NPS, CSAT, complaints and the
//! first-response target).
//!
//! Definitions, for month P:
//! - *buyers*: customers with a purchase in P; *new buyers* made their first
//!   purchase ever in P; the others are *returning*;
//! - *retention rate*: the share of P−1's buyers who bought again in P, and the
//!   *churn rate* is its complement;
//! - *repurchase rate*: the share of P's buyers who are returning;
//! - *NPS*: the share of promoters (9–10) minus the share of detractors (0–6)
//!   among P's NPS answers, in points (−100 to 100); *CSAT*: the share of 4–5
//!   among P's CSAT answers;
//! - *complaint rate*: complaints received in P per purchase in P;
//!   *first-response attainment*: the share of P's complaints acknowledged by
//!   their deadline, counting those whose deadline passed unacknowledged as
//!   misses and leaving out those still within it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::{Month, month_range, share};
use crate::database::{month_of, statement};
use crate::error::ServiceResult;
use crate::services::profile::purchased_sql_list;

/// Longest range one report covers.
pub const MAX_MONTHS: i32 = 60;

/// One month's KPIs.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodKpis {
    pub month: Month,
    /// Whether the month is over; figures of the current month are so far.
    pub complete: bool,
    pub buyers: u64,
    pub new_buyers: u64,
    pub returning_buyers: u64,
    /// Buyers of the month before who bought again this month.
    pub retained_buyers: u64,
    pub retention_rate: Option<f64>,
    pub churn_rate: Option<f64>,
    pub repurchase_rate: Option<f64>,
    pub orders: u64,
    pub revenue_minor: i64,
    pub average_order_value_minor: Option<f64>,
    pub nps: Option<f64>,
    pub nps_answers: u64,
    pub csat: Option<f64>,
    pub csat_answers: u64,
    pub complaints: u64,
    pub complaint_rate: Option<f64>,
    pub first_response_attainment: Option<f64>,
}

#[derive(Debug, FromQueryResult)]
struct BuyerMonth {
    customer_id: i64,
    month: String,
    orders: i64,
    revenue: i64,
}

#[derive(Debug, FromQueryResult)]
struct FirstPurchase {
    customer_id: i64,
    month: String,
}

#[derive(Debug, FromQueryResult)]
struct Answer {
    month: String,
    complaint: i32,
    csat: Option<i16>,
    nps: Option<i16>,
    acknowledged_at: Option<DateTime<Utc>>,
    response_due_at: Option<DateTime<Utc>>,
}

/// KPIs for every month from `from` to `to`, as of `now`: three grouped
/// statements, whatever the range.
pub async fn kpis(
    db: &impl ConnectionTrait,
    from: Month,
    to: Month,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<PeriodKpis>> {
    let months = month_range(from, to, MAX_MONTHS)?;
    let backend = db.get_database_backend();
    let purchased = purchased_sql_list();
    // The month before `from` too, for its retention.
    let (start, end) = (from.previous().start(), to.next().start());
    let month = month_of(backend, "placed_at");
    let buyer_months = BuyerMonth::find_by_statement(statement(
        backend,
        &format!(
            "SELECT customer_id, {month} AS month, CAST(COUNT(*) AS BIGINT) AS orders, \
                    CAST(SUM(total_minor) AS BIGINT) AS revenue \
             FROM orders WHERE status IN ({purchased}) AND placed_at >= ? AND placed_at < ? \
             GROUP BY customer_id, {month}"
        ),
        vec![start.into(), end.into()],
    ))
    .all(db)
    .await?;
    let first_month = month_of(backend, "MIN(placed_at)");
    let firsts: HashMap<i64, String> = FirstPurchase::find_by_statement(statement(
        backend,
        &format!(
            "SELECT customer_id, {first_month} AS month FROM orders \
             WHERE status IN ({purchased}) GROUP BY customer_id \
             HAVING MIN(placed_at) >= ? AND MIN(placed_at) < ?"
        ),
        vec![start.into(), end.into()],
    ))
    .all(db)
    .await?
    .into_iter()
    .map(|f| (f.customer_id, f.month))
    .collect();
    let created = month_of(backend, "created_at");
    let complaints = retain_schema::FeedbackCategory::COMPLAINTS
        .iter()
        .map(|c| format!("'{}'", sea_orm::ActiveEnum::to_value(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let answers = Answer::find_by_statement(statement(
        backend,
        &format!(
            "SELECT {created} AS month, \
                    CASE WHEN category IN ({complaints}) THEN 1 ELSE 0 END AS complaint, \
                    csat, nps, acknowledged_at, response_due_at \
             FROM feedback WHERE created_at >= ? AND created_at < ?"
        ),
        vec![from.start().into(), end.into()],
    ))
    .all(db)
    .await?;

    let mut buyers: HashMap<&str, HashSet<i64>> = HashMap::new();
    let mut sales: HashMap<&str, (u64, i64)> = HashMap::new();
    for row in &buyer_months {
        buyers
            .entry(&row.month)
            .or_default()
            .insert(row.customer_id);
        let month = sales.entry(&row.month).or_default();
        month.0 += row.orders.max(0) as u64;
        month.1 += row.revenue;
    }
    let empty = HashSet::new();
    Ok(months
        .into_iter()
        .map(|month| {
            let key = month.to_string();
            let previous_key = month.previous().to_string();
            let this = buyers.get(key.as_str()).unwrap_or(&empty);
            let before = buyers.get(previous_key.as_str()).unwrap_or(&empty);
            let new_buyers = this
                .iter()
                .filter(|c| firsts.get(c).is_some_and(|m| *m == key))
                .count() as u64;
            let retained = this.intersection(before).count() as u64;
            let (orders, revenue) = sales.get(key.as_str()).copied().unwrap_or_default();
            let said = Said::tally(answers.iter().filter(|a| a.month == key), now);
            let retention = share(retained, before.len() as u64);
            PeriodKpis {
                month,
                complete: month.next().start() <= now,
                buyers: this.len() as u64,
                new_buyers,
                returning_buyers: this.len() as u64 - new_buyers,
                retained_buyers: retained,
                retention_rate: retention,
                churn_rate: retention.map(|r| 1.0 - r),
                repurchase_rate: share(this.len() as u64 - new_buyers, this.len() as u64),
                orders,
                revenue_minor: revenue,
                average_order_value_minor: (orders > 0).then(|| revenue as f64 / orders as f64),
                nps: said.nps(),
                nps_answers: said.nps_answers,
                csat: share(said.satisfied, said.csat_answers),
                csat_answers: said.csat_answers,
                complaints: said.complaints,
                complaint_rate: share(said.complaints, orders),
                first_response_attainment: share(said.in_time, said.due),
            }
        })
        .collect())
}

/// What one month's feedback adds up to.
#[derive(Debug, Default)]
struct Said {
    promoters: u64,
    detractors: u64,
    nps_answers: u64,
    satisfied: u64,
    csat_answers: u64,
    complaints: u64,
    /// Complaints whose deadline has passed or that were answered.
    due: u64,
    in_time: u64,
}

impl Said {
    fn tally<'a>(answers: impl Iterator<Item = &'a Answer>, now: DateTime<Utc>) -> Self {
        let mut said = Self::default();
        for answer in answers {
            if let Some(nps) = answer.nps {
                said.nps_answers += 1;
                match nps {
                    9..=10 => said.promoters += 1,
                    0..=6 => said.detractors += 1,
                    _ => {}
                }
            }
            if let Some(csat) = answer.csat {
                said.csat_answers += 1;
                if csat >= 4 {
                    said.satisfied += 1;
                }
            }
            if answer.complaint == 1 {
                said.complaints += 1;
                if let Some(due) = answer.response_due_at {
                    match answer.acknowledged_at {
                        Some(at) => {
                            said.due += 1;
                            said.in_time += u64::from(at <= due);
                        }
                        None if due < now => said.due += 1,
                        None => {}
                    }
                }
            }
        }
        said
    }

    fn nps(&self) -> Option<f64> {
        (self.nps_answers > 0).then(|| {
            100.0 * (self.promoters as f64 - self.detractors as f64) / self.nps_answers as f64
        })
    }
}
