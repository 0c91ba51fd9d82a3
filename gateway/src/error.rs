//! The error every service returns. One place (`graphql::errors`) turns it into a
//! GraphQL error with `extensions.code`, hiding internals from clients.

use sea_orm::{DbErr, SqlErr};

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
        match err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Self::Unavailable(err),
            other => Self::Database(other),
        }
    }
}
