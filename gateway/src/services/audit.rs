//! The audit log: every privileged change, written in the same transaction as the
//! change itself, so neither exists without the other.

use chrono::{DateTime, Utc};
use retain_schema::audit_entry;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::auth::Principal;
use crate::error::ServiceResult;

/// Appends one entry: `actor` did `action` to `target`, with `detail`.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    actor: &Principal,
    action: &str,
    target: impl Into<String>,
    detail: serde_json::Value,
    at: DateTime<Utc>,
) -> ServiceResult<audit_entry::Model> {
    let mut target: String = target.into();
    // The column holds 256 characters; a target is an id or a name, so cutting a
    // longer one loses nothing an auditor needs that `detail` does not keep.
    if let Some((cut, _)) = target.char_indices().nth(256) {
        target.truncate(cut);
    }
    let entry = audit_entry::ActiveModel {
        at: Set(at),
        actor: Set(actor.name.clone()),
        actor_role: Set(actor.role),
        action: Set(action.into()),
        target: Set(target),
        detail: Set(detail),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(entry)
}
