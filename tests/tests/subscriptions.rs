//! GraphQL subscriptions over WebSocket (graphql-transport-ws).

use futures::{SinkExt, StreamExt};
use retain_tests::{Backend, TestGateway, on_both_backends};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn order_updates_stream_placed_orders(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let customer = gw
        .query(
            r#"mutation { createCustomer(input: { externalId: "s", name: "Sub" }) { id } }"#,
            json!({}),
        )
        .await["createCustomer"]["id"]
        .clone();
    let product = gw
        .query(
            r#"mutation { createProduct(input: { sku: "S", name: "Socks", category: "apparel", priceMinor: 500 }) { id } }"#,
            json!({}),
        )
        .await["createProduct"]["id"]
        .clone();

    let mut request = gw
        .url("/graphql/ws")
        .replace("http://", "ws://")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let send = |value: Value| Message::Text(value.to_string().into());
    socket
        .send(send(json!({
            "type": "connection_init",
            "payload": { "authorization": format!("Bearer {}", gw.admin_key) }
        })))
        .await
        .unwrap();
    let ack = next_json(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack");
    socket
        .send(send(json!({
            "id": "1",
            "type": "subscribe",
            "payload": { "query": "subscription { orderUpdates { kind order { orderNumber total { minor } customer { name } } } }" }
        })))
        .await
        .unwrap();
    // The subscription is registered once the server has read the message; a short
    // pause keeps the first event from racing it.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let placed = gw
        .query(
            "mutation($c: ID!, $p: ID!) { placeOrder(input: { customerId: $c, channel: WEB, items: [{ productId: $p, quantity: 3 }] }) { orderNumber } }",
            json!({ "c": customer, "p": product }),
        )
        .await;
    let event = next_json(&mut socket).await;
    assert_eq!(event["type"], "next", "{event:#}");
    let update = &event["payload"]["data"]["orderUpdates"];
    assert_eq!(update["kind"], "PLACED");
    assert_eq!(
        update["order"]["orderNumber"],
        placed["placeOrder"]["orderNumber"]
    );
    assert_eq!(update["order"]["total"]["minor"], 1500);
    assert_eq!(update["order"]["customer"]["name"], "Sub");
}

async fn next_json<S>(socket: &mut S) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let deadline = std::time::Duration::from_secs(10);
    loop {
        let message = tokio::time::timeout(deadline, socket.next())
            .await
            .expect("a message within 10 s")
            .expect("the socket is open")
            .expect("a valid frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

on_both_backends!(order_updates_stream_placed_orders);
