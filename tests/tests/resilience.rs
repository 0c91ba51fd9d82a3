//! Retries, concurrency and shutdown: a retried order placement never places two
//! orders, and shutting down finishes the requests in flight.

use retain_tests::{Backend, TestGateway, on_both_backends};
use serde_json::json;

const PLACE: &str = "mutation($c: ID!, $p: ID!, $q: Int!, $k: String) { placeOrder(input: { customerId: $c, channel: APP, items: [{ productId: $p, quantity: $q }], idempotencyKey: $k }) { id orderNumber total { minor } } }";

async fn retried_order_placements_place_one_order(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let customer = gw
        .query(
            r#"mutation { createCustomer(input: { externalId: "r", name: "Retry" }) { id } }"#,
            json!({}),
        )
        .await["createCustomer"]["id"]
        .clone();
    let product = gw
        .query(
            r#"mutation { createProduct(input: { sku: "R", name: "Rope", category: "outdoor", priceMinor: 1200 }) { id } }"#,
            json!({}),
        )
        .await["createProduct"]["id"]
        .clone();
    let vars =
        |quantity: i32, key: &str| json!({ "c": customer, "p": product, "q": quantity, "k": key });

    let first = gw.query(PLACE, vars(2, "checkout-1")).await["placeOrder"].clone();
    let retry = gw.query(PLACE, vars(2, "checkout-1")).await["placeOrder"].clone();
    assert_eq!(first, retry, "the retry answers with the first order");

    let reused = gw.error(PLACE, vars(3, "checkout-1")).await;
    assert_eq!(reused["extensions"]["code"], "CONFLICT");
    assert_eq!(reused["extensions"]["field"], "idempotencyKey");

    // Retries racing each other: one order, every request answered with it.
    let racing = (0..8).map(|_| gw.post(PLACE, vars(1, "checkout-2")));
    let replies = futures::future::join_all(racing).await;
    let ids: Vec<_> = replies
        .iter()
        .map(|reply| {
            assert!(reply.body.get("errors").is_none(), "{:#}", reply.body);
            reply.body["data"]["placeOrder"]["id"].clone()
        })
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");

    // Without a key, each request is an order of its own.
    gw.query(PLACE, json!({ "c": customer, "p": product, "q": 1 }))
        .await;
    let count = gw
        .query(
            "query($c: ID!) { customer(id: $c) { orders { totalCount } } }",
            json!({ "c": customer }),
        )
        .await;
    assert_eq!(count["customer"]["orders"]["totalCount"], 3);
}

async fn shutdown_finishes_requests_in_flight(backend: Backend) {
    // Each loader batch waits 800 ms, so the request below is still running when
    // the shutdown begins.
    let gw = TestGateway::start_with(backend, |s| s.limits.batch_window_ms = 800).await;
    gw.query(
        r#"mutation { createCustomer(input: { externalId: "s", name: "Slow", tags: ["a"] }) { id } }"#,
        json!({}),
    )
    .await;
    let client = gw.client.clone();
    let url = gw.url("/graphql");
    let in_flight = tokio::spawn(async move {
        client
            .post(url)
            .json(&json!({ "query": "{ customers(first: 1) { edges { node { name tags } } } }" }))
            .send()
            .await
            .expect("the request in flight is answered")
            .json::<serde_json::Value>()
            .await
            .expect("a JSON body")
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let address = gw.url("/healthz");
    gw.shut_down().await;
    let body = in_flight.await.unwrap();
    assert_eq!(
        body["data"]["customers"]["edges"][0]["node"]["tags"],
        json!(["a"]),
        "{body:#}"
    );
    assert!(
        reqwest::get(address).await.is_err(),
        "no new connections after shutdown"
    );
}

on_both_backends!(
    retried_order_placements_place_one_order,
    shutdown_finishes_requests_in_flight,
);
