//! Membership levels as customers hold them: the level slot's segment, unless a
//! retention rule keeps them at a higher level they were demoted from.
//!
//! When the level slot demotes a customer (a segmentation run or a real-time
//! reclassification), the level they leave is kept until `now + extra_months`
//! if they made at least the rule's repurchases in the last 365 days. The
//! holding is granted at the demotion and not renewed: once it ends the
//! customer holds what the slot says, until the slot promotes them again.

use std::collections::HashMap;

use chrono::{DateTime, Months, Utc};
use retain_schema::{level_holding, segment_change};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::config::LoyaltySettings;
use crate::error::ServiceResult;
use crate::services::{profile, segmentation};

/// Segment changes read at a time after a run.
const CHANGES_PER_ROUND: u64 = 1000;

/// The level a customer holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    /// The effective level's key, e.g. `gold`.
    pub key: String,
    /// What the level slot says, if it classified the customer.
    pub assigned: Option<String>,
    /// Until when a retention rule keeps `key`; none when it is `assigned`.
    pub held_until: Option<DateTime<Utc>>,
}

/// A level's place in `settings.levels`, lowest first; unknown keys rank
/// below every level.
fn rank(settings: &LoyaltySettings, level: Option<&str>) -> Option<usize> {
    level.and_then(|level| settings.levels.iter().position(|l| l == level))
}

/// The effective levels of `customer_ids` (customers with none are left out).
pub async fn effective<C: ConnectionTrait>(
    db: &C,
    settings: &LoyaltySettings,
    customer_ids: &[i64],
    now: DateTime<Utc>,
) -> ServiceResult<HashMap<i64, Level>> {
    let mut assigned = segmentation::segments_of(db, &settings.level_slot, customer_ids).await?;
    let holdings: HashMap<i64, level_holding::Model> = level_holding::Entity::find()
        .filter(level_holding::Column::CustomerId.is_in(customer_ids.iter().copied()))
        .filter(level_holding::Column::HeldUntil.gt(now))
        .all(db)
        .await?
        .into_iter()
        .map(|h| (h.customer_id, h))
        .collect();
    let mut levels = HashMap::new();
    for id in customer_ids {
        let slot_level = assigned.remove(id).map(|m| m.segment);
        if let Some(level) = combine(settings, slot_level, holdings.get(id)) {
            levels.insert(*id, level);
        }
    }
    Ok(levels)
}

/// The effective level from the slot's and an unexpired holding's: the higher.
fn combine(
    settings: &LoyaltySettings,
    slot_level: Option<String>,
    holding: Option<&level_holding::Model>,
) -> Option<Level> {
    match holding {
        Some(holding)
            if rank(settings, Some(holding.level.as_str()))
                > rank(settings, slot_level.as_deref()) =>
        {
            Some(Level {
                key: holding.level.clone(),
                assigned: slot_level,
                held_until: Some(holding.held_until),
            })
        }
        _ => slot_level.map(|key| Level {
            key: key.clone(),
            assigned: Some(key),
            held_until: None,
        }),
    }
}

/// A customer's move in the level slot.
#[derive(Debug, Clone)]
pub struct Move {
    pub customer_id: i64,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Grants holdings to the demoted customers among `moves` whom a retention
/// rule keeps; returns how many it granted.
pub async fn retain_demoted<C: ConnectionTrait>(
    txn: &C,
    settings: &LoyaltySettings,
    moves: &[Move],
    now: DateTime<Utc>,
) -> ServiceResult<u64> {
    let demoted: Vec<(&Move, u32, u32)> = moves
        .iter()
        .filter(|m| rank(settings, m.from.as_deref()) > rank(settings, m.to.as_deref()))
        .filter_map(|m| {
            let rule = settings.retention.get(m.from.as_deref()?)?;
            Some((m, rule.min_repurchases, rule.extra_months))
        })
        .collect();
    if demoted.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = demoted.iter().map(|(m, ..)| m.customer_id).collect();
    let current = effective(txn, settings, &ids, now).await?;
    let activity = profile::activity_of(txn, &ids, now).await?;
    let mut granted = 0;
    for (change, min_repurchases, extra_months) in demoted {
        let from = change.from.as_deref();
        // A longer-standing holding at this level or above stays as it is.
        let held = current
            .get(&change.customer_id)
            .filter(|l| l.held_until.is_some());
        if held.is_some_and(|l| rank(settings, Some(l.key.as_str())) >= rank(settings, from)) {
            continue;
        }
        let repurchases = activity
            .get(&change.customer_id)
            .map_or(0, |a| (a.orders_last_365_days - 1).max(0));
        if repurchases < i64::from(min_repurchases) {
            continue;
        }
        let Some(held_until) = now.checked_add_months(Months::new(extra_months)) else {
            continue;
        };
        level_holding::Entity::insert(level_holding::ActiveModel {
            customer_id: Set(change.customer_id),
            level: Set(from.unwrap_or_default().to_owned()),
            held_until: Set(held_until),
            granted_at: Set(now),
            repurchases: Set(repurchases),
        })
        .on_conflict(
            OnConflict::column(level_holding::Column::CustomerId)
                .update_columns([
                    level_holding::Column::Level,
                    level_holding::Column::HeldUntil,
                    level_holding::Column::GrantedAt,
                    level_holding::Column::Repurchases,
                ])
                .to_owned(),
        )
        .exec(txn)
        .await?;
        granted += 1;
    }
    Ok(granted)
}

/// Applies retention to the demotions of segmentation run `run_id` of the
/// level slot, a bounded number of changes at a time.
pub async fn retain_after_run<C: ConnectionTrait>(
    txn: &C,
    settings: &LoyaltySettings,
    run_id: i64,
    now: DateTime<Utc>,
) -> ServiceResult<u64> {
    let kept: Vec<&String> = settings.retention.keys().collect();
    let mut after = 0_i64;
    let mut granted = 0;
    loop {
        let changes = segment_change::Entity::find()
            .filter(segment_change::Column::RunId.eq(run_id))
            .filter(segment_change::Column::FromSegment.is_in(kept.iter().map(|k| k.as_str())))
            .filter(segment_change::Column::Id.gt(after))
            .order_by_asc(segment_change::Column::Id)
            .limit(CHANGES_PER_ROUND)
            .all(txn)
            .await?;
        let Some(last) = changes.last() else {
            return Ok(granted);
        };
        after = last.id;
        let moves: Vec<Move> = changes
            .into_iter()
            .map(|c| Move {
                customer_id: c.customer_id,
                from: c.from_segment,
                to: c.to_segment,
            })
            .collect();
        granted += retain_demoted(txn, settings, &moves, now).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding(level: &str) -> level_holding::Model {
        level_holding::Model {
            customer_id: 1,
            level: level.into(),
            held_until: Utc::now(),
            granted_at: Utc::now(),
            repurchases: 6,
        }
    }

    #[test]
    fn a_holding_counts_only_above_the_slots_level() {
        let settings = LoyaltySettings::default();
        let gold = holding("gold");
        let held = combine(&settings, Some("silver".into()), Some(&gold)).unwrap();
        assert_eq!(held.key, "gold");
        assert_eq!(held.assigned.as_deref(), Some("silver"));
        assert_eq!(held.held_until, Some(gold.held_until));
        let promoted = combine(&settings, Some("diamond".into()), Some(&gold)).unwrap();
        assert_eq!(
            (promoted.key.as_str(), promoted.held_until),
            ("diamond", None)
        );
        let same = combine(&settings, Some("gold".into()), Some(&gold)).unwrap();
        assert_eq!(same.held_until, None);
        let unclassified = combine(&settings, None, Some(&gold)).unwrap();
        assert_eq!(
            (unclassified.key.as_str(), unclassified.assigned),
            ("gold", None)
        );
        assert_eq!(combine(&settings, None, None), None);
    }

    #[test]
    fn levels_rank_lowest_first_and_unknown_below_all() {
        let settings = LoyaltySettings::default();
        assert!(rank(&settings, Some("gold")) > rank(&settings, Some("silver")));
        assert!(rank(&settings, Some("diamond")) > rank(&settings, Some("gold")));
        assert!(rank(&settings, Some("ordinary")) > rank(&settings, Some("vip")));
        assert_eq!(rank(&settings, None), rank(&settings, Some("vip")));
    }
}
