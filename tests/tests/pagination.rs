//! Relay pagination in both directions, for top-level and nested connections.

use retain_tests::{Backend, TestGateway, on_both_backends};
use serde_json::{Value, json};

const PAGE: &str = r#"
query($first: Int, $after: String, $last: Int, $before: String, $order: CustomerOrder) {
  customers(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    totalCount
    edges { cursor node { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"#;

async fn customers_named(gw: &TestGateway, names: &[&str]) {
    for (i, name) in names.iter().enumerate() {
        gw.query(
            "mutation($input: CustomerInput!) { createCustomer(input: $input) { id } }",
            json!({ "input": { "externalId": format!("ext-{i}"), "name": name } }),
        )
        .await;
    }
}

fn names(page: &Value) -> Vec<String> {
    page["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_string())
        .collect()
}

fn info(page: &Value, field: &str) -> Value {
    page["customers"]["pageInfo"][field].clone()
}

async fn pages_forwards_and_backwards(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    customers_named(&gw, &["Ann", "Bob", "Cai", "Dee", "Eve", "Fay", "Gus"]).await;

    let first = gw.query(PAGE, json!({ "first": 3 })).await;
    assert_eq!(names(&first), ["Ann", "Bob", "Cai"]);
    assert_eq!(first["customers"]["totalCount"], 7);
    assert_eq!(info(&first, "hasNextPage"), true);
    assert_eq!(info(&first, "hasPreviousPage"), false);

    let second = gw
        .query(
            PAGE,
            json!({ "first": 3, "after": info(&first, "endCursor") }),
        )
        .await;
    assert_eq!(names(&second), ["Dee", "Eve", "Fay"]);
    assert_eq!(info(&second, "hasPreviousPage"), true);

    let third = gw
        .query(
            PAGE,
            json!({ "first": 3, "after": info(&second, "endCursor") }),
        )
        .await;
    assert_eq!(names(&third), ["Gus"]);
    assert_eq!(info(&third, "hasNextPage"), false);

    let tail = gw.query(PAGE, json!({ "last": 3 })).await;
    assert_eq!(names(&tail), ["Eve", "Fay", "Gus"]);
    assert_eq!(info(&tail, "hasPreviousPage"), true);

    let back = gw
        .query(
            PAGE,
            json!({ "last": 2, "before": info(&tail, "startCursor") }),
        )
        .await;
    assert_eq!(names(&back), ["Cai", "Dee"]);
    assert_eq!(info(&back, "hasNextPage"), true);

    let start = gw
        .query(
            PAGE,
            json!({ "last": 5, "before": info(&back, "startCursor") }),
        )
        .await;
    assert_eq!(names(&start), ["Ann", "Bob"]);
    assert_eq!(info(&start, "hasPreviousPage"), false);

    // A different sort order paginates by its own key.
    let by_name_desc = json!({ "field": "NAME", "direction": "DESC" });
    let desc = gw
        .query(PAGE, json!({ "first": 4, "order": by_name_desc }))
        .await;
    assert_eq!(names(&desc), ["Gus", "Fay", "Eve", "Dee"]);
    let desc_next = gw
        .query(
            PAGE,
            json!({ "first": 4, "after": info(&desc, "endCursor"), "order": by_name_desc }),
        )
        .await;
    assert_eq!(names(&desc_next), ["Cai", "Bob", "Ann"]);
}

async fn ties_in_the_sort_key_are_broken_by_id(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    customers_named(&gw, &["Sam", "Sam", "Sam", "Sam", "Sam"]).await;
    let order = json!({ "field": "NAME" });
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = gw
            .query(PAGE, json!({ "first": 2, "after": after, "order": order }))
            .await;
        for edge in page["customers"]["edges"].as_array().unwrap() {
            seen.push(edge["cursor"].as_str().unwrap().to_string());
        }
        if info(&page, "hasNextPage") == false {
            break;
        }
        after = info(&page, "endCursor");
    }
    seen.dedup();
    assert_eq!(seen.len(), 5, "every row exactly once");
}

async fn nested_connections_page_per_parent(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let customer = gw
        .query(
            r#"mutation { createCustomer(input: { externalId: "c", name: "Cy" }) { id } }"#,
            json!({}),
        )
        .await["createCustomer"]["id"]
        .clone();
    let product = gw
        .query(
            r#"mutation { createProduct(input: { sku: "P", name: "Tea", category: "food", priceMinor: 100 }) { id } }"#,
            json!({}),
        )
        .await["createProduct"]["id"]
        .clone();
    let mut numbers = Vec::new();
    for quantity in 1..=5 {
        let order = gw
            .query(
                "mutation($c: ID!, $p: ID!, $q: Int!) { placeOrder(input: { customerId: $c, channel: WEB, items: [{ productId: $p, quantity: $q }] }) { orderNumber } }",
                json!({ "c": customer, "p": product, "q": quantity }),
            )
            .await;
        numbers.push(
            order["placeOrder"]["orderNumber"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    numbers.reverse(); // newest first
    let nested = r#"
    query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      customer(id: $id) {
        orders(first: $first, after: $after, last: $last, before: $before) {
          totalCount
          edges { node { orderNumber } }
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        }
      }
    }"#;
    let numbers_of = |data: &Value| -> Vec<String> {
        data["customer"]["orders"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["orderNumber"].as_str().unwrap().to_string())
            .collect()
    };
    let first = gw
        .query(nested, json!({ "id": customer, "first": 2 }))
        .await;
    assert_eq!(numbers_of(&first), numbers[..2]);
    assert_eq!(first["customer"]["orders"]["totalCount"], 5);
    let end = first["customer"]["orders"]["pageInfo"]["endCursor"].clone();
    let second = gw
        .query(nested, json!({ "id": customer, "first": 2, "after": end }))
        .await;
    assert_eq!(numbers_of(&second), numbers[2..4]);
    let last = gw.query(nested, json!({ "id": customer, "last": 2 })).await;
    assert_eq!(numbers_of(&last), numbers[3..]);
    let start = last["customer"]["orders"]["pageInfo"]["startCursor"].clone();
    let before = gw
        .query(
            nested,
            json!({ "id": customer, "last": 10, "before": start }),
        )
        .await;
    assert_eq!(numbers_of(&before), numbers[..3]);
    assert_eq!(
        before["customer"]["orders"]["pageInfo"]["hasPreviousPage"],
        false
    );
}

async fn page_arguments_are_checked(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let too_big = gw.error(PAGE, json!({ "first": 101 })).await;
    assert_eq!(too_big["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(too_big["extensions"]["field"], "first");
    assert_eq!(
        too_big["message"],
        "first: must be at most 100 (the page size limit)"
    );
    let both = gw.error(PAGE, json!({ "first": 1, "last": 1 })).await;
    assert_eq!(both["message"], "last: cannot be combined with first");
    let negative = gw.error(PAGE, json!({ "last": -1 })).await;
    assert_eq!(negative["message"], "last: must not be negative");
    let cursor = gw
        .error(PAGE, json!({ "first": 1, "after": "bogus" }))
        .await;
    assert_eq!(
        cursor["message"],
        "after: is not a cursor returned by this API"
    );
}

on_both_backends!(
    pages_forwards_and_backwards,
    ties_in_the_sort_key_are_broken_by_id,
    nested_connections_page_per_parent,
    page_arguments_are_checked,
);
