//! The error every service returns. One place (`graphql::errors`) turns it into a
//! GraphQL error with `extensions.code`, hiding internals from clients.

use sea_orm::{DbErr, RuntimeErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The caller sent something we refuse; `field` names it, as a path into the input.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    /// The request clashes with what is stored (a duplicate key, an illegal transition).
    #[error("{field}: {reason}")]
    Conflict { field: String, reason: String },
    /// A points debit asked for more than the customer holds.
    #[error("points: insufficient balance: {available} available, {requested} requested")]
    InsufficientPoints { available: i64, requested: i64 },
    /// A rule file that does not parse or check, with every error and its place.
    #[error("source: {0}")]
    Rules(retain_rules::RuleErrors),
    /// A strategy plugin failed where no fallback applies (a segmentation run).
    #[error("plugin {plugin} {reason}")]
    Plugin { plugin: String, reason: String },
    #[error("database unavailable")]
    Unavailable(#[source] DbErr),
    #[error("database error")]
    Database(#[source] DbErr),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn conflict(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Conflict {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            entity,
            id: id.to_string(),
        }
    }
}

impl ServiceError {
    /// An insert refused by a unique index (a racing duplicate that got past the
    /// check) is a conflict on `field`, not an internal error.
    pub fn on_insert(err: DbErr, field: &str, reason: impl Into<String>) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::conflict(field, reason),
            _ => err.into(),
        }
    }
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        if lost_connection(&err) {
            Self::Unavailable(err)
        } else {
            Self::Database(err)
        }
    }
}

/// Whether `err` means the database cannot be reached (down, restarting, pool
/// exhausted) rather than that a statement failed: the first is worth a retry.
fn lost_connection(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause)) => {
            match cause.as_ref() {
                Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => true,
                // The server going down mid-session: admin shutdown, crash
                // recovery, "cannot connect now" (class 57P).
                Sqlx::Database(db) => db.code().is_some_and(|code| code.starts_with("57P")),
                _ => false,
            }
        }
        _ => false,
    }
}
