use retain_tests::{Backend, TestGateway, on_both_backends};
use serde_json::json;

async fn create_and_read_a_customer(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let created = gw
        .query(
            r#"mutation($input: CustomerInput!) { createCustomer(input: $input) { id name email tags consent { email sms } } }"#,
            json!({ "input": { "externalId": "c-1", "name": "Ada", "email": "Ada@Example.com", "tags": ["fitness", "office"], "consent": { "email": true } } }),
        )
        .await;
    let customer = &created["createCustomer"];
    assert_eq!(customer["email"], "ada@example.com");
    assert_eq!(customer["tags"], json!(["fitness", "office"]));
    let product = gw
        .query(
            r#"mutation { createProduct(input: { sku: "S1", name: "Yoga mat", category: "fitness", priceMinor: 9900 }) { id } }"#,
            json!({}),
        )
        .await;
    let order = gw
        .query(
            r#"mutation($c: ID!, $p: ID!) { placeOrder(input: { customerId: $c, channel: APP, items: [{ productId: $p, quantity: 2 }] }) { id total { minor amount } } }"#,
            json!({ "c": customer["id"], "p": product["createProduct"]["id"] }),
        )
        .await;
    assert_eq!(order["placeOrder"]["total"]["minor"], 19800);
    gw.query(
        r#"mutation($id: ID!) { updateOrderStatus(id: $id, status: PAID) { status } }"#,
        json!({ "id": order["placeOrder"]["id"] }),
    )
    .await;
    let read = gw
        .query(
            r#"query($id: ID!) { node(id: $id) { ... on Customer { name profile { lifetimeOrders lifetimeSpend { minor } daysSinceLastOrder } orders(first: 5) { totalCount edges { node { orderNumber items { quantity product { name } } } } } } } }"#,
            json!({ "id": customer["id"] }),
        )
        .await;
    let node = &read["node"];
    assert_eq!(node["profile"]["lifetimeOrders"], 1);
    assert_eq!(node["profile"]["lifetimeSpend"]["minor"], 19800);
    assert_eq!(node["orders"]["totalCount"], 1);
    assert_eq!(
        node["orders"]["edges"][0]["node"]["items"][0]["product"]["name"],
        "Yoga mat"
    );
}

on_both_backends!(create_and_read_a_customer);
