//! The segment distribution over time: how many customers each completed
//! segmentation run of a slot put in each segment.

use chrono::{DateTime, Utc};
use retain_schema::{RunStatus, segment_run, segment_run_count};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::error::ServiceResult;

/// Most runs one report shows.
pub const MAX_RUNS: u64 = 100;

/// One completed run's distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDistribution {
    pub run_id: i64,
    pub finished_at: DateTime<Utc>,
    /// Customers by segment key, largest first.
    pub segments: Vec<(String, i64)>,
}

/// The latest `runs` completed runs of `slot`, oldest first.
pub async fn distribution(
    db: &impl ConnectionTrait,
    slot: &str,
    runs: u64,
) -> ServiceResult<Vec<RunDistribution>> {
    let mut completed = segment_run::Entity::find()
        .filter(segment_run::Column::Slot.eq(slot))
        .filter(segment_run::Column::Status.eq(RunStatus::Completed))
        .order_by_desc(segment_run::Column::Id)
        .limit(runs.clamp(1, MAX_RUNS))
        .all(db)
        .await?;
    completed.reverse();
    let counts = segment_run_count::Entity::find()
        .filter(segment_run_count::Column::RunId.is_in(completed.iter().map(|r| r.id)))
        .all(db)
        .await?;
    Ok(completed
        .into_iter()
        .map(|run| {
            let mut segments: Vec<(String, i64)> = counts
                .iter()
                .filter(|c| c.run_id == run.id)
                .map(|c| (c.segment.clone(), c.customers))
                .collect();
            segments.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            RunDistribution {
                run_id: run.id,
                finished_at: run.finished_at.unwrap_or(run.started_at),
                segments,
            }
        })
        .collect())
}
