//! Typed helpers for tests that build a small shop and drive strategy plugins
//! over GraphQL: publish and activate plugins, create products and customers,
//! place paid orders, segment and read segments.

use chrono::{DateTime, Utc};
use retain_gateway::plugins::bundled::BUNDLED;
use retain_gateway::seed::{self, SeedOptions};
use serde_json::{Value, json};

use crate::TestGateway;

// Tests run segmentations themselves, so activations start none in the background.
pub const PUBLISH: &str = "mutation($file: Upload!) { publishPlugin(component: $file) { alreadyPublished plugin { name version kind reference sha256 segments { key } } } }";
pub const ACTIVATE: &str = "mutation($slot: String!, $plugin: String!, $config: JSON) { activatePlugin(slot: $slot, plugin: $plugin, config: $config, resegment: false) { name kind plugin { name } } }";
pub const ROLLBACK: &str = "mutation($slot: String!) { rollbackSlot(slot: $slot, resegment: false) { name plugin { name } } }";
pub const RUN: &str = "mutation($slot: String!) { runSegmentation(slot: $slot) { status customers changed plugin { name } } }";
pub const SEGMENT_OF: &str = "query($id: ID!, $slot: String!) { customer(id: $id) { segment(slot: $slot) { key label score } } }";

pub fn bundled(slot: &str) -> &'static [u8] {
    BUNDLED
        .iter()
        .find(|b| b.slot == slot)
        .unwrap_or_else(|| panic!("a bundled plugin for {slot}"))
        .component
}

/// Seeds `customers` synthetic customers (deterministic for `seed`) with orders
/// and interactions up to `as_of`, straight into the gateway's database.
pub async fn seed_synthetic(gw: &TestGateway, customers: u64, seed: u64, as_of: DateTime<Utc>) {
    let options = SeedOptions {
        customers,
        seed,
        currency: "CNY".into(),
        as_of,
    };
    seed::seed(&gw.context.db, &options, &indicatif::ProgressBar::hidden())
        .await
        .expect("seeding");
}

/// Publishes a component over the multipart upload and returns its reference.
pub async fn publish(gw: &TestGateway, component: &[u8]) -> String {
    let reply = gw
        .upload(PUBLISH, json!({ "file": null }), "file", component)
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.body);
    assert!(reply.body.get("errors").is_none(), "{:#}", reply.body);
    reply.body["data"]["publishPlugin"]["plugin"]["reference"]
        .as_str()
        .expect("a reference")
        .to_owned()
}

pub async fn publish_error(gw: &TestGateway, component: &[u8]) -> Value {
    let reply = gw
        .upload(PUBLISH, json!({ "file": null }), "file", component)
        .await;
    let errors = reply.body["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 1, "{:#}", reply.body);
    errors[0].clone()
}

pub async fn activate(gw: &TestGateway, slot: &str, plugin: &str, config: Value) {
    gw.query(
        ACTIVATE,
        json!({ "slot": slot, "plugin": plugin, "config": config }),
    )
    .await;
}

pub async fn run_segmentation(gw: &TestGateway, slot: &str) -> Value {
    gw.query(RUN, json!({ "slot": slot })).await["runSegmentation"].clone()
}

pub async fn segment(gw: &TestGateway, customer: &str, slot: &str) -> Value {
    gw.query(SEGMENT_OF, json!({ "id": customer, "slot": slot }))
        .await["customer"]["segment"]
        .clone()
}

pub async fn segment_key(gw: &TestGateway, customer: &str, slot: &str) -> String {
    segment(gw, customer, slot).await["key"]
        .as_str()
        .unwrap_or("none")
        .to_owned()
}

pub async fn product(gw: &TestGateway, sku: &str, price_minor: i64) -> String {
    let data = gw
        .query(
            "mutation($input: ProductInput!) { createProduct(input: $input) { id } }",
            json!({ "input": { "sku": sku, "name": format!("Product {sku}"), "category": "home", "priceMinor": price_minor } }),
        )
        .await;
    data["createProduct"]["id"].as_str().unwrap().to_owned()
}

pub async fn customer(gw: &TestGateway, external_id: &str, tags: &[&str]) -> String {
    let data = gw
        .query(
            "mutation($input: CustomerInput!) { createCustomer(input: $input) { id } }",
            json!({ "input": { "externalId": external_id, "name": external_id, "tags": tags } }),
        )
        .await;
    data["createCustomer"]["id"].as_str().unwrap().to_owned()
}

/// Places and pays an order of `lines` (product id, quantity).
pub async fn paid_order(gw: &TestGateway, customer: &str, lines: &[(&str, i32)]) {
    let items: Vec<Value> = lines
        .iter()
        .map(|(product, quantity)| json!({ "productId": product, "quantity": quantity }))
        .collect();
    let data = gw
        .query(
            "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }",
            json!({ "input": { "customerId": customer, "channel": "WEB", "items": items } }),
        )
        .await;
    let order = data["placeOrder"]["id"].as_str().unwrap();
    gw.query(
        "mutation($id: ID!) { updateOrderStatus(id: $id, status: PAID) { status } }",
        json!({ "id": order }),
    )
    .await;
}
