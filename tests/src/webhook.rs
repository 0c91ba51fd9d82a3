//! A channel provider's webhook endpoint for tests: a real HTTP server on a
//! free port that records every delivery and can be told to fail, so retries,
//! dead letters and signatures are exercised end to end.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;

/// One delivery as it arrived.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The path's channel segment: `/email` gives `email`.
    pub channel: String,
    pub idempotency_key: String,
    pub timestamp: String,
    pub signature: String,
    pub raw: Vec<u8>,
    pub body: Value,
    /// Whether this receiver answered 2xx.
    pub accepted: bool,
}

#[derive(Default)]
struct Inbox {
    deliveries: Vec<Delivery>,
    /// Per channel: answer 503 to this many more requests (`u32::MAX`: always).
    failing: std::collections::HashMap<String, u32>,
}

/// The receiver; deliveries go to `url(channel)`.
#[derive(Clone)]
pub struct WebhookReceiver {
    address: String,
    inbox: Arc<Mutex<Inbox>>,
}

impl WebhookReceiver {
    pub async fn start() -> Self {
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let app = Router::new()
            .route("/{channel}", post(receive))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let address = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { address, inbox }
    }

    pub fn url(&self, channel: &str) -> String {
        format!("{}/{channel}", self.address)
    }

    /// Answers 503 to the next `requests` deliveries on `channel`.
    pub fn fail(&self, channel: &str, requests: u32) {
        self.inbox
            .lock()
            .unwrap()
            .failing
            .insert(channel.to_owned(), requests);
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inbox.lock().unwrap().deliveries.clone()
    }

    /// Waits until `accepted` deliveries were accepted, or panics after `limit`.
    pub async fn wait_for_accepted(&self, accepted: usize, limit: Duration) -> Vec<Delivery> {
        let started = Instant::now();
        loop {
            let deliveries = self.deliveries();
            if deliveries.iter().filter(|d| d.accepted).count() >= accepted {
                return deliveries;
            }
            assert!(
                started.elapsed() < limit,
                "only {} of {accepted} deliveries accepted in {limit:?}: {deliveries:#?}",
                deliveries.iter().filter(|d| d.accepted).count()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let mut inbox = inbox.lock().unwrap();
    let failing = inbox.failing.entry(channel.clone()).or_default();
    let accepted = *failing == 0;
    if !accepted && *failing != u32::MAX {
        *failing -= 1;
    }
    inbox.deliveries.push(Delivery {
        channel,
        idempotency_key: header("idempotency-key"),
        timestamp: header("x-retain-timestamp"),
        signature: header("x-retain-signature"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        raw: body.to_vec(),
        accepted,
    });
    if accepted {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}
