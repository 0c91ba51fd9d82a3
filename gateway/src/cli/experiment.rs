//! `retain experiment …` and `retain plugin shadow`: experiments between plugin
//! versions from the command line, and their reports as tables.

use std::path::PathBuf;

use anyhow::Context;
use chrono::Utc;
use clap::Subcommand;
use retain_schema::{ExperimentMetric, PluginKind};

use super::{parse_config, progress_bar, segment_with_progress};
use crate::app::AppState;
use crate::auth::Principal;
use crate::services::experiments::results::{self, Results};
use crate::services::experiments::stats::{MetricComparison, Unavailable};
use crate::services::experiments::{self, Experiment, ExperimentInput};
use crate::services::shadow::{self, ShadowReport};

#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    /// Create a draft from a JSON file shaped like GraphQL's `ExperimentInput`:
    /// `{"key": …, "slot": …, "variants": [{"key": …, "plugin": "name@version",
    /// "weight": 0.5}, …], "coverage": 1, "conversionWindowDays": 14,
    /// "metric": "CONVERSION"}`.
    Create { file: PathBuf },
    /// List experiments, newest first.
    List,
    /// Start serving a draft's variants (a segmenter slot is re-segmented).
    Start { key: String },
    /// Stop serving the variants (a segmenter slot is re-segmented).
    Stop { key: String },
    /// End the experiment and activate the winner's version on the slot.
    Conclude {
        key: String,
        #[arg(long)]
        winner: String,
    },
    /// Print each variant's results against the control.
    Report { key: String },
}

pub async fn run(state: &AppState, action: ExperimentCommand) -> anyhow::Result<()> {
    let ctx = &state.context;
    let cli = Principal::cli();
    match action {
        ExperimentCommand::Create { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let input: ExperimentInput = serde_json::from_str(&text)
                .with_context(|| format!("{} is not an experiment", file.display()))?;
            let created = experiments::create(&ctx.slots, input, &cli, Utc::now()).await?;
            println!(
                "created draft experiment {} on slot {} with {} variants",
                created.row.key,
                created.row.slot,
                created.variants.len()
            );
        }
        ExperimentCommand::List => {
            println!(
                "{:<32} {:<12} {:<10} {:<11} {:>8} started",
                "key", "slot", "status", "metric", "variants"
            );
            for e in experiments::list(&ctx.db, None, None).await? {
                println!(
                    "{:<32} {:<12} {:<10} {:<11} {:>8} {}",
                    e.row.key,
                    e.row.slot,
                    format!("{:?}", e.row.status).to_lowercase(),
                    format!("{:?}", e.row.metric).to_lowercase(),
                    e.variants.len(),
                    e.row
                        .started_at
                        .map(|at| at.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default()
                );
            }
        }
        ExperimentCommand::Start { key } => {
            let started = experiments::start(&ctx.slots, &key, &cli, Utc::now()).await?;
            println!("experiment {key} is running on slot {}", started.row.slot);
            resegment(state, &started.row.slot).await?;
        }
        ExperimentCommand::Stop { key } => {
            let stopped = experiments::stop(&ctx.slots, &key, &cli, Utc::now()).await?;
            println!("experiment {key} stopped");
            resegment(state, &stopped.row.slot).await?;
        }
        ExperimentCommand::Conclude { key, winner } => {
            let (concluded, bound) =
                experiments::conclude(&ctx.slots, &key, &winner, &cli, Utc::now()).await?;
            match bound {
                Some(_) => println!(
                    "experiment {key} concluded: slot {} now serves the {winner} variant",
                    concluded.row.slot
                ),
                None => println!(
                    "experiment {key} concluded: slot {} already served the {winner} variant",
                    concluded.row.slot
                ),
            }
            resegment(state, &concluded.row.slot).await?;
        }
        ExperimentCommand::Report { key } => {
            let experiment = experiments::find(&ctx.db, &key).await?;
            let results = results::results(&ctx.db, &experiment).await?;
            print!("{}", report(&experiment, &results));
        }
    }
    Ok(())
}

async fn resegment(state: &AppState, slot: &str) -> anyhow::Result<()> {
    let segmenter = state
        .context
        .slots
        .binding(slot)
        .is_some_and(|b| b.kind == PluginKind::Segmenter);
    if segmenter {
        segment_with_progress(state, slot).await?;
    }
    Ok(())
}

fn percent(value: f64) -> String {
    format!("{:.2}%", value * 100.0)
}

fn signed_percent(value: f64) -> String {
    format!("{:+.1}%", value * 100.0)
}

fn yuan(minor: f64) -> String {
    format!("{:.2}", minor / 100.0)
}

/// The uplift column: relative change with its interval, p-value and chance to
/// beat the control.
fn uplift(comparison: &Result<MetricComparison, Unavailable>) -> String {
    match comparison {
        Ok(c) => match &c.relative {
            Ok(relative) => format!(
                "{} [{}, {}]  p={:.4}{}  P(beat)={:.1}%",
                signed_percent(relative.value),
                signed_percent(relative.interval.low),
                signed_percent(relative.interval.high),
                c.p_value,
                if c.significant { " *" } else { "" },
                c.chance_to_beat_control * 100.0
            ),
            Err(why) => format!("n/a ({why})"),
        },
        Err(why) => format!("n/a ({why})"),
    }
}

/// The report as a table, one row per variant, the primary metric's uplift last.
fn report(experiment: &Experiment, results: &Results) -> String {
    let row = &experiment.row;
    let mut out = format!(
        "experiment {} — {:?} on slot {}, metric {:?}, window {} days, coverage {}\n",
        row.key,
        row.status,
        row.slot,
        row.metric,
        row.conversion_window_days,
        percent(row.coverage)
    )
    .to_lowercase();
    out.push_str(&format!(
        "{:<16} {:>7} {:>9} {:>10} {:>9} {:>12} {:>11}  uplift vs control (95% CI)\n",
        "variant", "weight", "exposed", "converters", "rate", "revenue/cust", "mean order"
    ));
    for (index, (variant, outcome)) in experiment
        .variants
        .iter()
        .zip(&results.outcomes)
        .enumerate()
    {
        let summary = &results.analysis.variants[index];
        let comparison = results
            .analysis
            .comparisons
            .iter()
            .find(|c| c.variant == index);
        let uplift = match comparison {
            None => "(control)".to_owned(),
            Some(c) if results.metric == ExperimentMetric::Revenue => uplift(&c.revenue),
            Some(c) => uplift(&c.conversion),
        };
        out.push_str(&format!(
            "{:<16} {:>7.3} {:>9} {:>10} {:>9} {:>12} {:>11}  {uplift}\n",
            variant.key,
            variant.weight,
            outcome.exposed,
            outcome.converters,
            summary
                .conversion_rate
                .map(percent)
                .unwrap_or_else(|_| "n/a".into()),
            summary
                .revenue_per_customer
                .map(yuan)
                .unwrap_or_else(|_| "n/a".into()),
            outcome
                .mean_order_value()
                .map(yuan)
                .unwrap_or_else(|| "n/a".into()),
        ));
    }
    match &results.analysis.sample_ratio {
        Ok(srm) => out.push_str(&format!(
            "sample ratio: chi-square {:.2}, p = {:.4}{}\n",
            srm.statistic,
            srm.p_value,
            if srm.mismatch {
                " — MISMATCH: exposures are off the weights, the results are suspect"
            } else {
                " — ok"
            }
        )),
        Err(why) => out.push_str(&format!("sample ratio: n/a ({why})\n")),
    }
    out
}

/// `retain plugin shadow`: the comparison with a progress bar, then the report.
pub async fn shadow(
    state: &AppState,
    slot: &str,
    candidate: &str,
    config: Option<String>,
) -> anyhow::Result<()> {
    let bar = progress_bar();
    let report = shadow::compare_published(
        &state.context,
        slot,
        candidate,
        parse_config(config)?,
        &|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
    )
    .await?;
    bar.finish_and_clear();
    print!("{}", shadow_table(&report));
    Ok(())
}

/// Agreement, the distribution of both versions and the transition matrix.
pub fn shadow_table(report: &ShadowReport) -> String {
    let mut out = format!(
        "slot {}: {} (active) vs {} (candidate) on {} customers — {} agree\n",
        report.slot,
        report.active,
        report.candidate,
        report.customers,
        percent(report.agreement())
    );
    let active: Vec<&str> = report
        .active_segments
        .iter()
        .map(|s| s.segment.as_str())
        .collect();
    let candidate: Vec<&str> = report
        .candidate_segments
        .iter()
        .map(|s| s.segment.as_str())
        .collect();
    out.push_str(&format!("{:<16}", "today \\ candidate"));
    for to in &candidate {
        out.push_str(&format!(" {to:>14}"));
    }
    out.push_str(&format!(" {:>14}\n", "total"));
    for from in &active {
        out.push_str(&format!("{from:<16}"));
        for to in &candidate {
            let count = report
                .transitions
                .iter()
                .find(|t| t.from == *from && t.to == *to)
                .map_or(0, |t| t.customers);
            out.push_str(&format!(" {count:>14}"));
        }
        let total: u64 = report
            .active_segments
            .iter()
            .find(|s| s.segment == *from)
            .map_or(0, |s| s.customers);
        out.push_str(&format!(" {total:>14}\n"));
    }
    out.push_str(&format!("{:<16}", "total"));
    for count in &report.candidate_segments {
        out.push_str(&format!(" {:>14}", count.customers));
    }
    out.push_str(&format!(" {:>14}\n", report.customers));
    out
}
