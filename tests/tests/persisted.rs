//! Persisted queries: operations sent by id, and allow-list mode, over real HTTP.

use retain_tests::{Backend, Reply, TestGateway, on_both_backends};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const REGISTERED: &str = "query CustomerCount { customers(first: 1) { totalCount } }";
const UNREGISTERED: &str = "query Products { products(first: 1) { totalCount } }";
const NOT_ALLOWED: &str = "PERSISTED_QUERY_NOT_ALLOWED";
const NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A gateway with a manifest holding [`REGISTERED`]; the manifest's directory lives
/// as long as the returned guard.
async fn gateway(backend: Backend, allow_list: bool) -> (TestGateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let manifest = dir.path().join("persisted-queries.json");
    let body = json!({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            { "id": sha256(REGISTERED), "name": "CustomerCount", "type": "query", "body": REGISTERED },
        ],
    });
    std::fs::write(&manifest, body.to_string()).expect("writing the manifest");
    let gateway = TestGateway::start_with(backend, |settings| {
        settings.persisted_queries.manifest = Some(manifest);
        settings.persisted_queries.allow_list = allow_list;
    })
    .await;
    (gateway, dir)
}

/// POSTs `body` as-is with `key`.
async fn post(gateway: &TestGateway, key: &str, body: Value) -> Reply {
    let response = reqwest::Client::new()
        .post(gateway.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("the gateway answers");
    Reply::read(response).await
}

fn error_code(reply: &Reply) -> &str {
    reply.body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {:#}", reply.body))
}

fn total_count(reply: &Reply) -> i64 {
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    reply.body["data"]["customers"]["totalCount"]
        .as_i64()
        .unwrap_or_else(|| panic!("no count in {:#}", reply.body))
}

async fn registered_operations_run_by_id(backend: Backend) {
    let (gateway, _manifest) = gateway(backend, false).await;
    let viewer = gateway.create_key("viewer").await;
    let apollo = json!({
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256(REGISTERED) } }
    });
    assert_eq!(total_count(&post(&gateway, &viewer, apollo).await), 0);
    let document_id = json!({ "documentId": format!("sha256:{}", sha256(REGISTERED)) });
    assert_eq!(total_count(&post(&gateway, &viewer, document_id).await), 0);

    // GET, as CDNs cache it: the id in the query string.
    let response = reqwest::Client::new()
        .get(gateway.url("/graphql"))
        .query(&[("documentId", sha256(REGISTERED))])
        .header("accept", "application/graphql-response+json")
        .bearer_auth(&viewer)
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(total_count(&Reply::read(response).await), 0);

    let unknown = post(
        &gateway,
        &viewer,
        json!({ "documentId": sha256(UNREGISTERED) }),
    )
    .await;
    assert_eq!(unknown.status, 400, "{:#}", unknown.body);
    assert_eq!(error_code(&unknown), NOT_FOUND);
    assert!(unknown.body.get("data").is_none(), "{:#}", unknown.body);

    // Without the allow-list, any document still runs.
    let free = post(&gateway, &viewer, json!({ "query": UNREGISTERED })).await;
    assert_eq!(
        free.body["data"]["products"]["totalCount"], 0,
        "{:#}",
        free.body
    );

    // Requests are labelled by operation name in the latency histogram.
    let metrics = gateway.metrics().await;
    assert!(
        metrics
            .contains(r#"retain_graphql_requests_total{operation="query",name="CustomerCount"} 3"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"retain_graphql_request_duration_seconds_count{operation="query",name="Products"} 1"#
        ),
        "{metrics}"
    );
}

async fn the_allow_list_runs_registered_operations_only(backend: Backend) {
    let (gateway, _manifest) = gateway(backend, true).await;
    let viewer = gateway.create_key("viewer").await;
    let by_id = json!({ "documentId": sha256(REGISTERED) });
    assert_eq!(total_count(&post(&gateway, &viewer, by_id).await), 0);
    // The exact registered text is as good as its id.
    let by_text = json!({ "query": REGISTERED });
    assert_eq!(total_count(&post(&gateway, &viewer, by_text).await), 0);

    for document in [
        UNREGISTERED,
        "query CustomerCount { customers(first: 2) { totalCount } }",
    ] {
        let refused = post(&gateway, &viewer, json!({ "query": document })).await;
        assert_eq!(refused.status, 400, "{:#}", refused.body);
        assert_eq!(error_code(&refused), NOT_ALLOWED);
        assert!(refused.body.get("data").is_none(), "{:#}", refused.body);
    }
    let mutation = "mutation { createApiKey(name: \"sneaky\", role: ADMIN) { key } }";
    let refused = post(&gateway, &viewer, json!({ "query": mutation })).await;
    assert_eq!(error_code(&refused), NOT_ALLOWED);

    // Admins stay exempt, so operators can still investigate.
    let admin = gateway.post(UNREGISTERED, json!({})).await;
    assert_eq!(
        admin.body["data"]["products"]["totalCount"], 0,
        "{:#}",
        admin.body
    );

    let metrics = gateway.metrics().await;
    assert!(
        metrics.contains(&format!(
            r#"retain_graphql_errors_total{{code="{NOT_ALLOWED}"}} 3"#
        )),
        "{metrics}"
    );
}

on_both_backends!(
    registered_operations_run_by_id,
    the_allow_list_runs_registered_operations_only,
);
