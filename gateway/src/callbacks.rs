//! `POST /callbacks/messages`: channels report what happened to a message
//! (delivered, opened, clicked), signed with the channel's webhook secret
//! instead of an API key, since providers call it, not users.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::json;

use crate::app::AppState;
use crate::services::campaigns::events::{self, CallbackRefused};
use crate::services::campaigns::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// Records the event; answers 204, or the refusal with its reason.
pub async fn message_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let context = &state.context;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let timestamp = header(TIMESTAMP_HEADER).and_then(|t| t.trim().parse::<i64>().ok());
    let outcome = events::callback(
        &context.db,
        &context.settings.delivery,
        &body,
        timestamp,
        header(SIGNATURE_HEADER),
        Utc::now(),
    )
    .await;
    let (status, code) = match &outcome {
        Ok(_) => return StatusCode::NO_CONTENT.into_response(),
        Err(CallbackRefused::Malformed(_)) => (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
        Err(CallbackRefused::UnknownMessage) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
        Err(CallbackRefused::BadSignature | CallbackRefused::Stale(_)) => {
            (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
        }
        Err(CallbackRefused::Service(error)) => {
            tracing::warn!(%error, "recording a message callback failed");
            (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE")
        }
    };
    let message = outcome.err().map(|e| e.to_string()).unwrap_or_default();
    (
        status,
        axum::Json(json!({ "code": code, "message": message })),
    )
        .into_response()
}
