//! An A/B experiment on a slot: two or more plugin versions (variants) with
//! weights, served to a share of customers (coverage) chosen by hashing.

use sea_orm::entity::prelude::*;

use super::{ExperimentMetric, ExperimentStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "experiments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Stable, unique name, e.g. `tier-thresholds-2026-12`; the default hash seed.
    #[sea_orm(unique)]
    pub key: String,
    pub name: String,
    pub description: String,
    pub slot: String,
    pub status: ExperimentStatus,
    pub metric: ExperimentMetric,
    /// Share of customers enrolled, 0–1.
    pub coverage: f64,
    pub conversion_window_days: i32,
    pub seed: String,
    /// Raised to re-assign everyone; exposures of older versions are ignored.
    pub bucket_version: i32,
    /// Raised whenever weights or coverage change, so readers know whether the
    /// hash alone still gives every customer's variant.
    pub revision: i32,
    /// The key of the variant the experiment was concluded with.
    pub winner: Option<String>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub stopped_at: Option<DateTimeUtc>,
    pub concluded_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
