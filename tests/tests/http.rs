//! GraphQL over HTTP, limits, health, metrics, and the cost of nested queries.

use std::path::PathBuf;
use std::process::Command;

use retain_gateway::cli::{self, Cli};
use retain_tests::{Backend, Reply, TestGateway, on_both_backends};
use serde_json::json;

const NESTED: &str = r#"
query($first: Int!) {
  customers(first: $first) {
    edges { node { id name orders(first: 10) { edges { node { id total { minor } items { quantity product { name } } } } } } }
  }
}"#;

async fn seed(gw: &TestGateway, customers: u32) {
    use clap::Parser;
    let args = [
        "retain",
        "--database",
        gw.database_url.as_str(),
        "seed",
        "--customers",
        &customers.to_string(),
        "--seed",
        "3",
    ];
    cli::run(Cli::parse_from(args))
        .await
        .expect("seeding succeeds");
}

async fn nested_queries_cost_a_fixed_number_of_statements(backend: Backend) {
    // Replicas poll the slot table; those statements are not any request's cost.
    let gw = TestGateway::start_with(backend, |s| s.plugins.poll_interval_ms = 3_600_000).await;
    seed(&gw, 120).await;
    // A key is looked up once per replica, then verified in memory.
    gw.query("{ __typename }", json!({})).await;
    let mut costs = Vec::new();
    for first in [5, 50, 100] {
        let before = gw.sql_statements().await;
        let data = gw.query(NESTED, json!({ "first": first })).await;
        let after = gw.sql_statements().await;
        let edges = data["customers"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), first as usize);
        let orders: usize = edges
            .iter()
            .map(|e| e["node"]["orders"]["edges"].as_array().unwrap().len())
            .sum();
        assert!(
            orders > first as usize,
            "the seed gives customers orders to load"
        );
        costs.push(after - before);
    }
    // customers, their orders, the orders' items, the items' products.
    assert_eq!(
        costs,
        [4, 4, 4],
        "statements per request must not grow with the page"
    );

    // Under concurrent load too: batching does not depend on timing.
    let before = gw.sql_statements().await;
    let requests = (0..16).map(|_| gw.query(NESTED, json!({ "first": 100 })));
    futures::future::join_all(requests).await;
    assert_eq!(gw.sql_statements().await - before, 16 * 4);

    let profile = r#"{ customers(first: 100) { edges { node { tags profile { lifetimeOrders interactionsLast30Days } } } } }"#;
    let before = gw.sql_statements().await;
    gw.query(profile, json!({})).await;
    // customers, tags, and every profile's order and interaction figures.
    assert_eq!(gw.sql_statements().await - before, 3);

    // `node` fetches its one row at once; `nodes` still batches its ids.
    let page = gw
        .query(
            "{ customers(first: 3) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let ids: Vec<&str> = page["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    let before = gw.sql_statements().await;
    let one = gw
        .query(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": ids[0] }),
        )
        .await;
    assert_eq!(one["node"]["id"], ids[0]);
    assert_eq!(gw.sql_statements().await - before, 1);
    let before = gw.sql_statements().await;
    let many = gw
        .query(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": ids }),
        )
        .await;
    let found: Vec<&str> = many["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(found, ids);
    assert_eq!(
        gw.sql_statements().await - before,
        1,
        "the ids share one statement"
    );
}

async fn post(gw: &TestGateway, accept: &str, content_type: Option<&str>, body: &str) -> Reply {
    let mut request = gw
        .client
        .post(gw.url("/graphql"))
        .header("accept", accept)
        .body(body.to_string());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    Reply::read(request.send().await.unwrap()).await
}

async fn graphql_over_http_status_codes(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let gql = "application/graphql-response+json";
    let json_type = Some("application/json");

    let ok = post(&gw, gql, json_type, r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(
        (ok.status, ok.body["data"]["__typename"].as_str()),
        (200, Some("QueryRoot"))
    );
    assert!(ok.content_type.starts_with(gql));

    let legacy = post(
        &gw,
        "application/json",
        json_type,
        r#"{"query":"{ __typename }"}"#,
    )
    .await;
    assert!(legacy.content_type.starts_with("application/json"));

    let parse_error = post(&gw, gql, json_type, r#"{"query":"{"}"#).await;
    assert_eq!(parse_error.status, 400);
    assert!(parse_error.body.get("data").is_none());
    assert_eq!(
        parse_error.body["errors"][0]["extensions"]["code"],
        "GRAPHQL_PARSE_FAILED"
    );
    let parse_error_json = post(&gw, "application/json", json_type, r#"{"query":"{"}"#).await;
    assert_eq!(parse_error_json.status, 200);

    let invalid = post(&gw, gql, json_type, r#"{"query":"{ nope }"}"#).await;
    assert_eq!(invalid.status, 400);
    assert_eq!(
        invalid.body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );

    let not_json = post(&gw, gql, json_type, "{").await;
    assert_eq!(not_json.status, 400);
    let no_query = post(&gw, gql, json_type, r#"{"variables":{}}"#).await;
    assert_eq!(no_query.status, 400);
    assert_eq!(
        no_query.body["errors"][0]["message"],
        "query (or a persisted query's id) is required"
    );

    let no_content_type = post(&gw, gql, None, r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(no_content_type.status, 415);
    let text = post(
        &gw,
        gql,
        Some("text/plain"),
        r#"{"query":"{ __typename }"}"#,
    )
    .await;
    assert_eq!(text.status, 415);
    let unacceptable = post(&gw, "text/csv", json_type, r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(unacceptable.status, 406);

    let get = gw
        .client
        .get(gw.url("/graphql?query=%7B__typename%7D"))
        .header("accept", gql)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    let mutation_over_get = gw
        .client
        .get(gw.url("/graphql?query=mutation%7B__typename%7D"))
        .header("accept", gql)
        .send()
        .await
        .unwrap();
    assert_eq!(mutation_over_get.status(), 405);
    assert_eq!(mutation_over_get.headers()["allow"], "POST");

    let graphiql = gw
        .client
        .get(gw.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(graphiql.status(), 200);
    assert!(graphiql.text().await.unwrap().contains("graphiql"));
}

async fn limits_refuse_with_a_code(backend: Backend) {
    let gw = TestGateway::start_with(backend, |s| {
        s.limits.max_depth = 6;
        s.limits.max_complexity = 500;
        s.limits.max_body_bytes = 2_000;
    })
    .await;
    let deep = "{ customers(first: 1) { edges { node { orders(first: 1) { edges { node { items { product { name } } } } } } } } }";
    let reply = gw.post(deep, json!({})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body["errors"][0]["extensions"]["code"],
        "QUERY_TOO_DEEP"
    );

    let complex = "{ customers(first: 100) { edges { node { id name email phone externalId } } } }";
    let reply = gw.post(complex, json!({})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body["errors"][0]["extensions"]["code"],
        "QUERY_TOO_COMPLEX"
    );

    let padding = " ".repeat(3_000);
    let big = post(
        &gw,
        "application/graphql-response+json",
        Some("application/json"),
        &format!(r#"{{"query":"{{ __typename {padding} }}"}}"#),
    )
    .await;
    assert_eq!(big.status, 413);
    assert_eq!(
        big.body["errors"][0]["extensions"]["code"],
        "PAYLOAD_TOO_LARGE"
    );
}

async fn health_readiness_and_metrics(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    for path in ["/healthz", "/readyz"] {
        let reply = gw.client.get(gw.url(path)).send().await.unwrap();
        assert_eq!(reply.status(), 200, "{path}");
    }
    gw.query("{ __typename }", json!({})).await;
    let metrics = gw.metrics().await;
    assert!(
        metrics.contains(r#"retain_graphql_requests_total{operation="query",name="anonymous"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("retain_graphql_request_duration_seconds_bucket"));
}

/// The npm `graphql-http` audit: every check must pass, warnings included.
async fn graphql_http_audit_passes(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let audit = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("audit");
    // Both backends' audits run at once; one installs, the other waits for it.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let installing = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    if !audit.join("node_modules/graphql-http").exists() {
        let installed = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&audit)
            .status()
            .expect("npm is installed (the README's test command installs it)");
        assert!(installed.success(), "npm ci in tests/audit");
    }
    drop(installing);
    let url = gw.url("/graphql");
    let key = gw.create_key("viewer").await;
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(audit.join("audit.mjs"))
            .arg(url)
            .env("RETAIN_API_KEY", key)
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "audit failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

on_both_backends!(
    nested_queries_cost_a_fixed_number_of_statements,
    graphql_over_http_status_codes,
    limits_refuse_with_a_code,
    health_readiness_and_metrics,
    graphql_http_audit_passes,
);
