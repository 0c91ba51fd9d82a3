//! Customer lifetime value on the shop's own order history: the RFM summaries
//! of every buyer (purchases grouped by UTC day, as `lifetimes` does), a BG/NBD
//! and Gamma-Gamma fit by maximum likelihood, stored with per-segment totals,
//! and each customer's CLV from the latest fit.
//!
//! Two CLVs per customer, over the fit's horizon:
//! - *simple*: the customer's average order value × their purchases per month ×
//!   the shop's expected lifetime in months (1 / the monthly churn rate of the
//!   last complete month), capped at the horizon;
//! - *probabilistic*: expected purchases in each coming month given the
//!   customer's history (BG/NBD) × their expected order value (Gamma-Gamma),
//!   discounted monthly.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use retain_schema::{clv_model, segment_membership};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, QueryFilter, QueryOrder, Set, StreamTrait,
};
use serde::{Deserialize, Serialize};

use super::Month;
use super::clv::{
    BgNbdParams, ClvError, ClvOptions, FitOptions, GammaGammaParams, RfmSummary, SimpleClv,
    TimeUnit, customer_lifetime_value,
};
use super::periods;
use crate::auth::Principal;
use crate::database::{day_of, statement};
use crate::error::{ServiceError, ServiceResult};
use crate::services::audit;
use crate::services::profile::purchased_sql_list;

/// Months of future purchases a CLV counts, and its monthly discount rate.
pub const HORIZON_MONTHS: u32 = 12;
pub const MONTHLY_DISCOUNT_RATE: f64 = 0.01;

/// A fitted model as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredModel {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
    pub bg_nbd_log_likelihood: f64,
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
    pub gamma_gamma_log_likelihood: f64,
    /// Buyers the BG/NBD fit used, and repeat buyers the Gamma-Gamma fit used.
    pub customers: usize,
    pub repeat_customers: usize,
    /// The shop's churn rate in the last complete month, for the simple CLV.
    pub monthly_churn_rate: Option<f64>,
    pub horizon_months: u32,
    pub monthly_discount_rate: f64,
    /// The slot whose segments the totals are by.
    pub segment_slot: String,
    pub segments: Vec<SegmentValue>,
    /// Every buyer's probabilistic CLV added up.
    pub total_clv_minor: f64,
}

/// A segment's customers and their lifetime value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentValue {
    pub segment: String,
    pub customers: u64,
    pub total_clv_minor: f64,
    pub average_clv_minor: f64,
}

impl StoredModel {
    fn params(&self) -> Result<(BgNbdParams, GammaGammaParams), ClvError> {
        Ok((
            BgNbdParams::new(self.r, self.alpha, self.a, self.b)?,
            GammaGammaParams::new(self.p, self.q, self.gamma)?,
        ))
    }

    fn options(&self) -> ClvOptions {
        ClvOptions {
            horizon_months: self.horizon_months,
            monthly_discount_rate: self.monthly_discount_rate,
            unit: TimeUnit::Days,
        }
    }
}

/// A customer's purchase days, aggregated while their rows stream past.
#[derive(Debug, Default)]
struct History {
    first: Option<NaiveDate>,
    last: Option<NaiveDate>,
    days: u32,
    orders: i64,
    spend: i64,
    /// Spend on the days after the first.
    repeat_spend: i64,
}

impl History {
    fn add(&mut self, day: NaiveDate, orders: i64, value: i64) {
        if self.first.is_none() {
            self.first = Some(day);
        } else {
            self.repeat_spend += value;
        }
        self.last = Some(day);
        self.days += 1;
        self.orders += orders;
        self.spend += value;
    }

    /// The RFM summary as of `today`, in days.
    fn summary(&self, today: NaiveDate) -> Option<RfmSummary> {
        let (first, last) = (self.first?, self.last?);
        let frequency = self.days - 1;
        let monetary = if frequency > 0 {
            self.repeat_spend as f64 / f64::from(frequency)
        } else {
            0.0
        };
        RfmSummary::new(
            frequency,
            (last - first).num_days() as f64,
            (today - first).num_days().max((last - first).num_days()) as f64,
            monetary.max(0.0),
        )
        .ok()
    }

    /// AOV × purchases per month × expected lifetime in months (capped at the
    /// horizon, which bounds the churn-free case).
    fn simple_clv(&self, today: NaiveDate, churn: Option<f64>, horizon: u32) -> Option<f64> {
        let first = self.first?;
        let months = ((today - first).num_days() as f64 / TimeUnit::Days.per_month()).max(1.0);
        let lifetime = churn
            .filter(|c| *c > 0.0)
            .map_or(f64::from(horizon), |c| (1.0 / c).min(f64::from(horizon)));
        SimpleClv {
            average_order_value: self.spend as f64 / self.orders.max(1) as f64,
            purchases_per_period: self.orders as f64 / months,
            expected_lifetime_periods: lifetime,
        }
        .value()
        .ok()
    }
}

#[derive(Debug, FromQueryResult)]
struct PurchaseDay {
    customer_id: i64,
    day: String,
    orders: i64,
    value: i64,
}

/// Streams every buyer's purchase days in customer order (or one customer's),
/// calling `each` once per customer; memory holds one customer at a time.
async fn for_each_history<C>(
    db: &C,
    customer: Option<i64>,
    before: DateTime<Utc>,
    mut each: impl FnMut(i64, &History),
) -> ServiceResult<()>
where
    C: ConnectionTrait + StreamTrait,
{
    let backend = ConnectionTrait::get_database_backend(db);
    let day = day_of(backend, "placed_at");
    let mut values: Vec<sea_orm::Value> = vec![before.into()];
    let only = match customer {
        Some(id) => {
            values.push(id.into());
            "AND customer_id = ?"
        }
        None => "",
    };
    let mut rows = PurchaseDay::find_by_statement(statement(
        backend,
        &format!(
            "SELECT customer_id, {day} AS day, CAST(COUNT(*) AS BIGINT) AS orders, \
                    CAST(SUM(total_minor) AS BIGINT) AS value \
             FROM orders WHERE status IN ({}) AND placed_at < ? {only} \
             GROUP BY customer_id, {day} ORDER BY customer_id, {day}",
            purchased_sql_list()
        ),
        values,
    ))
    .stream(db)
    .await?;
    let mut current: Option<(i64, History)> = None;
    while let Some(row) = rows.try_next().await? {
        let Ok(date) = NaiveDate::parse_from_str(&row.day, "%Y-%m-%d") else {
            continue;
        };
        match &mut current {
            Some((id, history)) if *id == row.customer_id => {
                history.add(date, row.orders, row.value)
            }
            _ => {
                if let Some((id, history)) = current.take() {
                    each(id, &history);
                }
                let mut history = History::default();
                history.add(date, row.orders, row.value);
                current = Some((row.customer_id, history));
            }
        }
    }
    if let Some((id, history)) = current {
        each(id, &history);
    }
    Ok(())
}

fn fit_failed(model: &str, err: ClvError) -> ServiceError {
    ServiceError::conflict(
        "orders",
        format!("the {model} model cannot be fitted: {err}"),
    )
}

/// Fits both models on every buyer's history as of `now`, totals the CLV per
/// segment of `segment_slot`'s current run, and stores the result (audited).
pub async fn fit(
    db: &DatabaseConnection,
    segment_slot: &str,
    actor: &Principal,
    now: DateTime<Utc>,
) -> ServiceResult<(clv_model::Model, StoredModel)> {
    let today = now.date_naive();
    let mut ids = Vec::new();
    let mut summaries = Vec::new();
    for_each_history(db, None, now, |id, history| {
        if let Some(summary) = history.summary(today) {
            ids.push(id);
            summaries.push(summary);
        }
    })
    .await?;
    let options = FitOptions::default();
    let purchases =
        BgNbdParams::fit(&summaries, &options).map_err(|err| fit_failed("BG/NBD", err))?;
    let spend = GammaGammaParams::fit(&summaries, &options)
        .map_err(|err| fit_failed("Gamma-Gamma", err))?;
    let last_month = Month::of(today).previous();
    let churn = periods::kpis(db, last_month, last_month, now)
        .await?
        .first()
        .and_then(|k| k.churn_rate);

    let segments = segment_of(db, segment_slot).await?;
    let clv_options = ClvOptions {
        horizon_months: HORIZON_MONTHS,
        monthly_discount_rate: MONTHLY_DISCOUNT_RATE,
        unit: TimeUnit::Days,
    };
    let mut by_segment: HashMap<&str, (u64, f64)> = HashMap::new();
    let mut total = 0.0;
    for (id, summary) in ids.iter().zip(&summaries) {
        let value =
            customer_lifetime_value(&purchases.params, &spend.params, summary, &clv_options)
                .map_err(|err| fit_failed("CLV", err))?;
        total += value;
        let segment = segments.get(id).map_or("none", String::as_str);
        let entry = by_segment.entry(segment).or_default();
        entry.0 += 1;
        entry.1 += value;
    }
    let mut segments: Vec<SegmentValue> = by_segment
        .into_iter()
        .map(|(segment, (customers, total))| SegmentValue {
            segment: segment.to_owned(),
            customers,
            total_clv_minor: total,
            average_clv_minor: total / customers as f64,
        })
        .collect();
    segments.sort_by(|a, b| b.total_clv_minor.total_cmp(&a.total_clv_minor));
    let (bg, gg) = (purchases.params, spend.params);
    let stored = StoredModel {
        r: bg.r(),
        alpha: bg.alpha(),
        a: bg.a(),
        b: bg.b(),
        bg_nbd_log_likelihood: purchases.log_likelihood,
        p: gg.p(),
        q: gg.q(),
        gamma: gg.gamma(),
        gamma_gamma_log_likelihood: spend.log_likelihood,
        customers: purchases.customers,
        repeat_customers: spend.customers,
        monthly_churn_rate: churn,
        horizon_months: HORIZON_MONTHS,
        monthly_discount_rate: MONTHLY_DISCOUNT_RATE,
        segment_slot: segment_slot.to_owned(),
        segments,
        total_clv_minor: total,
    };
    let json = serde_json::to_value(&stored).expect("the model serialises");
    let txn = sea_orm::TransactionTrait::begin(db).await?;
    let row = clv_model::ActiveModel {
        fitted_at: Set(now),
        model: Set(json.clone()),
        fitted_by: Set(actor.name.clone()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(&txn, actor, "clv.fit", segment_slot, json, now).await?;
    txn.commit().await?;
    Ok((row, stored))
}

/// Every member's segment in `slot`.
async fn segment_of(db: &DatabaseConnection, slot: &str) -> ServiceResult<HashMap<i64, String>> {
    let mut rows = segment_membership::Entity::find()
        .filter(segment_membership::Column::Slot.eq(slot))
        .stream(db)
        .await?;
    let mut segments = HashMap::new();
    while let Some(row) = rows.try_next().await? {
        segments.insert(row.customer_id, row.segment);
    }
    Ok(segments)
}

/// The latest fit, if any.
pub async fn latest(
    db: &impl ConnectionTrait,
) -> ServiceResult<Option<(clv_model::Model, StoredModel)>> {
    let Some(row) = clv_model::Entity::find()
        .order_by_desc(clv_model::Column::Id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let model = serde_json::from_value(row.model.clone())
        .map_err(|err| ServiceError::conflict("clvModel", format!("unreadable model: {err}")))?;
    Ok(Some((row, model)))
}

/// One customer's lifetime value under a fitted model.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerValue {
    pub simple_minor: Option<f64>,
    pub probabilistic_minor: Option<f64>,
    /// BG/NBD's probability that the customer still buys.
    pub probability_alive: Option<f64>,
    pub expected_purchases_90_days: Option<f64>,
    /// Gamma-Gamma's expected value of their next orders.
    pub expected_order_value_minor: Option<f64>,
}

/// `customer_id`'s lifetime value under `model`, as of `now`. A customer who
/// never bought has no history to project: every figure is none.
pub async fn of_customer<C>(
    db: &C,
    model: &StoredModel,
    customer_id: i64,
    now: DateTime<Utc>,
) -> ServiceResult<CustomerValue>
where
    C: ConnectionTrait + StreamTrait,
{
    let today = now.date_naive();
    let mut found = None;
    for_each_history(db, Some(customer_id), now, |_, history| {
        found = Some((
            history.summary(today),
            history.simple_clv(today, model.monthly_churn_rate, model.horizon_months),
        ));
    })
    .await?;
    let (summary, simple) = found.unwrap_or((None, None));
    let params = model.params().ok();
    let probabilistic = |summary: &RfmSummary| {
        let (bg, gg) = params.as_ref()?;
        Some((
            customer_lifetime_value(bg, gg, summary, &model.options()).ok()?,
            bg.probability_alive(summary),
            bg.conditional_expected_purchases(summary, 90.0).ok()?,
            gg.conditional_expected_average_value(summary),
        ))
    };
    let projected = summary.as_ref().and_then(probabilistic);
    Ok(CustomerValue {
        simple_minor: simple,
        probabilistic_minor: projected.map(|p| p.0),
        probability_alive: projected.map(|p| p.1),
        expected_purchases_90_days: projected.map(|p| p.2),
        expected_order_value_minor: projected.map(|p| p.3),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn histories_become_day_level_rfm_summaries() {
        let mut history = History::default();
        history.add(day("2026-01-01"), 1, 10_000);
        history.add(day("2026-01-11"), 2, 30_000);
        history.add(day("2026-03-02"), 1, 20_000);
        let summary = history.summary(day("2026-04-01")).unwrap();
        assert_eq!(summary.frequency(), 2);
        assert_eq!(summary.recency(), 60.0);
        assert_eq!(summary.age(), 90.0);
        assert_eq!(summary.monetary_value(), 25_000.0, "repeat days only");
        // 4 orders, ¥150 on average, over 3 months, for a 1/0.25 = 4-month lifetime.
        let simple = history
            .simple_clv(day("2026-04-01"), Some(0.25), 12)
            .unwrap();
        assert!(
            (simple - 15_000.0 * (4.0 / 3.0) * 4.0).abs() < 1e-6,
            "{simple}"
        );
        // No churn measured: the horizon bounds the lifetime.
        let capped = history.simple_clv(day("2026-04-01"), None, 12).unwrap();
        assert!(
            (capped - 15_000.0 * (4.0 / 3.0) * 12.0).abs() < 1e-6,
            "{capped}"
        );
    }

    #[test]
    fn a_single_purchase_has_no_repeat_value() {
        let mut history = History::default();
        history.add(day("2026-01-01"), 1, 10_000);
        let summary = history.summary(day("2026-01-31")).unwrap();
        assert_eq!(
            (summary.frequency(), summary.recency(), summary.age()),
            (0, 0.0, 30.0)
        );
        assert_eq!(summary.monetary_value(), 0.0);
    }
}
