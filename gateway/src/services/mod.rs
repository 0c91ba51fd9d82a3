//! Domain services: the logic that GraphQL resolvers and CLI commands both call.
//! Each validates its whole input before writing, and writes in one transaction.

pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod campaigns;
pub mod catalog;
pub mod customers;
pub mod events;
pub mod experiments;
pub mod features;
pub mod feedback;
pub mod interactions;
pub mod loyalty;
pub mod orders;
pub mod profile;
pub mod recommendations;
pub mod refunds;
pub mod rules;
pub mod segmentation;
pub mod shadow;
pub mod validate;

use std::collections::HashMap;

/// Child rows grouped under their parents' ids, in the rows' order. Every parent
/// gets an entry, so callers can tell "none" from "not loaded".
pub fn group_by_parent<R>(
    parent_ids: &[i64],
    rows: impl IntoIterator<Item = R>,
    parent_of: impl Fn(&R) -> i64,
) -> HashMap<i64, Vec<R>> {
    let mut groups: HashMap<i64, Vec<R>> = parent_ids.iter().map(|id| (*id, Vec::new())).collect();
    for row in rows {
        groups.entry(parent_of(&row)).or_default().push(row);
    }
    groups
}
