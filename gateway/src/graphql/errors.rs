//! The one place service errors become GraphQL errors: a stable `extensions.code`,
//! the offending `field`, and no internals (those go to the log).

use std::sync::Arc;

use async_graphql::{Error, ErrorExtensions};

use crate::error::ServiceError;

pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
pub const NOT_FOUND: &str = "NOT_FOUND";
pub const CONFLICT: &str = "CONFLICT";
pub const INSUFFICIENT_POINTS: &str = "INSUFFICIENT_POINTS";
pub const PLUGIN_FAILED: &str = "PLUGIN_FAILED";
pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";

impl ErrorExtensions for ServiceError {
    fn extend(&self) -> Error {
        match self {
            ServiceError::Invalid { field, reason } => Error::new(format!("{field}: {reason}"))
                .extend_with(|_, e| {
                    e.set("code", BAD_USER_INPUT);
                    e.set("field", field.as_str());
                }),
            ServiceError::Conflict { field, reason } => Error::new(format!("{field}: {reason}"))
                .extend_with(|_, e| {
                    e.set("code", CONFLICT);
                    e.set("field", field.as_str());
                }),
            ServiceError::InsufficientPoints {
                available,
                requested,
            } => Error::new(self.to_string()).extend_with(|_, e| {
                e.set("code", INSUFFICIENT_POINTS);
                e.set("field", "points");
                e.set("available", *available);
                e.set("requested", *requested);
            }),
            ServiceError::Rules(errors) => {
                let located: Vec<serde_json::Value> = errors
                    .0
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "line": e.line,
                            "column": e.column,
                            "message": e.message,
                            "hint": e.hint,
                        })
                    })
                    .collect();
                let located = async_graphql::Value::from_json(located.into())
                    .expect("numbers and strings convert");
                let first = &errors.0[0];
                Error::new(format!("source: {errors}")).extend_with(|_, e| {
                    e.set("code", BAD_USER_INPUT);
                    e.set("field", "source");
                    e.set("line", first.line as u64);
                    e.set("column", first.column as u64);
                    e.set("errors", located.clone());
                })
            }
            ServiceError::NotFound { .. } => {
                Error::new(self.to_string()).extend_with(|_, e| e.set("code", NOT_FOUND))
            }
            ServiceError::Plugin { .. } => {
                Error::new(self.to_string()).extend_with(|_, e| e.set("code", PLUGIN_FAILED))
            }
            ServiceError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                Error::new("the database is unavailable, try again shortly")
                    .extend_with(|_, e| e.set("code", SERVICE_UNAVAILABLE))
            }
            ServiceError::Database(cause) => {
                tracing::error!(error = %cause, "database error");
                Error::new("internal error")
                    .extend_with(|_, e| e.set("code", INTERNAL_SERVER_ERROR))
            }
        }
    }
}

/// `.gql()` on a service result: the only sanctioned way out of a resolver, so no
/// error leaves without its code.
pub trait GqlResultExt<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResultExt<T> for Result<T, ServiceError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.extend())
    }
}

/// Loader errors arrive shared between the fields that waited on the batch.
impl<T> GqlResultExt<T> for Result<T, Arc<ServiceError>> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.extend())
    }
}
