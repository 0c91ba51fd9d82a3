//! API keys: created with a role, shown once, stored as a SHA-256 hash, revocable.
//!
//! A key reads `rk_<prefix>_<secret>`: the prefix (public, unique) finds the row,
//! the hash of the whole key proves it. Keys are 128-bit random, so a plain hash
//! is enough; password hashing would only slow every request down.

use chrono::{DateTime, Utc};
use rand::RngCore;
use retain_schema::{Role, api_key};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set, TransactionSession, TransactionTrait,
};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::error::{ServiceError, ServiceResult};
use crate::services::{audit, validate};

/// How every key starts, which tells keys from identity-provider tokens.
pub const SCHEME: &str = "rk_";

/// A key just created: the stored row, and the key itself, which is never
/// available again.
#[derive(Debug)]
pub struct CreatedKey {
    pub key: api_key::Model,
    pub secret: String,
}

/// The prefix of a presented key, if it has the shape of one of ours.
pub fn prefix_of(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(SCHEME)?;
    let (prefix, secret) = rest.split_once('_')?;
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(prefix, 12) && hex(secret, 32)).then(|| &token[..SCHEME.len() + 12])
}

/// Hex SHA-256 of a whole key, as stored.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0_u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

/// Creates a key named `name` with `role`, audited.
pub async fn create<C>(
    db: &C,
    name: &str,
    role: Role,
    actor: &Principal,
    now: DateTime<Utc>,
) -> ServiceResult<CreatedKey>
where
    C: ConnectionTrait + TransactionTrait,
{
    let name = validate::text("name", name, 100)?;
    let prefix = format!("{SCHEME}{}", random_hex(6));
    let secret = format!("{prefix}_{}", random_hex(16));
    let txn = db.begin().await?;
    let key = api_key::ActiveModel {
        name: Set(name.clone()),
        role: Set(role),
        prefix: Set(prefix),
        secret_hash: Set(hash(&secret)),
        created_at: Set(now),
        created_by: Set(actor.name.clone()),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| ServiceError::on_insert(e, "name", format!("a key named {name} exists")))?;
    audit::record(
        &txn,
        actor,
        "key.create",
        &key.name,
        json!({ "role": role, "prefix": key.prefix }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(CreatedKey { key, secret })
}

/// Every key, newest first.
pub async fn list<C: ConnectionTrait>(db: &C) -> ServiceResult<Vec<api_key::Model>> {
    Ok(api_key::Entity::find()
        .order_by_desc(api_key::Column::Id)
        .all(db)
        .await?)
}

/// The key with this prefix, revoked or not.
pub async fn by_prefix<C: ConnectionTrait>(
    db: &C,
    prefix: &str,
) -> ServiceResult<Option<api_key::Model>> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::Prefix.eq(prefix))
        .one(db)
        .await?)
}

/// Revokes the key named `reference` (its name or prefix), audited. Requests with it
/// fail from then on; revoking twice changes nothing.
pub async fn revoke<C>(
    db: &C,
    reference: &str,
    actor: &Principal,
    now: DateTime<Utc>,
) -> ServiceResult<api_key::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let key = api_key::Entity::find()
        .filter(
            Condition::any()
                .add(api_key::Column::Name.eq(reference))
                .add(api_key::Column::Prefix.eq(reference)),
        )
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::not_found("API key", reference))?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let txn = db.begin().await?;
    let mut active: api_key::ActiveModel = key.into();
    active.revoked_at = Set(Some(now));
    let key = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        "key.revoke",
        &key.name,
        json!({ "prefix": key.prefix }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(key)
}

/// Which of `prefixes` belong to revoked keys.
pub async fn revoked_among<C: ConnectionTrait>(
    db: &C,
    prefixes: Vec<String>,
) -> ServiceResult<Vec<String>> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::Prefix.is_in(prefixes))
        .filter(api_key::Column::RevokedAt.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .map(|key| key.prefix)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_keys_have_a_prefix() {
        let key = format!("rk_{}_{}", "a1".repeat(6), "0f".repeat(16));
        assert_eq!(prefix_of(&key), Some(&key[..15]));
        assert_eq!(prefix_of("rk_short_0f"), None);
        assert_eq!(prefix_of(&key.replace("rk_", "xx_")), None);
        assert_eq!(prefix_of(&format!("{key}0")), None);
        assert_eq!(prefix_of(&key.replace('f', "g")), None);
    }
}
