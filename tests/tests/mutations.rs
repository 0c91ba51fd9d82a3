//! Every mutation, end to end: what a success returns and stores, and each way it is
//! refused — with the exact `extensions.code`, `extensions.field` and message — and
//! that a refused mutation writes nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use retain_tests::{Backend, TestGateway, on_both_backends};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------

const CUSTOMER: &str = "id externalId name email phone birthday signupAt tags consent { email sms appPush social } erasedAt createdAt updatedAt";
const ORDER: &str = "id orderNumber status channel subtotal { minor currency amount } discount { minor currency amount } total { minor currency amount } placedAt paidAt shippedAt deliveredAt cancelledAt refundedAt customer { id } items { quantity unitPrice { minor currency } lineTotal { minor currency } product { sku } }";
const CAMPAIGN: &str = "id name kind channels target { segment { slot key } tagsAny } offer { kind amountMinor thresholdMinor percent pointsMultiplierTenths giftSku } startsAt endsAt status createdAt updatedAt";
const FEEDBACK: &str = "id category csat nps text status createdAt acknowledgedAt resolvedAt closedAt customer { id } order { id }";
const PRODUCT: &str =
    "id sku name category price { minor currency amount } active createdAt updatedAt";

fn create_customer_op() -> String {
    format!("mutation($input: CustomerInput!) {{ createCustomer(input: $input) {{ {CUSTOMER} }} }}")
}
fn update_customer_op() -> String {
    format!(
        "mutation($id: ID!, $input: CustomerPatch!) {{ updateCustomer(id: $id, input: $input) {{ {CUSTOMER} }} }}"
    )
}
fn erase_customer_op() -> String {
    format!("mutation($id: ID!) {{ eraseCustomer(id: $id) {{ {CUSTOMER} }} }}")
}
fn read_customer_op() -> String {
    format!(
        "query($id: ID!) {{ customer(id: $id) {{ {CUSTOMER} orders(first: 50) {{ totalCount nodes {{ id }} }} interactions {{ totalCount }} feedback {{ totalCount nodes {{ text csat }} }} }} }}"
    )
}
const RECORD_INTERACTION: &str = "mutation($input: RecordInteractionInput!) { recordInteraction(input: $input) { id kind channel occurredAt customer { id } product { sku } campaign { name } } }";
fn create_product_op() -> String {
    format!("mutation($input: ProductInput!) {{ createProduct(input: $input) {{ {PRODUCT} }} }}")
}
fn update_product_op() -> String {
    format!(
        "mutation($id: ID!, $input: ProductPatch!) {{ updateProduct(id: $id, input: $input) {{ {PRODUCT} }} }}"
    )
}
fn read_product_op() -> String {
    format!("query($id: ID!) {{ product(id: $id) {{ {PRODUCT} }} }}")
}
fn place_order_op() -> String {
    format!("mutation($input: PlaceOrderInput!) {{ placeOrder(input: $input) {{ {ORDER} }} }}")
}
fn update_order_status_op() -> String {
    format!(
        "mutation($id: ID!, $status: OrderStatus!) {{ updateOrderStatus(id: $id, status: $status) {{ {ORDER} }} }}"
    )
}
fn read_order_op() -> String {
    format!("query($id: ID!) {{ order(id: $id) {{ {ORDER} }} }}")
}
fn create_campaign_op() -> String {
    format!("mutation($input: CampaignInput!) {{ createCampaign(input: $input) {{ {CAMPAIGN} }} }}")
}
fn update_campaign_op() -> String {
    format!(
        "mutation($id: ID!, $input: CampaignPatch!) {{ updateCampaign(id: $id, input: $input) {{ {CAMPAIGN} }} }}"
    )
}
fn read_campaign_op() -> String {
    format!("query($id: ID!) {{ campaign(id: $id) {{ {CAMPAIGN} }} }}")
}
fn submit_feedback_op() -> String {
    format!(
        "mutation($input: SubmitFeedbackInput!) {{ submitFeedback(input: $input) {{ {FEEDBACK} }} }}"
    )
}

// ---------------------------------------------------------------------------------
// Typed helpers
// ---------------------------------------------------------------------------------

/// A global id for a row that does not exist (or of a kind the caller chooses).
fn global_id(kind: &str, row: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{row}"))
}

/// The offending field and the message an input error must carry.
fn assert_error(error: &Value, code: &str, field: &str, message: &str) {
    assert_eq!(error["extensions"]["code"], code, "{error:#}");
    assert_eq!(error["extensions"]["field"], field, "{error:#}");
    assert_eq!(error["message"], message, "{error:#}");
}

/// A NOT_FOUND error, which names an entity rather than a field.
fn assert_not_found(error: &Value, message: &str) {
    assert_eq!(error["extensions"]["code"], "NOT_FOUND", "{error:#}");
    assert_eq!(error["message"], message, "{error:#}");
}

/// The value of the one mutation field in `data`.
fn only(data: Value) -> Value {
    let object = data.as_object().expect("data is an object");
    assert_eq!(object.len(), 1, "{data:#}");
    object.values().next().unwrap().clone()
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

async fn create_customer(gw: &TestGateway, input: Value) -> Value {
    only(
        gw.query(&create_customer_op(), json!({ "input": input }))
            .await,
    )
}

async fn customer_named(gw: &TestGateway, external_id: &str, name: &str) -> String {
    let customer = create_customer(gw, json!({ "externalId": external_id, "name": name })).await;
    text(&customer["id"]).to_string()
}

async fn read_customer(gw: &TestGateway, id: &str) -> Value {
    only(gw.query(&read_customer_op(), json!({ "id": id })).await)
}

async fn update_customer(gw: &TestGateway, id: &str, patch: Value) -> Value {
    only(
        gw.query(&update_customer_op(), json!({ "id": id, "input": patch }))
            .await,
    )
}

async fn create_product(gw: &TestGateway, sku: &str, price_minor: i64, active: bool) -> String {
    let product = only(
        gw.query(
            &create_product_op(),
            json!({ "input": { "sku": sku, "name": format!("Product {sku}"), "category": "fitness", "priceMinor": price_minor, "active": active } }),
        )
        .await,
    );
    text(&product["id"]).to_string()
}

fn line(product: &str, quantity: i32) -> Value {
    json!({ "productId": product, "quantity": quantity })
}

async fn place_order(gw: &TestGateway, customer: &str, items: Vec<Value>) -> Value {
    only(
        gw.query(
            &place_order_op(),
            json!({ "input": { "customerId": customer, "channel": "WEB", "items": items } }),
        )
        .await,
    )
}

async fn move_order(gw: &TestGateway, order: &str, status: &str) -> Value {
    only(
        gw.query(
            &update_order_status_op(),
            json!({ "id": order, "status": status }),
        )
        .await,
    )
}

async fn read_order(gw: &TestGateway, id: &str) -> Value {
    only(gw.query(&read_order_op(), json!({ "id": id })).await)
}

async fn create_campaign(gw: &TestGateway, input: Value) -> Value {
    only(
        gw.query(&create_campaign_op(), json!({ "input": input }))
            .await,
    )
}

async fn update_campaign(gw: &TestGateway, id: &str, patch: Value) -> Value {
    only(
        gw.query(&update_campaign_op(), json!({ "id": id, "input": patch }))
            .await,
    )
}

async fn read_campaign(gw: &TestGateway, id: &str) -> Value {
    only(gw.query(&read_campaign_op(), json!({ "id": id })).await)
}

async fn submit_feedback(gw: &TestGateway, input: Value) -> Value {
    only(
        gw.query(&submit_feedback_op(), json!({ "input": input }))
            .await,
    )
}

/// How many rows a top-level list holds.
async fn count(gw: &TestGateway, list: &str) -> i64 {
    let data = gw
        .query(&format!("{{ {list} {{ totalCount }} }}"), json!({}))
        .await;
    data[list]["totalCount"].as_i64().unwrap()
}

/// The ids of a customer's orders, newest first, and their count — read both through
/// the customer and through the top-level `orders` list filtered by customer.
async fn orders_of(gw: &TestGateway, customer: &str) -> Vec<String> {
    let nested = read_customer(gw, customer).await;
    let through_customer: Vec<String> = nested["orders"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| text(&o["id"]).to_string())
        .collect();
    assert_eq!(nested["orders"]["totalCount"], through_customer.len());
    let listed = gw
        .query(
            "query($c: ID!) { orders(filter: { customerId: { eq: $c } }, first: 50) { totalCount nodes { id } } }",
            json!({ "c": customer }),
        )
        .await;
    let through_list: Vec<String> = listed["orders"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| text(&o["id"]).to_string())
        .collect();
    assert_eq!(listed["orders"]["totalCount"], through_list.len());
    assert_eq!(
        through_customer, through_list,
        "both views of the customer's orders agree"
    );
    through_customer
}

// ---------------------------------------------------------------------------------
// createCustomer
// ---------------------------------------------------------------------------------

async fn create_customer_returns_the_stored_normalised_profile(backend: Backend) {
    let gw = TestGateway::start(backend).await;

    let ada = create_customer(
        &gw,
        json!({
            "externalId": "  c-ada ",
            "name": " Ada Lovelace ",
            "email": " Ada@Example.COM ",
            "phone": "+86 138 0013 8000",
            "birthday": "1990-03-15",
            "signupAt": "2024-01-10T17:00:00+08:00",
            "tags": ["Fitness", "mother-and-baby", "fitness"],
            "consent": { "email": true, "appPush": true },
        }),
    )
    .await;

    assert_eq!(ada["externalId"], "c-ada");
    assert_eq!(ada["name"], "Ada Lovelace");
    assert_eq!(ada["email"], "ada@example.com");
    assert_eq!(ada["phone"], "+86 138 0013 8000");
    assert_eq!(ada["birthday"], "1990-03-15");
    assert_eq!(ada["signupAt"], "2024-01-10T09:00:00+00:00");
    assert_eq!(ada["tags"], json!(["fitness", "mother-and-baby"]));
    assert_eq!(
        ada["consent"],
        json!({ "email": true, "sms": false, "appPush": true, "social": false })
    );
    assert_eq!(ada["erasedAt"], Value::Null);
    assert_eq!(ada["createdAt"], ada["updatedAt"]);

    // What was returned is what is stored.
    let read = read_customer(&gw, text(&ada["id"])).await;
    for field in [
        "id",
        "externalId",
        "name",
        "email",
        "phone",
        "birthday",
        "signupAt",
        "tags",
        "consent",
        "erasedAt",
        "createdAt",
    ] {
        assert_eq!(read[field], ada[field], "{field}");
    }
    let by_external = gw
        .query(
            "{ customerByExternalId(externalId: \"c-ada\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(by_external["customerByExternalId"]["id"], ada["id"]);

    // The least a customer needs: an external id and a name.
    let bo = create_customer(&gw, json!({ "externalId": "c-bo", "name": "Bo" })).await;
    assert_eq!(bo["email"], Value::Null);
    assert_eq!(bo["phone"], Value::Null);
    assert_eq!(bo["birthday"], Value::Null);
    assert_eq!(bo["tags"], json!([]));
    assert_eq!(
        bo["consent"],
        json!({ "email": false, "sms": false, "appPush": false, "social": false })
    );
    assert_eq!(
        bo["signupAt"], bo["createdAt"],
        "signing up defaults to now"
    );
    assert_ne!(bo["id"], ada["id"]);
    assert_eq!(count(&gw, "customers").await, 2);
}

async fn create_customer_refuses_bad_input_and_writes_nothing(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let too_many_tags: Vec<String> = (0..21).map(|i| format!("tag-{i}")).collect();
    let cases = [
        (
            json!({ "externalId": "  " }),
            "externalId",
            "externalId: must not be empty",
        ),
        (json!({ "name": "" }), "name", "name: must not be empty"),
        (
            json!({ "name": "x".repeat(201) }),
            "name",
            "name: must be at most 200 characters",
        ),
        (
            json!({ "email": "ada@example" }),
            "email",
            "email: is not a valid e-mail address",
        ),
        (
            json!({ "email": "ada example.com" }),
            "email",
            "email: is not a valid e-mail address",
        ),
        (
            json!({ "phone": "call me" }),
            "phone",
            "phone: must be 5 to 20 digits, optionally with +, spaces, dashes or parentheses",
        ),
        (
            json!({ "phone": "1234" }),
            "phone",
            "phone: must be 5 to 20 digits, optionally with +, spaces, dashes or parentheses",
        ),
        (
            json!({ "birthday": "2999-01-01" }),
            "birthday",
            "birthday: must be between 1900-01-01 and today",
        ),
        (
            json!({ "birthday": "1899-12-31" }),
            "birthday",
            "birthday: must be between 1900-01-01 and today",
        ),
        (
            json!({ "signupAt": "2999-01-01T00:00:00Z" }),
            "signupAt",
            "signupAt: must not be in the future",
        ),
        (
            json!({ "tags": ["fitness", "no spaces"] }),
            "tags[1]",
            "tags[1]: must be 1 to 32 lowercase letters, digits or dashes",
        ),
        (
            json!({ "tags": ["emoji-😀"] }),
            "tags[0]",
            "tags[0]: must be 1 to 32 lowercase letters, digits or dashes",
        ),
        (
            json!({ "tags": [""] }),
            "tags[0]",
            "tags[0]: must be 1 to 32 lowercase letters, digits or dashes",
        ),
        (
            json!({ "tags": too_many_tags }),
            "tags",
            "tags: must hold at most 20 tags",
        ),
    ];

    for (overrides, field, message) in cases {
        let mut input = json!({ "externalId": "c-bad", "name": "Bad" });
        for (key, value) in overrides.as_object().unwrap() {
            input[key] = value.clone();
        }
        let error = gw
            .error(&create_customer_op(), json!({ "input": input }))
            .await;
        assert_error(&error, "BAD_USER_INPUT", field, message);

        let stored = gw
            .query(
                "{ customers(filter: { externalId: { eq: \"c-bad\" } }) { totalCount nodes { id } } }",
                json!({}),
            )
            .await;
        assert_eq!(stored["customers"]["totalCount"], 0, "after {input}");
        assert_eq!(stored["customers"]["nodes"], json!([]), "after {input}");
    }
    let by_external = gw
        .query(
            "{ customerByExternalId(externalId: \"c-bad\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(by_external["customerByExternalId"], Value::Null);
    assert_eq!(count(&gw, "customers").await, 0);
}

async fn create_customer_refuses_a_duplicate_external_id(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let first = customer_named(&gw, "c-1", "First").await;

    for external_id in ["c-1", "  c-1  "] {
        let error = gw
            .error(
                &create_customer_op(),
                json!({ "input": { "externalId": external_id, "name": "Second", "tags": ["office"] } }),
            )
            .await;
        assert_error(
            &error,
            "CONFLICT",
            "externalId",
            "externalId: c-1 is already used by another customer",
        );
    }

    assert_eq!(count(&gw, "customers").await, 1);
    let kept = read_customer(&gw, &first).await;
    assert_eq!(kept["name"], "First");
    assert_eq!(kept["tags"], json!([]));
}

// ---------------------------------------------------------------------------------
// updateCustomer
// ---------------------------------------------------------------------------------

async fn update_customer_changes_only_what_the_patch_names(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let created = create_customer(
        &gw,
        json!({
            "externalId": "c-ada", "name": "Ada", "email": "ada@example.com",
            "phone": "+86 138 0013 8000", "birthday": "1990-03-15",
            "signupAt": "2024-01-10T09:00:00Z", "tags": ["fitness", "office"],
            "consent": { "email": true },
        }),
    )
    .await;
    let id = text(&created["id"]).to_string();

    // A new name leaves everything else alone.
    let renamed = update_customer(&gw, &id, json!({ "name": "  Ada King " })).await;
    assert_eq!(renamed["name"], "Ada King");
    for field in [
        "externalId",
        "email",
        "phone",
        "birthday",
        "signupAt",
        "tags",
        "consent",
        "createdAt",
    ] {
        assert_eq!(renamed[field], created[field], "{field}");
    }

    // A new e-mail address is normalised.
    let email = update_customer(&gw, &id, json!({ "email": "Ada.King@Example.org" })).await;
    assert_eq!(email["email"], "ada.king@example.org");

    // `null` clears the optional fields; the name stays.
    let cleared = update_customer(
        &gw,
        &id,
        json!({ "email": null, "phone": null, "birthday": null }),
    )
    .await;
    assert_eq!(cleared["email"], Value::Null);
    assert_eq!(cleared["phone"], Value::Null);
    assert_eq!(cleared["birthday"], Value::Null);
    assert_eq!(cleared["name"], "Ada King");
    let read = read_customer(&gw, &id).await;
    assert_eq!(
        (&read["email"], &read["phone"], &read["birthday"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );

    // New values set them again.
    let restored = update_customer(
        &gw,
        &id,
        json!({ "phone": "010-5555-0000", "birthday": "1991-04-01" }),
    )
    .await;
    assert_eq!(restored["phone"], "010-5555-0000");
    assert_eq!(restored["birthday"], "1991-04-01");
    assert_eq!(restored["email"], Value::Null);

    // Tags are replaced as a whole, normalised, and the tag filter sees the change.
    let retagged =
        update_customer(&gw, &id, json!({ "tags": ["Gaming", "office", "gaming"] })).await;
    assert_eq!(retagged["tags"], json!(["gaming", "office"]));
    let fitness = gw
        .query(
            "{ customers(filter: { tags: { any: [\"fitness\"] } }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(fitness["customers"]["totalCount"], 0);
    let untagged = update_customer(&gw, &id, json!({ "tags": [] })).await;
    assert_eq!(untagged["tags"], json!([]));
    // Absent tags stay as they are.
    update_customer(&gw, &id, json!({ "tags": ["office"] })).await;
    let kept = update_customer(&gw, &id, json!({ "name": "Ada" })).await;
    assert_eq!(kept["tags"], json!(["office"]));

    // Consent changes only the channels named.
    let sms = update_customer(&gw, &id, json!({ "consent": { "sms": true } })).await;
    assert_eq!(
        sms["consent"],
        json!({ "email": true, "sms": true, "appPush": false, "social": false })
    );
    let withdrawn = update_customer(
        &gw,
        &id,
        json!({ "consent": { "email": false, "social": true } }),
    )
    .await;
    assert_eq!(
        withdrawn["consent"],
        json!({ "email": false, "sms": true, "appPush": false, "social": true })
    );
    let empty = update_customer(&gw, &id, json!({ "consent": {} })).await;
    assert_eq!(empty["consent"], withdrawn["consent"]);

    // An empty patch changes nothing but the update time.
    let untouched = update_customer(&gw, &id, json!({})).await;
    for field in [
        "externalId",
        "name",
        "email",
        "phone",
        "birthday",
        "tags",
        "consent",
    ] {
        assert_eq!(untouched[field], empty[field], "{field}");
    }
    assert_ne!(untouched["updatedAt"], created["updatedAt"]);
    assert_eq!(untouched["createdAt"], created["createdAt"]);
}

async fn update_customer_refuses_bad_input_and_changes_nothing(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let created = create_customer(
        &gw,
        json!({
            "externalId": "c-ada", "name": "Ada", "email": "ada@example.com",
            "birthday": "1990-03-15", "tags": ["fitness"],
        }),
    )
    .await;
    let id = text(&created["id"]).to_string();

    let cases = [
        (
            json!({ "email": "nope" }),
            "email",
            "email: is not a valid e-mail address",
        ),
        (
            json!({ "name": "Ada King", "phone": "phone" }),
            "phone",
            "phone: must be 5 to 20 digits, optionally with +, spaces, dashes or parentheses",
        ),
        (
            json!({ "name": "Ada King", "birthday": "2999-12-31" }),
            "birthday",
            "birthday: must be between 1900-01-01 and today",
        ),
        (json!({ "name": "   " }), "name", "name: must not be empty"),
        (
            json!({ "name": "Ada King", "tags": ["office", "Bad Tag"] }),
            "tags[1]",
            "tags[1]: must be 1 to 32 lowercase letters, digits or dashes",
        ),
        (
            json!({ "email": null, "consent": { "sms": true }, "tags": ["#"] }),
            "tags[0]",
            "tags[0]: must be 1 to 32 lowercase letters, digits or dashes",
        ),
    ];
    for (patch, field, message) in cases {
        let error = gw
            .error(&update_customer_op(), json!({ "id": id, "input": patch }))
            .await;
        assert_error(&error, "BAD_USER_INPUT", field, message);

        let read = read_customer(&gw, &id).await;
        for field in [
            "name",
            "email",
            "phone",
            "birthday",
            "tags",
            "consent",
            "updatedAt",
        ] {
            assert_eq!(read[field], created[field], "{field} after {patch}");
        }
    }

    // Unknown customers and ids of another kind.
    let missing = gw
        .error(
            &update_customer_op(),
            json!({ "id": global_id("Customer", 999_999), "input": { "name": "X" } }),
        )
        .await;
    assert_not_found(&missing, "customer 999999 not found");
    let product = create_product(&gw, "P-1", 100, true).await;
    let wrong_kind = gw
        .error(
            &update_customer_op(),
            json!({ "id": product, "input": { "name": "X" } }),
        )
        .await;
    assert_error(
        &wrong_kind,
        "BAD_USER_INPUT",
        "id",
        "id: is a Product id, expected a Customer id",
    );
}

// ---------------------------------------------------------------------------------
// eraseCustomer
// ---------------------------------------------------------------------------------

async fn erase_customer_removes_personal_data_and_keeps_orders(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let created = create_customer(
        &gw,
        json!({
            "externalId": "c-ada", "name": "Ada", "email": "ada@example.com",
            "phone": "+86 138 0013 8000", "birthday": "1990-03-15",
            "signupAt": "2024-01-10T09:00:00Z", "tags": ["fitness", "office"],
            "consent": { "email": true, "sms": true, "appPush": true, "social": true },
        }),
    )
    .await;
    let ada = text(&created["id"]).to_string();
    let bystander = customer_named(&gw, "c-bo", "Bo").await;
    let mat = create_product(&gw, "MAT", 9900, true).await;

    let paid = place_order(&gw, &ada, vec![line(&mat, 1)]).await;
    move_order(&gw, text(&paid["id"]), "PAID").await;
    let placed = place_order(&gw, &ada, vec![line(&mat, 2)]).await;
    let orders_before = orders_of(&gw, &ada).await;
    assert_eq!(orders_before.len(), 2);
    submit_feedback(
        &gw,
        json!({ "customerId": ada, "orderId": paid["id"], "category": "QUALITY", "csat": 2, "text": "My name is Ada, call me on +86 138 0013 8000" }),
    )
    .await;
    submit_feedback(
        &gw,
        json!({ "customerId": bystander, "category": "SERVICE", "text": "Bo's own words" }),
    )
    .await;
    gw.query(
        RECORD_INTERACTION,
        json!({ "input": { "customerId": ada, "kind": "LOGIN", "channel": "APP" } }),
    )
    .await;

    // Act.
    let erased = only(gw.query(&erase_customer_op(), json!({ "id": ada })).await);

    // The personal data is gone from the answer and from storage.
    for customer in [erased.clone(), read_customer(&gw, &ada).await] {
        assert_eq!(customer["id"], ada.as_str());
        assert_eq!(customer["name"], "Erased customer");
        assert_eq!(customer["email"], Value::Null);
        assert_eq!(customer["phone"], Value::Null);
        assert_eq!(customer["birthday"], Value::Null);
        assert_eq!(customer["tags"], json!([]));
        assert_eq!(
            customer["consent"],
            json!({ "email": false, "sms": false, "appPush": false, "social": false })
        );
        assert_ne!(customer["externalId"], "c-ada");
        assert!(customer["erasedAt"].is_string(), "{customer:#}");
        assert_eq!(customer["signupAt"], created["signupAt"]);
    }
    let lookup = gw
        .query(
            "{ customerByExternalId(externalId: \"c-ada\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(lookup["customerByExternalId"], Value::Null);
    let tagged = gw
        .query(
            "{ customers(filter: { tags: { any: [\"fitness\", \"office\"] } }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(tagged["customers"]["totalCount"], 0);
    let by_email = gw
        .query(
            "{ customers(filter: { email: { startsWith: \"ada\" } }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(by_email["customers"]["totalCount"], 0);

    // Feedback text is emptied, its scores and the bystander's words stay.
    let feedback = gw
        .query(
            "query($c: ID!) { feedback(filter: { customerId: { eq: $c } }) { totalCount nodes { text csat category } } }",
            json!({ "c": ada }),
        )
        .await;
    assert_eq!(
        feedback["feedback"]["nodes"],
        json!([{ "text": "", "csat": 2, "category": "QUALITY" }])
    );
    let theirs = gw
        .query(
            "query($c: ID!) { feedback(filter: { customerId: { eq: $c } }) { nodes { text } } }",
            json!({ "c": bystander }),
        )
        .await;
    assert_eq!(
        theirs["feedback"]["nodes"],
        json!([{ "text": "Bo's own words" }])
    );

    // Orders and interactions stay, still the customer's.
    assert_eq!(orders_of(&gw, &ada).await, orders_before);
    let kept = read_order(&gw, text(&placed["id"])).await;
    assert_eq!(kept["customer"]["id"], ada.as_str());
    assert_eq!(kept["total"]["minor"], 19800);
    assert_eq!(
        read_customer(&gw, &ada).await["interactions"]["totalCount"],
        1
    );
    let erased_list = gw
        .query(
            "{ customers(filter: { erased: true }) { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(erased_list["customers"]["nodes"], json!([{ "id": ada }]));

    // Erasing again changes nothing.
    let again = only(gw.query(&erase_customer_op(), json!({ "id": ada })).await);
    assert_eq!(again["erasedAt"], erased["erasedAt"]);
    assert_eq!(again["name"], "Erased customer");

    // An erased customer cannot be changed, nor order, give feedback or interact.
    let update = gw
        .error(
            &update_customer_op(),
            json!({ "id": ada, "input": { "name": "Ada" } }),
        )
        .await;
    assert_error(&update, "CONFLICT", "id", "id: the customer was erased");
    assert_eq!(read_customer(&gw, &ada).await["name"], "Erased customer");

    let order = gw
        .error(
            &place_order_op(),
            json!({ "input": { "customerId": ada, "channel": "WEB", "items": [line(&mat, 1)] } }),
        )
        .await;
    assert_error(
        &order,
        "BAD_USER_INPUT",
        "customerId",
        "customerId: the customer was erased",
    );
    assert_eq!(orders_of(&gw, &ada).await, orders_before);
    assert_eq!(count(&gw, "orders").await, 2);

    let feedback = gw
        .error(
            &submit_feedback_op(),
            json!({ "input": { "customerId": ada, "category": "SERVICE", "csat": 1 } }),
        )
        .await;
    assert_error(
        &feedback,
        "BAD_USER_INPUT",
        "customerId",
        "customerId: the customer was erased",
    );
    assert_eq!(count(&gw, "feedback").await, 2);

    let interaction = gw
        .error(
            RECORD_INTERACTION,
            json!({ "input": { "customerId": ada, "kind": "VIEW", "channel": "WEB" } }),
        )
        .await;
    assert_error(
        &interaction,
        "BAD_USER_INPUT",
        "customerId",
        "customerId: the customer was erased",
    );
    assert_eq!(
        read_customer(&gw, &ada).await["interactions"]["totalCount"],
        1
    );

    // The bystander is untouched.
    let bo = read_customer(&gw, &bystander).await;
    assert_eq!(bo["name"], "Bo");
    assert_eq!(bo["erasedAt"], Value::Null);

    let missing = gw
        .error(
            &erase_customer_op(),
            json!({ "id": global_id("Customer", 999_999) }),
        )
        .await;
    assert_not_found(&missing, "customer 999999 not found");
}

// ---------------------------------------------------------------------------------
// recordInteraction
// ---------------------------------------------------------------------------------

async fn record_interaction_links_customer_product_and_campaign(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let ada = customer_named(&gw, "c-ada", "Ada").await;
    let mat = create_product(&gw, "MAT", 9900, true).await;
    let campaign = create_campaign(
        &gw,
        json!({ "name": "Spring", "kind": "WIN_BACK", "channels": ["EMAIL"] }),
    )
    .await;

    let clicked = only(
        gw.query(
            RECORD_INTERACTION,
            json!({ "input": {
                "customerId": ada, "kind": "ADD_TO_CART", "channel": "APP",
                "productId": mat, "campaignId": campaign["id"],
                "occurredAt": "2024-05-01T18:00:00+08:00",
            } }),
        )
        .await,
    );
    assert_eq!(clicked["kind"], "ADD_TO_CART");
    assert_eq!(clicked["channel"], "APP");
    assert_eq!(clicked["occurredAt"], "2024-05-01T10:00:00+00:00");
    assert_eq!(clicked["customer"]["id"], ada.as_str());
    assert_eq!(clicked["product"]["sku"], "MAT");
    assert_eq!(clicked["campaign"]["name"], "Spring");

    let login = only(
        gw.query(
            RECORD_INTERACTION,
            json!({ "input": { "customerId": ada, "kind": "LOGIN", "channel": "WEB" } }),
        )
        .await,
    );
    assert!(login["occurredAt"].is_string(), "defaults to now");
    assert_eq!(login["product"], Value::Null);
    assert_eq!(login["campaign"], Value::Null);
    assert_eq!(
        read_customer(&gw, &ada).await["interactions"]["totalCount"],
        2
    );

    let cases = [
        (
            json!({ "occurredAt": "2999-01-01T00:00:00Z" }),
            "occurredAt",
            "occurredAt: must not be in the future",
        ),
        (
            json!({ "customerId": global_id("Customer", 999_999) }),
            "customerId",
            "customerId: no such customer",
        ),
        (
            json!({ "productId": global_id("Product", 999_999) }),
            "productId",
            "productId: no such product",
        ),
        (
            json!({ "campaignId": global_id("Campaign", 999_999) }),
            "campaignId",
            "campaignId: no such campaign",
        ),
        (
            json!({ "customerId": mat }),
            "customerId",
            "customerId: is a Product id, expected a Customer id",
        ),
        (
            json!({ "productId": ada }),
            "productId",
            "productId: is a Customer id, expected a Product id",
        ),
        (
            json!({ "campaignId": "garbage" }),
            "campaignId",
            "campaignId: is not an id issued by this API",
        ),
    ];
    for (overrides, field, message) in cases {
        let mut input =
            json!({ "customerId": ada, "kind": "VIEW", "channel": "WEB", "productId": mat });
        for (key, value) in overrides.as_object().unwrap() {
            input[key] = value.clone();
        }
        let error = gw
            .error(RECORD_INTERACTION, json!({ "input": input }))
            .await;
        assert_error(&error, "BAD_USER_INPUT", field, message);
    }
    assert_eq!(
        read_customer(&gw, &ada).await["interactions"]["totalCount"],
        2,
        "refused interactions are not recorded"
    );
}

// ---------------------------------------------------------------------------------
// createProduct / updateProduct
// ---------------------------------------------------------------------------------

async fn create_product_returns_the_stored_product(backend: Backend) {
    let gw = TestGateway::start(backend).await;

    let mat = only(
        gw.query(
            &create_product_op(),
            json!({ "input": { "sku": " YOGA-1 ", "name": " Yoga Mat ", "category": "fitness", "priceMinor": 9905 } }),
        )
        .await,
    );
    assert_eq!(mat["sku"], "YOGA-1");
    assert_eq!(mat["name"], "Yoga Mat");
    assert_eq!(mat["category"], "fitness");
    assert_eq!(
        mat["price"],
        json!({ "minor": 9905, "currency": "CNY", "amount": "99.05" })
    );
    assert_eq!(mat["active"], true, "active by default");
    assert_eq!(mat["createdAt"], mat["updatedAt"]);
    let read = only(
        gw.query(&read_product_op(), json!({ "id": mat["id"] }))
            .await,
    );
    assert_eq!(read, mat);

    let archived = only(
        gw.query(
            &create_product_op(),
            json!({ "input": { "sku": "OLD-1", "name": "Old", "category": "office", "priceMinor": 0, "currency": "cny", "active": false } }),
        )
        .await,
    );
    assert_eq!(
        archived["price"],
        json!({ "minor": 0, "currency": "CNY", "amount": "0.00" })
    );
    assert_eq!(archived["active"], false);
    assert_eq!(count(&gw, "products").await, 2);
}

async fn create_product_refuses_bad_input_and_duplicates(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    create_product(&gw, "YOGA-1", 9900, true).await;

    let cases = [
        (
            json!({ "sku": "YOGA-1" }),
            "CONFLICT",
            "sku",
            "sku: YOGA-1 is already used by another product",
        ),
        (
            json!({ "sku": " YOGA-1 " }),
            "CONFLICT",
            "sku",
            "sku: YOGA-1 is already used by another product",
        ),
        (
            json!({ "sku": "" }),
            "BAD_USER_INPUT",
            "sku",
            "sku: must not be empty",
        ),
        (
            json!({ "name": " " }),
            "BAD_USER_INPUT",
            "name",
            "name: must not be empty",
        ),
        (
            json!({ "category": "" }),
            "BAD_USER_INPUT",
            "category",
            "category: must not be empty",
        ),
        (
            json!({ "priceMinor": -1 }),
            "BAD_USER_INPUT",
            "priceMinor",
            "priceMinor: must not be negative",
        ),
        (
            json!({ "currency": "USD" }),
            "BAD_USER_INPUT",
            "currency",
            "currency: must be the shop currency CNY",
        ),
        (
            json!({ "currency": "yuan" }),
            "BAD_USER_INPUT",
            "currency",
            "currency: must be an ISO 4217 code such as CNY",
        ),
    ];
    for (overrides, code, field, message) in cases {
        let mut input =
            json!({ "sku": "NEW-1", "name": "New", "category": "fitness", "priceMinor": 100 });
        for (key, value) in overrides.as_object().unwrap() {
            input[key] = value.clone();
        }
        let error = gw
            .error(&create_product_op(), json!({ "input": input }))
            .await;
        assert_error(&error, code, field, message);
    }

    let products = gw
        .query("{ products { totalCount nodes { sku name } } }", json!({}))
        .await;
    assert_eq!(
        products["products"],
        json!({ "totalCount": 1, "nodes": [{ "sku": "YOGA-1", "name": "Product YOGA-1" }] })
    );
}

async fn update_product_changes_only_what_the_patch_names(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let created = only(
        gw.query(
            &create_product_op(),
            json!({ "input": { "sku": "YOGA-1", "name": "Yoga Mat", "category": "fitness", "priceMinor": 9900 } }),
        )
        .await,
    );
    let id = text(&created["id"]).to_string();
    let update = |patch: Value| {
        let gw = &gw;
        let id = id.clone();
        async move {
            only(
                gw.query(&update_product_op(), json!({ "id": id, "input": patch }))
                    .await,
            )
        }
    };

    let cheaper = update(json!({ "priceMinor": 7900 })).await;
    assert_eq!(
        cheaper["price"],
        json!({ "minor": 7900, "currency": "CNY", "amount": "79.00" })
    );
    assert_eq!(
        (
            &cheaper["sku"],
            &cheaper["name"],
            &cheaper["category"],
            &cheaper["active"]
        ),
        (
            &created["sku"],
            &created["name"],
            &created["category"],
            &created["active"]
        )
    );

    let renamed = update(json!({ "name": " Yoga Mat Pro ", "category": "yoga" })).await;
    assert_eq!(renamed["name"], "Yoga Mat Pro");
    assert_eq!(renamed["category"], "yoga");
    assert_eq!(renamed["price"]["minor"], 7900);

    let retired = update(json!({ "active": false })).await;
    assert_eq!(retired["active"], false);
    assert_eq!(retired["name"], "Yoga Mat Pro");
    let read = only(gw.query(&read_product_op(), json!({ "id": id })).await);
    assert_eq!(read, retired);

    // Refused patches change nothing.
    let cases = [
        (
            json!({ "priceMinor": -5 }),
            "priceMinor",
            "priceMinor: must not be negative",
        ),
        (
            json!({ "name": "", "active": true }),
            "name",
            "name: must not be empty",
        ),
        (
            json!({ "category": " ", "priceMinor": 1 }),
            "category",
            "category: must not be empty",
        ),
    ];
    for (patch, field, message) in cases {
        let error = gw
            .error(&update_product_op(), json!({ "id": id, "input": patch }))
            .await;
        assert_error(&error, "BAD_USER_INPUT", field, message);
        let read = only(gw.query(&read_product_op(), json!({ "id": id })).await);
        assert_eq!(read, retired, "after {patch}");
    }

    let missing = gw
        .error(
            &update_product_op(),
            json!({ "id": global_id("Product", 999_999), "input": { "active": true } }),
        )
        .await;
    assert_not_found(&missing, "product 999999 not found");
    let wrong_kind = gw
        .error(
            &update_product_op(),
            json!({ "id": global_id("Customer", 1), "input": { "active": true } }),
        )
        .await;
    assert_error(
        &wrong_kind,
        "BAD_USER_INPUT",
        "id",
        "id: is a Customer id, expected a Product id",
    );
}

// ---------------------------------------------------------------------------------
// placeOrder
// ---------------------------------------------------------------------------------

async fn place_order_prices_the_items_and_stores_them_together(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let ada = customer_named(&gw, "c-ada", "Ada").await;
    let mat = create_product(&gw, "MAT", 9900, true).await;
    let block = create_product(&gw, "BLOCK", 3500, true).await;

    let order = only(
        gw.query(
            &place_order_op(),
            json!({ "input": {
                "customerId": ada, "channel": "APP", "discountMinor": 1000, "currency": "cny",
                "items": [
                    { "productId": mat, "quantity": 2 },
                    { "productId": block, "quantity": 1, "unitPriceMinor": 3000 },
                ],
            } }),
        )
        .await,
    );
    assert_eq!(order["status"], "PLACED");
    assert_eq!(order["channel"], "APP");
    assert_eq!(
        order["subtotal"],
        json!({ "minor": 22800, "currency": "CNY", "amount": "228.00" })
    );
    assert_eq!(
        order["discount"],
        json!({ "minor": 1000, "currency": "CNY", "amount": "10.00" })
    );
    assert_eq!(
        order["total"],
        json!({ "minor": 21800, "currency": "CNY", "amount": "218.00" })
    );
    assert_eq!(
        order["items"],
        json!([
            { "quantity": 2, "unitPrice": { "minor": 9900, "currency": "CNY" }, "lineTotal": { "minor": 19800, "currency": "CNY" }, "product": { "sku": "MAT" } },
            { "quantity": 1, "unitPrice": { "minor": 3000, "currency": "CNY" }, "lineTotal": { "minor": 3000, "currency": "CNY" }, "product": { "sku": "BLOCK" } },
        ])
    );
    assert_eq!(order["customer"]["id"], ada.as_str());
    assert!(order["placedAt"].is_string());
    for stamp in [
        "paidAt",
        "shippedAt",
        "deliveredAt",
        "cancelledAt",
        "refundedAt",
    ] {
        assert_eq!(order[stamp], Value::Null, "{stamp}");
    }
    let number = text(&order["orderNumber"]);
    assert!(
        number.starts_with("RT")
            && number.len() == 18
            && number[2..].chars().all(|c| c.is_ascii_digit()),
        "{number}"
    );
    assert_eq!(read_order(&gw, text(&order["id"])).await, order);

    // A free line and a discount of the whole subtotal are allowed; the currency
    // defaults to the shop's.
    let free = only(
        gw.query(
            &place_order_op(),
            json!({ "input": {
                "customerId": ada, "channel": "STORE", "discountMinor": 3500,
                "items": [
                    { "productId": block, "quantity": 1 },
                    { "productId": mat, "quantity": 999, "unitPriceMinor": 0 },
                ],
            } }),
        )
        .await,
    );
    assert_eq!(free["subtotal"]["minor"], 3500);
    assert_eq!(free["total"]["minor"], 0);
    assert_eq!(free["total"]["currency"], "CNY");
    assert_eq!(free["items"][1]["quantity"], 999);
    assert_eq!(free["items"][1]["lineTotal"]["minor"], 0);
    assert_ne!(free["orderNumber"], order["orderNumber"]);

    assert_eq!(
        orders_of(&gw, &ada).await,
        [text(&free["id"]), text(&order["id"])],
        "newest first"
    );
}

async fn place_order_refuses_bad_orders_and_writes_nothing(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let ada = customer_named(&gw, "c-ada", "Ada").await;
    let mat = create_product(&gw, "MAT", 9900, true).await;
    let chair = create_product(&gw, "OFF-CHAIR", 59900, false).await;
    let first = place_order(&gw, &ada, vec![line(&mat, 1)]).await;
    let before = orders_of(&gw, &ada).await;
    assert_eq!(before, [text(&first["id"])]);

    let unknown = global_id("Product", 999_999);
    let too_many: Vec<Value> = (0..101).map(|_| line(&mat, 1)).collect();
    let cases = [
        (
            json!({ "items": [] }),
            "items",
            "items: must hold at least one item",
        ),
        (
            json!({ "items": too_many }),
            "items",
            "items: must hold at most 100 items",
        ),
        (
            json!({ "items": [line(&mat, 1), line(&unknown, 1)] }),
            "items[1].productId",
            "items[1].productId: no such product",
        ),
        (
            json!({ "items": [line(&mat, 1), line(&chair, 1)] }),
            "items[1].productId",
            "items[1].productId: product OFF-CHAIR is not for sale",
        ),
        (
            json!({ "items": [line(&mat, 1), line(&ada, 1)] }),
            "items[1].productId",
            "items[1].productId: is a Customer id, expected a Product id",
        ),
        (
            json!({ "items": [line(&mat, 0)] }),
            "items[0].quantity",
            "items[0].quantity: must be between 1 and 999",
        ),
        (
            json!({ "items": [line(&mat, 1), line(&mat, 1000)] }),
            "items[1].quantity",
            "items[1].quantity: must be between 1 and 999",
        ),
        (
            json!({ "items": [line(&mat, -1)] }),
            "items[0].quantity",
            "items[0].quantity: must be between 1 and 999",
        ),
        (
            json!({ "items": [{ "productId": mat, "quantity": 1, "unitPriceMinor": 9901 }] }),
            "items[0].unitPriceMinor",
            "items[0].unitPriceMinor: must be between 0 and the list price 9900",
        ),
        (
            json!({ "items": [{ "productId": mat, "quantity": 1, "unitPriceMinor": -1 }] }),
            "items[0].unitPriceMinor",
            "items[0].unitPriceMinor: must be between 0 and the list price 9900",
        ),
        (
            json!({ "items": [line(&mat, 1)], "discountMinor": 9901 }),
            "discountMinor",
            "discountMinor: must not exceed the subtotal 9900",
        ),
        (
            json!({ "items": [line(&mat, 2)], "discountMinor": -1 }),
            "discountMinor",
            "discountMinor: must not be negative",
        ),
        (
            json!({ "items": [line(&mat, 1)], "currency": "USD" }),
            "currency",
            "currency: must be the shop currency CNY",
        ),
        (
            json!({ "items": [line(&mat, 1)], "currency": "euro" }),
            "currency",
            "currency: must be an ISO 4217 code such as CNY",
        ),
        (
            json!({ "items": [line(&mat, 1)], "customerId": global_id("Customer", 999_999) }),
            "customerId",
            "customerId: no such customer",
        ),
        (
            json!({ "items": [line(&mat, 1)], "customerId": mat }),
            "customerId",
            "customerId: is a Product id, expected a Customer id",
        ),
    ];
    for (overrides, field, message) in cases {
        let mut input = json!({ "customerId": ada, "channel": "WEB" });
        for (key, value) in overrides.as_object().unwrap() {
            input[key] = value.clone();
        }
        let error = gw.error(&place_order_op(), json!({ "input": input })).await;
        assert_error(&error, "BAD_USER_INPUT", field, message);

        assert_eq!(orders_of(&gw, &ada).await, before, "after {field}");
        assert_eq!(count(&gw, "orders").await, 1, "after {field}");
    }
    // The one order there is still has its one line.
    assert_eq!(
        read_order(&gw, text(&first["id"])).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

// ---------------------------------------------------------------------------------
// updateOrderStatus
// ---------------------------------------------------------------------------------

async fn update_order_status_follows_the_lifecycle(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let ada = customer_named(&gw, "c-ada", "Ada").await;
    let mat = create_product(&gw, "MAT", 9900, true).await;

    // The whole happy path, each step stamped.
    let order = place_order(&gw, &ada, vec![line(&mat, 1)]).await;
    let id = text(&order["id"]).to_string();
    let paid = move_order(&gw, &id, "PAID").await;
    assert_eq!(paid["status"], "PAID");
    assert!(paid["paidAt"].is_string());
    assert_eq!(paid["shippedAt"], Value::Null);
    let shipped = move_order(&gw, &id, "SHIPPED").await;
    assert!(shipped["shippedAt"].is_string());
    assert_eq!(shipped["paidAt"], paid["paidAt"], "earlier stamps stay");
    let delivered = move_order(&gw, &id, "DELIVERED").await;
    assert!(delivered["deliveredAt"].is_string());
    let refunded = move_order(&gw, &id, "REFUNDED").await;
    assert_eq!(refunded["status"], "REFUNDED");
    assert!(refunded["refundedAt"].is_string());
    assert_eq!(refunded["cancelledAt"], Value::Null);
    assert_eq!(refunded["placedAt"], order["placedAt"]);
    assert_eq!(refunded["total"], order["total"]);
    assert_eq!(read_order(&gw, &id).await, refunded);

    // Skipping a step is refused, and the order stays where it was.
    let fresh = place_order(&gw, &ada, vec![line(&mat, 1)]).await;
    let fresh_id = text(&fresh["id"]).to_string();
    let skip = gw
        .error(
            &update_order_status_op(),
            json!({ "id": fresh_id, "status": "DELIVERED" }),
        )
        .await;
    assert_error(
        &skip,
        "CONFLICT",
        "status",
        "status: an order cannot move from PLACED to DELIVERED",
    );
    assert_eq!(read_order(&gw, &fresh_id).await, fresh);

    // A cancelled order cannot be paid.
    let cancelled = move_order(&gw, &fresh_id, "CANCELLED").await;
    assert!(cancelled["cancelledAt"].is_string());
    let pay = gw
        .error(
            &update_order_status_op(),
            json!({ "id": fresh_id, "status": "PAID" }),
        )
        .await;
    assert_error(
        &pay,
        "CONFLICT",
        "status",
        "status: an order cannot move from CANCELLED to PAID",
    );
    let still = read_order(&gw, &fresh_id).await;
    assert_eq!(still["status"], "CANCELLED");
    assert_eq!(still["paidAt"], Value::Null);

    let missing = gw
        .error(
            &update_order_status_op(),
            json!({ "id": global_id("Order", 999_999), "status": "PAID" }),
        )
        .await;
    assert_not_found(&missing, "order 999999 not found");
    let wrong_kind = gw
        .error(
            &update_order_status_op(),
            json!({ "id": ada, "status": "PAID" }),
        )
        .await;
    assert_error(
        &wrong_kind,
        "BAD_USER_INPUT",
        "id",
        "id: is a Customer id, expected a Order id",
    );
}

/// Every (from, to) pair of order statuses: the eight moves of the lifecycle succeed,
/// every other one is a CONFLICT naming both statuses and leaves the order alone.
async fn order_status_moves_are_exactly_the_lifecycle(backend: Backend) {
    const STATUSES: [&str; 6] = [
        "PLACED",
        "PAID",
        "SHIPPED",
        "DELIVERED",
        "CANCELLED",
        "REFUNDED",
    ];
    const ALLOWED: [(&str, &str); 8] = [
        ("PLACED", "PAID"),
        ("PLACED", "CANCELLED"),
        ("PAID", "SHIPPED"),
        ("PAID", "CANCELLED"),
        ("PAID", "REFUNDED"),
        ("SHIPPED", "DELIVERED"),
        ("SHIPPED", "REFUNDED"),
        ("DELIVERED", "REFUNDED"),
    ];
    fn path_to(status: &str) -> &'static [&'static str] {
        match status {
            "PLACED" => &[],
            "PAID" => &["PAID"],
            "SHIPPED" => &["PAID", "SHIPPED"],
            "DELIVERED" => &["PAID", "SHIPPED", "DELIVERED"],
            "CANCELLED" => &["CANCELLED"],
            "REFUNDED" => &["PAID", "REFUNDED"],
            other => panic!("unknown status {other}"),
        }
    }

    let gw = TestGateway::start(backend).await;
    let ada = customer_named(&gw, "c-ada", "Ada").await;
    let mat = create_product(&gw, "MAT", 9900, true).await;
    let order_in = |status: &'static str| {
        let (gw, ada, mat) = (&gw, ada.clone(), mat.clone());
        async move {
            let order = place_order(gw, &ada, vec![line(&mat, 1)]).await;
            let id = text(&order["id"]).to_string();
            for step in path_to(status) {
                move_order(gw, &id, step).await;
            }
            id
        }
    };

    for from in STATUSES {
        let order = order_in(from).await;
        for to in STATUSES {
            if ALLOWED.contains(&(from, to)) {
                let moved = move_order(&gw, &order_in(from).await, to).await;
                assert_eq!(moved["status"], to, "{from} -> {to}");
            } else {
                let error = gw
                    .error(
                        &update_order_status_op(),
                        json!({ "id": order, "status": to }),
                    )
                    .await;
                assert_error(
                    &error,
                    "CONFLICT",
                    "status",
                    &format!("status: an order cannot move from {from} to {to}"),
                );
                assert_eq!(
                    read_order(&gw, &order).await["status"],
                    from,
                    "{from} -> {to}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// createCampaign / updateCampaign
// ---------------------------------------------------------------------------------

async fn create_campaign_stores_each_kind_of_offer(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    create_product(&gw, "GIFT-1", 1500, true).await;

    let care = create_campaign(
        &gw,
        json!({ "name": " Birthday care ", "kind": "BIRTHDAY_CARE", "channels": ["EMAIL", "SMS", "EMAIL"] }),
    )
    .await;
    assert_eq!(care["name"], "Birthday care");
    assert_eq!(care["kind"], "BIRTHDAY_CARE");
    assert_eq!(
        care["channels"],
        json!(["EMAIL", "SMS"]),
        "deduplicated, in order"
    );
    assert_eq!(care["status"], "DRAFT", "DRAFT by default");
    assert_eq!(care["target"], json!({ "segment": null, "tagsAny": [] }));
    assert_eq!(
        care["offer"],
        json!({ "kind": "NONE", "amountMinor": null, "thresholdMinor": null, "percent": null, "pointsMultiplierTenths": null, "giftSku": null })
    );
    assert_eq!(care["startsAt"], Value::Null);
    assert_eq!(care["endsAt"], Value::Null);
    assert_eq!(care["createdAt"], care["updatedAt"]);
    assert_eq!(read_campaign(&gw, text(&care["id"])).await, care);

    let win_back = create_campaign(
        &gw,
        json!({
            "name": "Win back", "kind": "WIN_BACK", "channels": ["APP_PUSH"],
            "target": { "segment": { "slot": "tier", "key": "dormant" }, "tagsAny": ["Fitness", "office"] },
            "offer": { "amountOff": { "amountMinor": 1000, "thresholdMinor": 5000 } },
            "startsAt": "2025-03-01T08:00:00+08:00", "endsAt": "2025-03-31T00:00:00Z",
            "status": "SCHEDULED",
        }),
    )
    .await;
    assert_eq!(
        win_back["target"],
        json!({ "segment": { "slot": "tier", "key": "dormant" }, "tagsAny": ["fitness", "office"] })
    );
    assert_eq!(
        win_back["offer"],
        json!({ "kind": "AMOUNT_OFF", "amountMinor": 1000, "thresholdMinor": 5000, "percent": null, "pointsMultiplierTenths": null, "giftSku": null })
    );
    assert_eq!(win_back["startsAt"], "2025-03-01T00:00:00+00:00");
    assert_eq!(win_back["endsAt"], "2025-03-31T00:00:00+00:00");
    assert_eq!(win_back["status"], "SCHEDULED");
    assert_eq!(read_campaign(&gw, text(&win_back["id"])).await, win_back);

    let offers = [
        (
            json!({ "amountOff": { "amountMinor": 500 } }),
            json!({ "kind": "AMOUNT_OFF", "amountMinor": 500, "thresholdMinor": 0 }),
        ),
        (
            json!({ "amountOff": { "amountMinor": 500, "thresholdMinor": 500 } }),
            json!({ "kind": "AMOUNT_OFF", "amountMinor": 500, "thresholdMinor": 500 }),
        ),
        (
            json!({ "percentOff": 1 }),
            json!({ "kind": "PERCENT_OFF", "percent": 1 }),
        ),
        (
            json!({ "percentOff": 100 }),
            json!({ "kind": "PERCENT_OFF", "percent": 100 }),
        ),
        (
            json!({ "pointsMultiplierTenths": 15 }),
            json!({ "kind": "POINTS_MULTIPLIER", "pointsMultiplierTenths": 15 }),
        ),
        (
            json!({ "giftSku": "GIFT-1" }),
            json!({ "kind": "GIFT", "giftSku": "GIFT-1" }),
        ),
    ];
    for (offer, expected) in offers {
        let campaign = create_campaign(
            &gw,
            json!({ "name": "Offer", "kind": "MEMBER_EXCLUSIVE", "channels": ["SOCIAL"], "offer": offer }),
        )
        .await;
        let mut wanted = json!({ "kind": null, "amountMinor": null, "thresholdMinor": null, "percent": null, "pointsMultiplierTenths": null, "giftSku": null });
        for (key, value) in expected.as_object().unwrap() {
            wanted[key] = value.clone();
        }
        assert_eq!(campaign["offer"], wanted, "{offer}");
    }
    assert_eq!(count(&gw, "campaigns").await, 8);
}

async fn create_campaign_refuses_bad_input_and_writes_nothing(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    create_product(&gw, "GIFT-1", 1500, true).await;

    let cases = [
        (
            json!({ "channels": [] }),
            "channels",
            "channels: must name at least one channel",
        ),
        (json!({ "name": "  " }), "name", "name: must not be empty"),
        (
            json!({ "offer": { "percentOff": 0 } }),
            "offer.percentOff",
            "offer.percentOff: must be between 1 and 100",
        ),
        (
            json!({ "offer": { "percentOff": 101 } }),
            "offer.percentOff",
            "offer.percentOff: must be between 1 and 100",
        ),
        (
            json!({ "offer": { "amountOff": { "amountMinor": 1000, "thresholdMinor": 999 } } }),
            "offer.amountOff.thresholdMinor",
            "offer.amountOff.thresholdMinor: must be 0 (no threshold) or at least the amount off",
        ),
        (
            json!({ "offer": { "amountOff": { "amountMinor": 0 } } }),
            "offer.amountOff.amountMinor",
            "offer.amountOff.amountMinor: must be positive",
        ),
        (
            json!({ "offer": { "pointsMultiplierTenths": 10 } }),
            "offer.pointsMultiplierTenths",
            "offer.pointsMultiplierTenths: must be between 11 and 100",
        ),
        (
            json!({ "offer": { "pointsMultiplierTenths": 101 } }),
            "offer.pointsMultiplierTenths",
            "offer.pointsMultiplierTenths: must be between 11 and 100",
        ),
        (
            json!({ "offer": { "giftSku": "NOPE" } }),
            "offer.giftSku",
            "offer.giftSku: no such product",
        ),
        (
            json!({ "startsAt": "2025-03-01T00:00:00Z", "endsAt": "2025-02-28T00:00:00Z" }),
            "endsAt",
            "endsAt: must be after startsAt",
        ),
        (
            json!({ "startsAt": "2025-03-01T00:00:00Z", "endsAt": "2025-03-01T08:00:00+08:00" }),
            "endsAt",
            "endsAt: must be after startsAt",
        ),
        (
            json!({ "status": "RUNNING" }),
            "status",
            "status: a new campaign is DRAFT or SCHEDULED",
        ),
        (
            json!({ "status": "COMPLETED" }),
            "status",
            "status: a new campaign is DRAFT or SCHEDULED",
        ),
        (
            json!({ "target": { "tagsAny": ["office", "Not A Tag"] } }),
            "target.tagsAny[1]",
            "target.tagsAny[1]: must be 1 to 32 lowercase letters, digits or dashes",
        ),
        (
            json!({ "target": { "segment": { "slot": "", "key": "dormant" } } }),
            "target.segment.slot",
            "target.segment.slot: must not be empty",
        ),
    ];
    for (overrides, field, message) in cases {
        let mut input = json!({ "name": "Spring", "kind": "WIN_BACK", "channels": ["EMAIL"] });
        for (key, value) in overrides.as_object().unwrap() {
            input[key] = value.clone();
        }
        let error = gw
            .error(&create_campaign_op(), json!({ "input": input }))
            .await;
        assert_error(&error, "BAD_USER_INPUT", field, message);
    }

    // An offer is exactly one kind.
    let two_kinds = gw
        .post(
            &create_campaign_op(),
            json!({ "input": { "name": "Two", "kind": "WIN_BACK", "channels": ["EMAIL"], "offer": { "percentOff": 10, "giftSku": "GIFT-1" } } }),
        )
        .await;
    assert_eq!(
        two_kinds.body["errors"].as_array().map(Vec::len),
        Some(1),
        "{:#}",
        two_kinds.body
    );
    assert!(two_kinds.body["data"].is_null(), "{:#}", two_kinds.body);

    assert_eq!(count(&gw, "campaigns").await, 0);
}

async fn update_campaign_patches_fields_and_keeps_the_rest(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    create_product(&gw, "GIFT-1", 1500, true).await;
    let created = create_campaign(
        &gw,
        json!({
            "name": "Spring", "kind": "WIN_BACK", "channels": ["EMAIL"],
            "offer": { "percentOff": 10 },
            "startsAt": "2025-03-01T00:00:00Z", "endsAt": "2025-03-31T00:00:00Z",
        }),
    )
    .await;
    let id = text(&created["id"]).to_string();

    let renamed = update_campaign(
        &gw,
        &id,
        json!({ "name": "Spring again", "channels": ["SMS", "APP_PUSH"] }),
    )
    .await;
    assert_eq!(renamed["name"], "Spring again");
    assert_eq!(renamed["channels"], json!(["SMS", "APP_PUSH"]));
    for field in [
        "kind",
        "target",
        "offer",
        "startsAt",
        "endsAt",
        "status",
        "createdAt",
    ] {
        assert_eq!(renamed[field], created[field], "{field}");
    }

    let targeted = update_campaign(
        &gw,
        &id,
        json!({ "target": { "segment": { "slot": "tier", "key": "dormant" } }, "offer": { "giftSku": "GIFT-1" } }),
    )
    .await;
    assert_eq!(
        targeted["target"],
        json!({ "segment": { "slot": "tier", "key": "dormant" }, "tagsAny": [] })
    );
    assert_eq!(targeted["offer"]["kind"], "GIFT");
    assert_eq!(targeted["offer"]["giftSku"], "GIFT-1");
    assert_eq!(targeted["offer"]["percent"], Value::Null);

    // `null` removes the offer and clears a date; absent dates stay.
    let cleared = update_campaign(&gw, &id, json!({ "offer": null, "endsAt": null })).await;
    assert_eq!(cleared["offer"]["kind"], "NONE");
    assert_eq!(cleared["endsAt"], Value::Null);
    assert_eq!(cleared["startsAt"], "2025-03-01T00:00:00+00:00");
    let moved = update_campaign(&gw, &id, json!({ "endsAt": "2025-04-30T00:00:00Z" })).await;
    assert_eq!(moved["endsAt"], "2025-04-30T00:00:00+00:00");
    assert_eq!(read_campaign(&gw, &id).await, moved);

    // A refused patch changes nothing, whichever field is wrong.
    let cases = [
        (
            json!({ "name": "X", "endsAt": "2025-02-01T00:00:00Z" }),
            "endsAt",
            "endsAt: must be after startsAt",
        ),
        (
            json!({ "name": "X", "startsAt": "2025-05-01T00:00:00Z" }),
            "endsAt",
            "endsAt: must be after startsAt",
        ),
        (
            json!({ "name": "X", "channels": [] }),
            "channels",
            "channels: must name at least one channel",
        ),
        (
            json!({ "name": "X", "offer": { "percentOff": 0 } }),
            "offer.percentOff",
            "offer.percentOff: must be between 1 and 100",
        ),
        (
            json!({ "name": "X", "offer": { "giftSku": "NOPE" } }),
            "offer.giftSku",
            "offer.giftSku: no such product",
        ),
        (
            json!({ "name": "X", "target": { "tagsAny": ["BAD TAG"] } }),
            "target.tagsAny[0]",
            "target.tagsAny[0]: must be 1 to 32 lowercase letters, digits or dashes",
        ),
        (json!({ "name": "" }), "name", "name: must not be empty"),
    ];
    for (patch, field, message) in cases {
        let error = gw
            .error(&update_campaign_op(), json!({ "id": id, "input": patch }))
            .await;
        assert_error(&error, "BAD_USER_INPUT", field, message);
        assert_eq!(read_campaign(&gw, &id).await, moved, "after {patch}");
    }

    let missing = gw
        .error(
            &update_campaign_op(),
            json!({ "id": global_id("Campaign", 999_999), "input": { "name": "X" } }),
        )
        .await;
    assert_not_found(&missing, "campaign 999999 not found");
}

async fn update_campaign_moves_through_its_lifecycle(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let created = create_campaign(
        &gw,
        json!({ "name": "Spring", "kind": "WIN_BACK", "channels": ["EMAIL"] }),
    )
    .await;
    let id = text(&created["id"]).to_string();
    let status = |to: &'static str| {
        let (gw, id) = (&gw, id.clone());
        async move { update_campaign(gw, &id, json!({ "status": to })).await["status"].clone() }
    };

    for to in [
        "SCHEDULED",
        "DRAFT",
        "RUNNING",
        "PAUSED",
        "RUNNING",
        "COMPLETED",
    ] {
        assert_eq!(status(to).await, to);
    }

    // Finished campaigns stay finished; the refused patch writes nothing.
    let restart = gw
        .error(
            &update_campaign_op(),
            json!({ "id": id, "input": { "status": "RUNNING", "name": "Restarted" } }),
        )
        .await;
    assert_error(
        &restart,
        "CONFLICT",
        "status",
        "status: a campaign cannot move from COMPLETED to RUNNING",
    );
    let read = read_campaign(&gw, &id).await;
    assert_eq!(read["status"], "COMPLETED");
    assert_eq!(read["name"], "Spring");
    // Naming the status it already has is no move.
    assert_eq!(status("COMPLETED").await, "COMPLETED");
}

/// Every (from, to) pair of campaign statuses.
async fn campaign_status_moves_are_exactly_the_lifecycle(backend: Backend) {
    const STATUSES: [&str; 6] = [
        "DRAFT",
        "SCHEDULED",
        "RUNNING",
        "PAUSED",
        "COMPLETED",
        "CANCELLED",
    ];
    const ALLOWED: [(&str, &str); 12] = [
        ("DRAFT", "SCHEDULED"),
        ("DRAFT", "RUNNING"),
        ("DRAFT", "CANCELLED"),
        ("SCHEDULED", "DRAFT"),
        ("SCHEDULED", "RUNNING"),
        ("SCHEDULED", "CANCELLED"),
        ("RUNNING", "PAUSED"),
        ("RUNNING", "COMPLETED"),
        ("RUNNING", "CANCELLED"),
        ("PAUSED", "RUNNING"),
        ("PAUSED", "COMPLETED"),
        ("PAUSED", "CANCELLED"),
    ];
    fn path_to(status: &str) -> &'static [&'static str] {
        match status {
            "DRAFT" => &[],
            "SCHEDULED" => &["SCHEDULED"],
            "RUNNING" => &["RUNNING"],
            "PAUSED" => &["RUNNING", "PAUSED"],
            "COMPLETED" => &["RUNNING", "COMPLETED"],
            "CANCELLED" => &["CANCELLED"],
            other => panic!("unknown status {other}"),
        }
    }

    let gw = TestGateway::start(backend).await;
    let campaign_in = |status: &'static str| {
        let gw = &gw;
        async move {
            let campaign = create_campaign(
                gw,
                json!({ "name": "C", "kind": "REFERRAL", "channels": ["SMS"] }),
            )
            .await;
            let id = text(&campaign["id"]).to_string();
            for step in path_to(status) {
                update_campaign(gw, &id, json!({ "status": step })).await;
            }
            id
        }
    };

    for from in STATUSES {
        let campaign = campaign_in(from).await;
        for to in STATUSES {
            if from == to {
                continue;
            }
            if ALLOWED.contains(&(from, to)) {
                let moved =
                    update_campaign(&gw, &campaign_in(from).await, json!({ "status": to })).await;
                assert_eq!(moved["status"], to, "{from} -> {to}");
            } else {
                let error = gw
                    .error(
                        &update_campaign_op(),
                        json!({ "id": campaign, "input": { "status": to } }),
                    )
                    .await;
                assert_error(
                    &error,
                    "CONFLICT",
                    "status",
                    &format!("status: a campaign cannot move from {from} to {to}"),
                );
                assert_eq!(
                    read_campaign(&gw, &campaign).await["status"],
                    from,
                    "{from} -> {to}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// submitFeedback
// ---------------------------------------------------------------------------------

async fn submit_feedback_records_scores_and_text(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let ada = customer_named(&gw, "c-ada", "Ada").await;
    let mat = create_product(&gw, "MAT", 9900, true).await;
    let order = place_order(&gw, &ada, vec![line(&mat, 1)]).await;

    let review = submit_feedback(
        &gw,
        json!({ "customerId": ada, "orderId": order["id"], "category": "QUALITY", "csat": 4, "nps": 9, "text": "  Sturdy mat.  " }),
    )
    .await;
    assert_eq!(review["category"], "QUALITY");
    assert_eq!(review["csat"], 4);
    assert_eq!(review["nps"], 9);
    assert_eq!(review["text"], "Sturdy mat.");
    assert_eq!(review["status"], "RECEIVED");
    assert!(review["createdAt"].is_string());
    for stamp in ["acknowledgedAt", "resolvedAt", "closedAt"] {
        assert_eq!(review[stamp], Value::Null, "{stamp}");
    }
    assert_eq!(review["customer"]["id"], ada.as_str());
    assert_eq!(review["order"]["id"], order["id"]);

    // Scores alone are enough, 0 is a score, and the bounds are inclusive.
    let nps_only = submit_feedback(
        &gw,
        json!({ "customerId": ada, "category": "SERVICE", "nps": 0 }),
    )
    .await;
    assert_eq!(nps_only["nps"], 0);
    assert_eq!(nps_only["csat"], Value::Null);
    assert_eq!(nps_only["text"], "");
    assert_eq!(nps_only["order"], Value::Null);
    let bounds = submit_feedback(
        &gw,
        json!({ "customerId": ada, "category": "PAYMENT", "csat": 1, "nps": 10 }),
    )
    .await;
    assert_eq!((&bounds["csat"], &bounds["nps"]), (&json!(1), &json!(10)));
    let top = submit_feedback(
        &gw,
        json!({ "customerId": ada, "category": "REVIEW", "csat": 5 }),
    )
    .await;
    assert_eq!(top["csat"], 5);
    // Text alone is enough.
    let words = submit_feedback(
        &gw,
        json!({ "customerId": ada, "category": "SUGGESTION", "text": "Sell blocks" }),
    )
    .await;
    assert_eq!(words["text"], "Sell blocks");

    let read = read_customer(&gw, &ada).await;
    assert_eq!(read["feedback"]["totalCount"], 5);
    assert_eq!(
        read["feedback"]["nodes"][0]["text"], "Sell blocks",
        "newest first"
    );
}

async fn submit_feedback_refuses_bad_input_and_writes_nothing(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let ada = customer_named(&gw, "c-ada", "Ada").await;
    let bo = customer_named(&gw, "c-bo", "Bo").await;
    let mat = create_product(&gw, "MAT", 9900, true).await;
    let bos_order = place_order(&gw, &bo, vec![line(&mat, 1)]).await;

    let cases = [
        (
            json!({ "csat": 0 }),
            "csat",
            "csat: must be between 1 and 5",
        ),
        (
            json!({ "csat": 6 }),
            "csat",
            "csat: must be between 1 and 5",
        ),
        (json!({ "nps": 11 }), "nps", "nps: must be between 0 and 10"),
        (json!({ "nps": -1 }), "nps", "nps: must be between 0 and 10"),
        (
            json!({ "csat": 3, "nps": 11 }),
            "nps",
            "nps: must be between 0 and 10",
        ),
        (
            json!({ "text": "   " }),
            "text",
            "text: must not be empty when neither csat nor nps is given",
        ),
        (
            json!({ "text": "x".repeat(5001), "csat": 3 }),
            "text",
            "text: must be at most 5000 characters",
        ),
        (
            json!({ "csat": 3, "orderId": bos_order["id"] }),
            "orderId",
            "orderId: the order belongs to another customer",
        ),
        (
            json!({ "csat": 3, "orderId": global_id("Order", 999_999) }),
            "orderId",
            "orderId: no such order",
        ),
        (
            json!({ "csat": 3, "orderId": ada }),
            "orderId",
            "orderId: is a Customer id, expected a Order id",
        ),
        (
            json!({ "csat": 3, "customerId": global_id("Customer", 999_999) }),
            "customerId",
            "customerId: no such customer",
        ),
        (
            json!({ "csat": 3, "customerId": mat }),
            "customerId",
            "customerId: is a Product id, expected a Customer id",
        ),
    ];
    for (overrides, field, message) in cases {
        let mut input = json!({ "customerId": ada, "category": "QUALITY" });
        for (key, value) in overrides.as_object().unwrap() {
            input[key] = value.clone();
        }
        let error = gw
            .error(&submit_feedback_op(), json!({ "input": input }))
            .await;
        assert_error(&error, "BAD_USER_INPUT", field, message);
    }
    assert_eq!(count(&gw, "feedback").await, 0);
    assert_eq!(read_customer(&gw, &ada).await["feedback"]["totalCount"], 0);
}

// ---------------------------------------------------------------------------------
// Races and limits
// ---------------------------------------------------------------------------------

/// Clients retry and imports run in parallel: when several requests create the same
/// external id or SKU at once, one wins and every other gets the same CONFLICT a
/// sequential duplicate gets — never an internal error.
async fn concurrent_duplicates_are_conflicts(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let customer_op = create_customer_op();
    let product_op = create_product_op();

    for round in 0..5 {
        let external_id = format!("c-race-{round}");
        let attempts = (0..8).map(|i| {
            gw.post(
                &customer_op,
                json!({ "input": { "externalId": external_id, "name": format!("Racer {i}") } }),
            )
        });
        let replies = futures::future::join_all(attempts).await;
        let mut created = 0;
        for reply in &replies {
            match reply.body["errors"].as_array() {
                None => created += 1,
                Some(errors) => {
                    assert_eq!(errors.len(), 1, "{:#}", reply.body);
                    assert_error(
                        &errors[0],
                        "CONFLICT",
                        "externalId",
                        &format!("externalId: {external_id} is already used by another customer"),
                    );
                }
            }
        }
        assert_eq!(created, 1, "exactly one createCustomer wins");

        let sku = format!("RACE-{round}");
        let attempts = (0..8).map(|i| {
            gw.post(
                &product_op,
                json!({ "input": { "sku": sku, "name": format!("Racer {i}"), "category": "fitness", "priceMinor": 100 } }),
            )
        });
        let replies = futures::future::join_all(attempts).await;
        let mut created = 0;
        for reply in &replies {
            match reply.body["errors"].as_array() {
                None => created += 1,
                Some(errors) => {
                    assert_eq!(errors.len(), 1, "{:#}", reply.body);
                    assert_error(
                        &errors[0],
                        "CONFLICT",
                        "sku",
                        &format!("sku: {sku} is already used by another product"),
                    );
                }
            }
        }
        assert_eq!(created, 1, "exactly one createProduct wins");
    }
    assert_eq!(count(&gw, "customers").await, 5);
    assert_eq!(count(&gw, "products").await, 5);
}

/// Prices are 64-bit minor units. An order whose lines would not fit in one is an
/// input error like any other, and writes nothing.
async fn place_order_refuses_totals_too_large_to_represent(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let ada = customer_named(&gw, "c-ada", "Ada").await;
    let price = i64::MAX / 2 + 1;

    let product = gw
        .post(
            &create_product_op(),
            json!({ "input": { "sku": "HUGE", "name": "Huge", "category": "luxury", "priceMinor": price } }),
        )
        .await;
    if let Some(errors) = product.body["errors"].as_array() {
        // Refusing such a price up front also keeps every total in range.
        assert_eq!(errors.len(), 1, "{:#}", product.body);
        assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT");
        assert_eq!(errors[0]["extensions"]["field"], "priceMinor");
        return;
    }
    let huge = text(&product.body["data"]["createProduct"]["id"]).to_string();

    // Two of them cost more than an i64 holds.
    let response = gw
        .client
        .post(gw.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({
            "query": place_order_op(),
            "variables": { "input": { "customerId": ada, "channel": "WEB", "items": [line(&huge, 2)] } },
        }))
        .send()
        .await
        .expect("the gateway answers placeOrder rather than dropping the connection");
    let reply = retain_tests::Reply::read(response).await;
    let errors = reply.body["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 1, "one error, no order: {:#}", reply.body);
    assert_eq!(
        errors[0]["extensions"]["code"], "BAD_USER_INPUT",
        "{:#}",
        reply.body
    );
    assert!(reply.body["data"].is_null(), "{:#}", reply.body);
    assert_eq!(count(&gw, "orders").await, 0);
    assert!(orders_of(&gw, &ada).await.is_empty());
}

on_both_backends!(
    create_customer_returns_the_stored_normalised_profile,
    create_customer_refuses_bad_input_and_writes_nothing,
    create_customer_refuses_a_duplicate_external_id,
    update_customer_changes_only_what_the_patch_names,
    update_customer_refuses_bad_input_and_changes_nothing,
    erase_customer_removes_personal_data_and_keeps_orders,
    record_interaction_links_customer_product_and_campaign,
    create_product_returns_the_stored_product,
    create_product_refuses_bad_input_and_duplicates,
    update_product_changes_only_what_the_patch_names,
    place_order_prices_the_items_and_stores_them_together,
    place_order_refuses_bad_orders_and_writes_nothing,
    update_order_status_follows_the_lifecycle,
    order_status_moves_are_exactly_the_lifecycle,
    create_campaign_stores_each_kind_of_offer,
    create_campaign_refuses_bad_input_and_writes_nothing,
    update_campaign_patches_fields_and_keeps_the_rest,
    update_campaign_moves_through_its_lifecycle,
    campaign_status_moves_are_exactly_the_lifecycle,
    submit_feedback_records_scores_and_text,
    submit_feedback_refuses_bad_input_and_writes_nothing,
    concurrent_duplicates_are_conflicts,
    place_order_refuses_totals_too_large_to_represent,
);
