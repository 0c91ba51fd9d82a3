//! A running experiment as every replica serves it: its variants compiled, and
//! the assignment of customers to variants — sticky once a customer was exposed,
//! hashed as GrowthBook does otherwise.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use retain_schema::{experiment, experiment_exposure};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::assignment::{Assignment, HASH_VERSION};
use super::exposures::Exposure;
use crate::error::ServiceResult;
use crate::plugins::slots::{Binding, Version};

/// A running experiment on one slot.
#[derive(Debug)]
pub struct LiveExperiment {
    pub id: i64,
    pub key: String,
    pub bucket_version: i32,
    /// Changes whenever weights or coverage change (see [`Self::stamp`]).
    pub revision: i32,
    assignment: Assignment,
    conversion_window: chrono::Duration,
    /// By position; 0 is the control.
    pub variants: Vec<Version>,
}

/// A customer's place in a running experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enrolment {
    pub experiment_id: i64,
    pub bucket_version: i32,
    /// The variant's position.
    pub variant: usize,
}

/// A customer as assignment sees them: the database id and the id GrowthBook
/// SDKs are given (the shop's own `external_id`).
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub id: i64,
    pub external_id: &'a str,
}

impl LiveExperiment {
    pub fn new(row: &experiment::Model, weights: &[f64], variants: Vec<Version>) -> Self {
        Self {
            id: row.id,
            key: row.key.clone(),
            bucket_version: row.bucket_version,
            revision: row.revision,
            assignment: Assignment::new(
                &row.key,
                Some(&row.seed),
                HASH_VERSION,
                weights,
                row.coverage,
            ),
            conversion_window: chrono::Duration::days(i64::from(row.conversion_window_days)),
            variants,
        }
    }

    /// What identifies a state of an experiment: a replica rebinds the slot when
    /// it changes.
    pub fn stamp_of(row: &experiment::Model) -> (i64, i32, i32) {
        (row.id, row.revision, row.bucket_version)
    }

    pub fn stamp(&self) -> (i64, i32, i32) {
        (self.id, self.revision, self.bucket_version)
    }

    /// The variant the hash gives `external_id` under the current weights, or
    /// none when the customer falls outside the coverage.
    pub fn hashed_variant(&self, external_id: &str) -> Option<usize> {
        self.assignment.variant(external_id)
    }

    /// Whether stored exposures may disagree with the hash: only once weights or
    /// coverage changed after the first revision. Until then the hash alone is
    /// the assignment and serving needs no lookup.
    fn sticky_lookup_needed(&self) -> bool {
        self.revision > 1
    }

    /// The exposure a customer's first service logs.
    pub fn exposure(&self, enrolment: Enrolment, customer_id: i64, at: DateTime<Utc>) -> Exposure {
        Exposure {
            experiment_id: self.id,
            bucket_version: self.bucket_version,
            customer_id,
            variant: enrolment.variant as i32,
            exposed_at: at,
            converts_until: at + self.conversion_window,
        }
    }
}

/// Each subject's enrolment in `binding`'s running experiment, in order; all
/// `None` when the slot runs none. A customer already exposed keeps the variant
/// they were exposed to, whatever the weights say now.
pub async fn enrolments(
    db: &impl ConnectionTrait,
    binding: &Binding,
    subjects: &[Subject<'_>],
) -> ServiceResult<Vec<Option<Enrolment>>> {
    let Some(live) = &binding.experiment else {
        return Ok(vec![None; subjects.len()]);
    };
    let sticky: HashMap<i64, usize> = if live.sticky_lookup_needed() {
        experiment_exposure::Entity::find()
            .filter(experiment_exposure::Column::ExperimentId.eq(live.id))
            .filter(experiment_exposure::Column::BucketVersion.eq(live.bucket_version))
            .filter(experiment_exposure::Column::CustomerId.is_in(subjects.iter().map(|s| s.id)))
            .all(db)
            .await?
            .into_iter()
            .filter_map(|e| Some((e.customer_id, usize::try_from(e.variant).ok()?)))
            .collect()
    } else {
        HashMap::new()
    };
    Ok(subjects
        .iter()
        .map(|subject| {
            let variant = sticky
                .get(&subject.id)
                .copied()
                .filter(|v| *v < live.variants.len())
                .or_else(|| live.hashed_variant(subject.external_id))?;
            Some(Enrolment {
                experiment_id: live.id,
                bucket_version: live.bucket_version,
                variant,
            })
        })
        .collect())
}

/// The version that serves a customer with `enrolment` in `binding`: their
/// variant's, or the slot's serving version for everyone not enrolled.
pub fn version_for(binding: &Binding, enrolment: Option<Enrolment>) -> Option<&Version> {
    match (enrolment, &binding.experiment) {
        (Some(enrolment), Some(live)) => live.variants.get(enrolment.variant),
        _ => binding.serving(),
    }
}
