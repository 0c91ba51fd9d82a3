//! `retain report …`: the analytics GraphQL serves, as tables for people at a
//! terminal.

use chrono::Utc;
use clap::Subcommand;
use sea_orm::DatabaseConnection;

use crate::auth::Principal;
use crate::services::analytics::{Month, cohorts, distribution, lifetime_value, periods};

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Monthly KPIs: buyers, retention, churn, repurchase, orders, revenue, NPS,
    /// CSAT, complaints and first-response attainment.
    Kpis {
        /// First month, `YYYY-MM`.
        #[arg(long)]
        from: String,
        /// Last month, `YYYY-MM`; default the current month.
        #[arg(long)]
        to: Option<String>,
    },
    /// Cohort retention by first-purchase month.
    Cohorts {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: Option<String>,
        /// Months each cohort is followed.
        #[arg(long, default_value_t = 12)]
        months: i32,
    },
    /// The segment distribution of a slot's latest runs.
    Segments {
        #[arg(long)]
        slot: String,
        #[arg(long, default_value_t = 12)]
        runs: u64,
    },
    /// Customer lifetime value: the latest fit and its totals per segment.
    Clv {
        /// Fit the models on the order history first (reads every order).
        #[arg(long)]
        fit: bool,
        /// The slot whose segments a fit totals by.
        #[arg(long, default_value = "tier")]
        slot: String,
    },
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

fn yuan(minor: f64) -> String {
    format!("{:.2}", minor / 100.0)
}

fn month_or_now(field: &str, text: Option<&str>) -> anyhow::Result<Month> {
    Ok(match text {
        Some(text) => Month::parse(field, text)?,
        None => Month::of(Utc::now().date_naive()),
    })
}

pub async fn run(db: &DatabaseConnection, action: ReportCommand) -> anyhow::Result<()> {
    match action {
        ReportCommand::Kpis { from, to } => {
            let (from, to) = (
                Month::parse("from", &from)?,
                month_or_now("to", to.as_deref())?,
            );
            println!(
                "{:<8} {:>7} {:>6} {:>9} {:>7} {:>10} {:>7} {:>12} {:>6} {:>6} {:>10} {:>9}",
                "month",
                "buyers",
                "new",
                "retained",
                "churn",
                "repurchase",
                "orders",
                "revenue",
                "NPS",
                "CSAT",
                "complaints",
                "in time"
            );
            for k in periods::kpis(db, from, to, Utc::now()).await? {
                println!(
                    "{:<8} {:>7} {:>6} {:>9} {:>7} {:>10} {:>7} {:>12} {:>6} {:>6} {:>10} {:>9}{}",
                    k.month,
                    k.buyers,
                    k.new_buyers,
                    percent(k.retention_rate),
                    percent(k.churn_rate),
                    percent(k.repurchase_rate),
                    k.orders,
                    yuan(k.revenue_minor as f64),
                    k.nps.map_or_else(|| "—".into(), |n| format!("{n:.0}")),
                    percent(k.csat),
                    k.complaints,
                    percent(k.first_response_attainment),
                    if k.complete { "" } else { "  (so far)" },
                );
            }
        }
        ReportCommand::Cohorts { from, to, months } => {
            let (from, to) = (
                Month::parse("from", &from)?,
                month_or_now("to", to.as_deref())?,
            );
            let as_of = Month::of(Utc::now().date_naive());
            print!("{:<8} {:>9}", "cohort", "customers");
            for k in 1..=months {
                print!(" {:>6}", format!("+{k}"));
            }
            println!();
            for cohort in cohorts::cohorts(db, from, to, months, as_of).await? {
                print!("{:<8} {:>9}", cohort.month, cohort.customers);
                for rate in cohort.rates().into_iter().skip(1) {
                    print!(" {:>6}", percent(rate));
                }
                println!();
            }
        }
        ReportCommand::Segments { slot, runs } => {
            for run in distribution::distribution(db, &slot, runs).await? {
                let total: i64 = run.segments.iter().map(|(_, n)| n).sum();
                let parts: Vec<String> = run
                    .segments
                    .iter()
                    .map(|(segment, n)| {
                        format!(
                            "{segment} {n} ({:.1}%)",
                            *n as f64 * 100.0 / total.max(1) as f64
                        )
                    })
                    .collect();
                println!(
                    "run {:>5} {}  {}",
                    run.run_id,
                    run.finished_at.format("%Y-%m-%d %H:%M"),
                    parts.join(", ")
                );
            }
        }
        ReportCommand::Clv { fit, slot } => {
            if fit {
                let started = std::time::Instant::now();
                lifetime_value::fit(db, &slot, &Principal::cli(), Utc::now()).await?;
                println!("fitted in {:.1}s", started.elapsed().as_secs_f64());
            }
            let Some((row, m)) = lifetime_value::latest(db).await? else {
                anyhow::bail!("no lifetime-value model yet: run `retain report clv --fit`");
            };
            println!(
                "fitted {} by {} on {} buyers ({} repeat buyers)",
                row.fitted_at.format("%Y-%m-%d %H:%M"),
                row.fitted_by,
                m.customers,
                m.repeat_customers
            );
            println!(
                "BG/NBD r={:.4} alpha={:.4} a={:.4} b={:.4} (log-likelihood {:.1}); Gamma-Gamma p={:.4} q={:.4} gamma={:.4} (log-likelihood {:.1})",
                m.r,
                m.alpha,
                m.a,
                m.b,
                m.bg_nbd_log_likelihood,
                m.p,
                m.q,
                m.gamma,
                m.gamma_gamma_log_likelihood
            );
            println!(
                "{}-month CLV at {:.1}% a month, by {} segment:",
                m.horizon_months,
                m.monthly_discount_rate * 100.0,
                m.segment_slot
            );
            println!(
                "{:<16} {:>9} {:>14} {:>12}",
                "segment", "customers", "total", "average"
            );
            for s in &m.segments {
                println!(
                    "{:<16} {:>9} {:>14} {:>12}",
                    s.segment,
                    s.customers,
                    yuan(s.total_clv_minor),
                    yuan(s.average_clv_minor)
                );
            }
            println!(
                "{:<16} {:>9} {:>14}",
                "all",
                m.customers,
                yuan(m.total_clv_minor)
            );
        }
    }
    Ok(())
}
