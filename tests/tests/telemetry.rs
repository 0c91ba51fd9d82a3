//! OpenTelemetry export: the gateway's request spans reach an OTLP/HTTP
//! collector (a real HTTP server here) with the configured service name and
//! headers. One test per process, since it installs the global subscriber.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;
use retain_gateway::config::{Secret, TelemetrySettings};
use retain_gateway::telemetry;
use retain_tests::{Backend, TestGateway};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// One export as the collector received it.
#[derive(Debug, Clone)]
struct Export {
    path: String,
    content_type: String,
    api_key: String,
    body: Vec<u8>,
}

type Received = Arc<Mutex<Vec<Export>>>;

async fn collect(
    State(received): State<Received>,
    uri: Uri,
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
    received.lock().unwrap().push(Export {
        path: uri.path().to_owned(),
        content_type: header("content-type"),
        api_key: header("x-collector-key"),
        body: body.to_vec(),
    });
    StatusCode::OK
}

async fn start_collector() -> (String, Received) {
    let received = Received::default();
    let app = Router::new()
        .route("/v1/traces", post(collect))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (address, received)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    contains_bytes(haystack, needle.as_bytes())
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// A caller's W3C trace context: its trace id and the id of its span.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID: &str = "00f067aa0ba902b7";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_spans_are_exported_to_the_collector() {
    let (collector, received) = start_collector().await;
    let settings = TelemetrySettings {
        otlp_endpoint: Some(collector.clone()),
        otlp_headers: HashMap::from([("x-collector-key".to_owned(), Secret::new("k-123"))]),
        service_name: "retain-under-test".into(),
    };
    let (layer, provider) =
        telemetry::otlp_layer(&collector, &settings).expect("an exporter for the collector");
    tracing_subscriber::registry().with(layer).init();

    let gw = TestGateway::start(Backend::Sqlite).await;
    gw.query("{ customers(first: 1) { totalCount } }", json!({}))
        .await;
    // A frontend that traces its own requests sends `traceparent`.
    let traced = gw
        .client
        .post(gw.url("/graphql"))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_SPAN_ID}-01"))
        .json(&json!({ "query": "{ products(first: 1) { totalCount } }" }))
        .send()
        .await
        .expect("the gateway answers");
    assert!(traced.status().is_success());
    // Export is synchronous on the exporter's thread; wait for it off the runtime.
    tokio::task::spawn_blocking(move || provider.force_flush())
        .await
        .expect("the flush task")
        .expect("the spans are exported");

    let exports = received.lock().unwrap().clone();
    assert!(!exports.is_empty(), "the collector received no export");
    for export in &exports {
        assert_eq!(export.path, "/v1/traces");
        assert_eq!(export.content_type, "application/x-protobuf");
        assert_eq!(export.api_key, "k-123", "the configured header is sent");
    }
    let spans: Vec<&[u8]> = exports.iter().map(|e| e.body.as_slice()).collect();
    assert!(
        spans.iter().any(|b| contains(b, "retain-under-test")),
        "the service name is on the exported resource"
    );
    assert!(
        spans.iter().any(|b| contains(b, "request")
            && contains(b, "/graphql")
            && contains(b, "request_id")),
        "the GraphQL request's span is exported with its path and request id"
    );
    // OTLP carries ids as raw bytes: the caller's trace id and, as the parent
    // of the gateway's span, the caller's span id.
    let trace_id = hex::decode(TRACE_ID).unwrap();
    let parent = hex::decode(PARENT_SPAN_ID).unwrap();
    assert!(
        spans
            .iter()
            .any(|b| contains_bytes(b, &trace_id) && contains_bytes(b, &parent)),
        "the request with a traceparent continues the caller's trace"
    );
}
