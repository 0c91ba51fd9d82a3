//! Retention analytics in GraphQL: monthly KPIs, cohort retention, the segment
//! distribution over runs, and customer lifetime value.

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::app::{app_context, caller};
use crate::graphql::connection::Money;
use crate::graphql::errors::GqlResultExt;
use crate::services::analytics::lifetime_value::{self, CustomerValue, StoredModel};
use crate::services::analytics::{Month, cohorts, distribution, periods};

/// One month's KPIs; rates are shares (0–1), NPS is in points (−100 to 100).
#[derive(SimpleObject)]
pub struct PeriodKpis {
    /// `YYYY-MM`.
    pub month: String,
    /// Whether the month is over; the current month's figures are so far.
    pub complete: bool,
    /// Customers with a purchase in the month.
    pub buyers: u64,
    /// Buyers whose first purchase ever was in the month.
    pub new_buyers: u64,
    pub returning_buyers: u64,
    /// Buyers of the month before who bought again.
    pub retained_buyers: u64,
    /// Share of the month before's buyers who bought again.
    pub retention_rate: Option<f64>,
    pub churn_rate: Option<f64>,
    /// Share of the month's buyers who had bought before.
    pub repurchase_rate: Option<f64>,
    pub orders: u64,
    pub revenue: Money,
    /// In minor units.
    pub average_order_value: Option<f64>,
    /// Promoters (9–10) minus detractors (0–6), in points.
    pub nps: Option<f64>,
    pub nps_answers: u64,
    /// Share of CSAT answers that are 4 or 5.
    pub csat: Option<f64>,
    pub csat_answers: u64,
    pub complaints: u64,
    /// Complaints per purchase.
    pub complaint_rate: Option<f64>,
    /// Share of complaints acknowledged by their deadline (those still within it
    /// left out).
    pub first_response_attainment: Option<f64>,
}

impl PeriodKpis {
    fn new(k: periods::PeriodKpis, currency: &str) -> Self {
        Self {
            month: k.month.to_string(),
            complete: k.complete,
            buyers: k.buyers,
            new_buyers: k.new_buyers,
            returning_buyers: k.returning_buyers,
            retained_buyers: k.retained_buyers,
            retention_rate: k.retention_rate,
            churn_rate: k.churn_rate,
            repurchase_rate: k.repurchase_rate,
            orders: k.orders,
            revenue: Money::new(k.revenue_minor, currency),
            average_order_value: k.average_order_value_minor,
            nps: k.nps,
            nps_answers: k.nps_answers,
            csat: k.csat,
            csat_answers: k.csat_answers,
            complaints: k.complaints,
            complaint_rate: k.complaint_rate,
            first_response_attainment: k.first_response_attainment,
        }
    }
}

/// One row of the cohort matrix.
#[derive(SimpleObject)]
pub struct Cohort {
    /// The month of the cohort's first purchase, `YYYY-MM`.
    pub month: String,
    pub customers: u64,
    /// `retained[k]`: cohort customers with a purchase k months later
    /// (`retained[0]` is the cohort).
    pub retained: Vec<u64>,
    /// The same as shares of the cohort.
    pub retention: Vec<Option<f64>>,
}

/// Customers in a segment after one run.
#[derive(SimpleObject)]
pub struct SegmentShare {
    pub segment: String,
    pub customers: i64,
}

/// One completed run's distribution.
#[derive(SimpleObject)]
pub struct RunDistribution {
    pub run_id: i64,
    pub finished_at: DateTime<Utc>,
    pub segments: Vec<SegmentShare>,
}

/// A segment's lifetime value under the latest fit.
#[derive(SimpleObject)]
pub struct SegmentLifetimeValue {
    pub segment: String,
    pub customers: u64,
    /// In minor units.
    pub total: f64,
    pub average: f64,
}

/// The latest lifetime-value fit: BG/NBD (purchase rate λ ~ Gamma(r, α) per day,
/// dropout p ~ Beta(a, b)) and Gamma-Gamma (spend p, q, γ).
pub struct LifetimeValueModel {
    fitted_at: DateTime<Utc>,
    fitted_by: String,
    model: StoredModel,
}

#[Object]
impl LifetimeValueModel {
    async fn fitted_at(&self) -> DateTime<Utc> {
        self.fitted_at
    }
    async fn fitted_by(&self) -> &str {
        &self.fitted_by
    }
    async fn r(&self) -> f64 {
        self.model.r
    }
    async fn alpha(&self) -> f64 {
        self.model.alpha
    }
    async fn a(&self) -> f64 {
        self.model.a
    }
    async fn b(&self) -> f64 {
        self.model.b
    }
    async fn bg_nbd_log_likelihood(&self) -> f64 {
        self.model.bg_nbd_log_likelihood
    }
    async fn p(&self) -> f64 {
        self.model.p
    }
    async fn q(&self) -> f64 {
        self.model.q
    }
    async fn gamma(&self) -> f64 {
        self.model.gamma
    }
    async fn gamma_gamma_log_likelihood(&self) -> f64 {
        self.model.gamma_gamma_log_likelihood
    }
    /// Buyers the purchase model was fitted on.
    async fn customers(&self) -> usize {
        self.model.customers
    }
    /// Repeat buyers the spend model was fitted on.
    async fn repeat_customers(&self) -> usize {
        self.model.repeat_customers
    }
    async fn monthly_churn_rate(&self) -> Option<f64> {
        self.model.monthly_churn_rate
    }
    async fn horizon_months(&self) -> u32 {
        self.model.horizon_months
    }
    async fn monthly_discount_rate(&self) -> f64 {
        self.model.monthly_discount_rate
    }
    /// The slot `bySegment` groups by.
    async fn segment_slot(&self) -> &str {
        &self.model.segment_slot
    }
    async fn by_segment(&self) -> Vec<SegmentLifetimeValue> {
        self.model
            .segments
            .iter()
            .map(|s| SegmentLifetimeValue {
                segment: s.segment.clone(),
                customers: s.customers,
                total: s.total_clv_minor,
                average: s.average_clv_minor,
            })
            .collect()
    }
    /// Every buyer's probabilistic CLV, in minor units.
    async fn total(&self) -> f64 {
        self.model.total_clv_minor
    }
}

/// A customer's lifetime value under the latest fit; amounts in minor units.
#[derive(SimpleObject)]
pub struct CustomerLifetimeValue {
    /// Average order value × orders per month × the shop's expected lifetime.
    pub simple: Option<f64>,
    /// BG/NBD × Gamma-Gamma over the horizon, discounted.
    pub probabilistic: Option<f64>,
    pub probability_alive: Option<f64>,
    pub expected_purchases_90_days: Option<f64>,
    pub expected_order_value: Option<f64>,
}

impl From<CustomerValue> for CustomerLifetimeValue {
    fn from(v: CustomerValue) -> Self {
        Self {
            simple: v.simple_minor,
            probabilistic: v.probabilistic_minor,
            probability_alive: v.probability_alive,
            expected_purchases_90_days: v.expected_purchases_90_days,
            expected_order_value: v.expected_order_value_minor,
        }
    }
}

/// `customer`'s lifetime value, or none before the first fit.
pub async fn customer_lifetime_value(
    ctx: &Context<'_>,
    customer: i64,
) -> Result<Option<CustomerLifetimeValue>> {
    let db = &app_context(ctx).db;
    let Some((_, model)) = lifetime_value::latest(db).await.gql()? else {
        return Ok(None);
    };
    Ok(Some(
        lifetime_value::of_customer(db, &model, customer, Utc::now())
            .await
            .gql()?
            .into(),
    ))
}

/// The analytics root.
pub struct Analytics;

#[Object]
impl Analytics {
    /// KPIs for each month from `from` to `to` (`YYYY-MM`, at most 60 months).
    async fn periods(
        &self,
        ctx: &Context<'_>,
        from: String,
        to: String,
    ) -> Result<Vec<PeriodKpis>> {
        let app = app_context(ctx);
        let (from, to) = (
            Month::parse("from", &from).gql()?,
            Month::parse("to", &to).gql()?,
        );
        Ok(periods::kpis(&app.db, from, to, Utc::now())
            .await
            .gql()?
            .into_iter()
            .map(|k| PeriodKpis::new(k, &app.settings.currency))
            .collect())
    }

    /// Cohorts by first-purchase month from `from` to `to`, each followed for
    /// `months` months.
    async fn cohorts(
        &self,
        ctx: &Context<'_>,
        from: String,
        to: String,
        #[graphql(default = 12)] months: i32,
    ) -> Result<Vec<Cohort>> {
        let db = &app_context(ctx).db;
        let (from, to) = (
            Month::parse("from", &from).gql()?,
            Month::parse("to", &to).gql()?,
        );
        let as_of = Month::of(Utc::now().date_naive());
        Ok(cohorts::cohorts(db, from, to, months, as_of)
            .await
            .gql()?
            .into_iter()
            .map(|c| Cohort {
                month: c.month.to_string(),
                customers: c.customers,
                retention: c.rates(),
                retained: c.retained,
            })
            .collect())
    }

    /// How the latest `runs` completed runs of `slot` split customers, oldest
    /// first.
    async fn segment_distribution(
        &self,
        ctx: &Context<'_>,
        slot: String,
        #[graphql(default = 12)] runs: u64,
    ) -> Result<Vec<RunDistribution>> {
        let db = &app_context(ctx).db;
        Ok(distribution::distribution(db, &slot, runs)
            .await
            .gql()?
            .into_iter()
            .map(|run| RunDistribution {
                run_id: run.run_id,
                finished_at: run.finished_at,
                segments: run
                    .segments
                    .into_iter()
                    .map(|(segment, customers)| SegmentShare { segment, customers })
                    .collect(),
            })
            .collect())
    }

    /// The latest lifetime-value fit; null before `fitLifetimeValueModel`.
    async fn lifetime_value(&self, ctx: &Context<'_>) -> Result<Option<LifetimeValueModel>> {
        let db = &app_context(ctx).db;
        Ok(lifetime_value::latest(db)
            .await
            .gql()?
            .map(|(row, model)| LifetimeValueModel {
                fitted_at: row.fitted_at,
                fitted_by: row.fitted_by,
                model,
            }))
    }
}

#[derive(Default)]
pub struct AnalyticsQuery;

#[Object]
impl AnalyticsQuery {
    /// Retention KPIs, cohorts, segment distribution and lifetime value.
    async fn analytics(&self) -> Analytics {
        Analytics
    }
}

#[derive(Default)]
pub struct AnalyticsMutation;

#[Object]
impl AnalyticsMutation {
    /// Fits the lifetime-value models on the whole order history and totals
    /// them by the segments of `slot`; answers when the fit is stored.
    async fn fit_lifetime_value_model(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = "tier")] slot: String,
    ) -> Result<LifetimeValueModel> {
        let app = app_context(ctx);
        let (row, model) = lifetime_value::fit(&app.db, &slot, caller(ctx)?, Utc::now())
            .await
            .gql()?;
        Ok(LifetimeValueModel {
            fitted_at: row.fitted_at,
            fitted_by: row.fitted_by,
            model,
        })
    }
}
