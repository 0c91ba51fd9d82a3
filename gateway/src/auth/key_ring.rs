//! The keys this replica has verified, kept in memory so a request costs no SQL
//! statement to authenticate. Revocation through this replica takes effect at
//! once; a revocation made through another replica reaches this one within one
//! poll interval (`plugins.poll_interval_ms`, the same clock as slot changes).
//!
//! Only keys this replica has not verified yet cost a lookup, and those lookups are
//! rate-limited for the whole replica (`limits.key_lookups_per_second`): a flood of
//! made-up keys is refused with 429 instead of becoming a flood of SQL statements,
//! while verified keys keep working.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use sea_orm::DatabaseConnection;

use crate::auth::Principal;
use crate::config::Limits;
use crate::error::ServiceError;
use crate::services::api_keys;

/// Why a request could not be authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("send an API key as `Authorization: Bearer <key>`")]
    Missing,
    #[error("the API key is unknown or revoked")]
    Invalid,
    /// An identity-provider token that failed a check.
    #[error(transparent)]
    Token(#[from] crate::auth::jwt::TokenRefused),
    #[error("the database is unavailable, try again shortly")]
    Unavailable(#[source] ServiceError),
    /// Too many unknown keys are being tried at once; wait this long.
    #[error("too many unknown API keys are being tried; retry shortly")]
    Throttled(Duration),
}

/// A verified key: the hash that proved it, and who it is.
struct Verified {
    hash: String,
    principal: Principal,
}

pub struct KeyRing {
    /// By key prefix.
    verified: RwLock<HashMap<String, Verified>>,
    /// Database lookups of keys not verified yet; None when unlimited.
    lookups: Option<DefaultDirectRateLimiter>,
    clock: DefaultClock,
}

impl KeyRing {
    pub fn new(limits: &Limits) -> Self {
        let lookups = NonZeroU32::new(limits.key_lookups_per_second).map(|rate| {
            // A second's worth of burst: a replica starting under load verifies
            // its clients' keys at once.
            RateLimiter::direct(Quota::per_second(rate))
        });
        Self {
            verified: RwLock::default(),
            lookups,
            clock: DefaultClock::default(),
        }
    }

    /// The caller holding `token`.
    pub async fn authenticate(
        &self,
        db: &DatabaseConnection,
        token: &str,
    ) -> Result<Principal, AuthError> {
        let prefix = api_keys::prefix_of(token).ok_or(AuthError::Invalid)?;
        let hash = api_keys::hash(token);
        if let Some(known) = self.read().get(prefix) {
            // Both sides are hashes of secrets, so comparing them in variable time
            // tells an attacker nothing about any key.
            return if known.hash == hash {
                Ok(known.principal.clone())
            } else {
                Err(AuthError::Invalid)
            };
        }
        if let Some(lookups) = &self.lookups {
            lookups.check().map_err(|not_until| {
                AuthError::Throttled(not_until.wait_time_from(self.clock.now()))
            })?;
        }
        let key = api_keys::by_prefix(db, prefix)
            .await
            .map_err(AuthError::Unavailable)?
            .ok_or(AuthError::Invalid)?;
        if key.revoked_at.is_some() || key.secret_hash != hash {
            return Err(AuthError::Invalid);
        }
        let principal = Principal {
            name: format!("key:{}", key.name),
            role: key.role,
        };
        self.write().insert(
            key.prefix,
            Verified {
                hash,
                principal: principal.clone(),
            },
        );
        Ok(principal)
    }

    /// Stops accepting the key with `prefix` (revoked).
    pub fn forget(&self, prefix: &str) {
        self.write().remove(prefix);
    }

    /// Polls for revocations made elsewhere, every `interval`, for as long as the
    /// ring is alive.
    pub fn watch(self: &Arc<Self>, db: DatabaseConnection, interval: Duration) {
        let ring = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(ring) = ring.upgrade() else { return };
                let known: Vec<String> = ring.read().keys().cloned().collect();
                if known.is_empty() {
                    continue;
                }
                match api_keys::revoked_among(&db, known).await {
                    Ok(revoked) => revoked.iter().for_each(|prefix| ring.forget(prefix)),
                    Err(err) => tracing::warn!("checking for revoked API keys failed: {err}"),
                }
            }
        });
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Verified>> {
        self.verified.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Verified>> {
        self.verified.write().unwrap_or_else(|e| e.into_inner())
    }
}
