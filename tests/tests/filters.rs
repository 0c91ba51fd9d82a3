//! Every filter and sort order of the top-level lists, end to end.
//!
//! Each test arranges the same small shop through the API (customers, products,
//! orders moved through their lifecycle, interactions, feedback and campaigns), then
//! asks a list for one criterion at a time and expects exactly the rows it names, in
//! id order. Rows are named by short labels (`Ada`, `mat`, `O3`, …) so a failure reads
//! as a sentence.

use std::collections::HashMap;

use retain_tests::{Backend, TestGateway, on_both_backends};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------
// The lists under test
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum List {
    Customers,
    Products,
    Orders,
    Campaigns,
    Feedback,
}

impl List {
    fn field(self) -> &'static str {
        match self {
            List::Customers => "customers",
            List::Products => "products",
            List::Orders => "orders",
            List::Campaigns => "campaigns",
            List::Feedback => "feedback",
        }
    }

    fn filter_type(self) -> &'static str {
        match self {
            List::Customers => "CustomerFilter",
            List::Products => "ProductFilter",
            List::Orders => "OrderFilter",
            List::Campaigns => "CampaignFilter",
            List::Feedback => "FeedbackFilter",
        }
    }

    fn order_type(self) -> &'static str {
        match self {
            List::Customers => "CustomerOrder",
            List::Products => "ProductOrder",
            List::Orders => "OrderOrder",
            List::Campaigns => "CampaignOrder",
            List::Feedback => "FeedbackOrder",
        }
    }

    fn query(self) -> String {
        format!(
            "query($filter: {filter}, $order: {order}) {{ {field}(filter: $filter, orderBy: $order, first: 100) {{ totalCount nodes {{ id }} }} }}",
            filter = self.filter_type(),
            order = self.order_type(),
            field = self.field(),
        )
    }
}

/// Sorts by id, ascending: creation order, the order every expectation is written in.
fn by_id() -> Value {
    json!({ "field": "ID", "direction": "ASC" })
}

// ---------------------------------------------------------------------------------
// The shop every test arranges
// ---------------------------------------------------------------------------------

/// The gateway and the rows arranged in it, each known by a label.
struct Shop {
    gw: TestGateway,
    /// Global id → label.
    labels: HashMap<String, &'static str>,
    /// Label → global id.
    ids: HashMap<&'static str, String>,
    /// Label → the time the gateway stamped (an order's `placedAt`, feedback's
    /// `createdAt`).
    stamped: HashMap<&'static str, String>,
}

impl Shop {
    fn id(&self, label: &str) -> &str {
        self.ids
            .get(label)
            .unwrap_or_else(|| panic!("no row labelled {label}"))
    }

    fn at(&self, label: &str) -> &str {
        self.stamped
            .get(label)
            .unwrap_or_else(|| panic!("no time for {label}"))
    }

    fn remember(&mut self, label: &'static str, id: &Value) {
        let id = id.as_str().expect("an id").to_string();
        self.labels.insert(id.clone(), label);
        self.ids.insert(label, id);
    }

    async fn mutate(&self, mutation: &str, input: Value) -> Value {
        self.gw.query(mutation, json!({ "input": input })).await
    }

    async fn customer(&mut self, label: &'static str, input: Value) {
        let data = self
            .mutate(
                "mutation($input: CustomerInput!) { createCustomer(input: $input) { id } }",
                input,
            )
            .await;
        self.remember(label, &data["createCustomer"]["id"]);
    }

    async fn product(&mut self, label: &'static str, input: Value) {
        let data = self
            .mutate(
                "mutation($input: ProductInput!) { createProduct(input: $input) { id } }",
                input,
            )
            .await;
        self.remember(label, &data["createProduct"]["id"]);
    }

    /// Places an order for `customer` of `(product, quantity)` lines and moves it
    /// through `statuses`.
    async fn order(
        &mut self,
        label: &'static str,
        customer: &str,
        channel: &str,
        items: &[(&str, i32)],
        discount_minor: i64,
        statuses: &[&str],
    ) {
        let items: Vec<Value> = items
            .iter()
            .map(|(product, quantity)| json!({ "productId": self.id(product), "quantity": quantity }))
            .collect();
        let input = json!({
            "customerId": self.id(customer),
            "channel": channel,
            "items": items,
            "discountMinor": discount_minor,
        });
        let data = self
            .mutate(
                "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id placedAt } }",
                input,
            )
            .await;
        self.remember(label, &data["placeOrder"]["id"]);
        let placed_at = data["placeOrder"]["placedAt"].as_str().unwrap().to_string();
        self.stamped.insert(label, placed_at);
        for status in statuses {
            let moved = self
                .gw
                .query(
                    "mutation($id: ID!, $status: OrderStatus!) { updateOrderStatus(id: $id, status: $status) { status } }",
                    json!({ "id": self.id(label), "status": status }),
                )
                .await;
            assert_eq!(moved["updateOrderStatus"]["status"], *status);
        }
    }

    /// Creates a campaign and moves it through `statuses`.
    async fn campaign(&mut self, label: &'static str, input: Value, statuses: &[&str]) {
        let data = self
            .mutate(
                "mutation($input: CampaignInput!) { createCampaign(input: $input) { id } }",
                input,
            )
            .await;
        self.remember(label, &data["createCampaign"]["id"]);
        for status in statuses {
            let moved = self
                .gw
                .query(
                    "mutation($id: ID!, $status: CampaignStatus!) { updateCampaign(id: $id, input: { status: $status }) { status } }",
                    json!({ "id": self.id(label), "status": status }),
                )
                .await;
            assert_eq!(moved["updateCampaign"]["status"], *status);
        }
    }

    async fn feedback(
        &mut self,
        label: &'static str,
        customer: &str,
        order: Option<&str>,
        fields: Value,
    ) {
        let mut input = json!({ "customerId": self.id(customer) });
        if let Some(order) = order {
            input["orderId"] = json!(self.id(order));
        }
        for (key, value) in fields.as_object().unwrap() {
            input[key] = value.clone();
        }
        let data = self
            .mutate(
                "mutation($input: SubmitFeedbackInput!) { submitFeedback(input: $input) { id createdAt } }",
                input,
            )
            .await;
        self.remember(label, &data["submitFeedback"]["id"]);
        let created_at = data["submitFeedback"]["createdAt"]
            .as_str()
            .unwrap()
            .to_string();
        self.stamped.insert(label, created_at);
    }

    async fn interaction(&self, customer: &str, kind: &str, channel: &str, product: Option<&str>) {
        let mut input =
            json!({ "customerId": self.id(customer), "kind": kind, "channel": channel });
        if let Some(product) = product {
            input["productId"] = json!(self.id(product));
        }
        self.mutate(
            "mutation($input: RecordInteractionInput!) { recordInteraction(input: $input) { id } }",
            input,
        )
        .await;
    }

    async fn erase(&self, customer: &str) {
        let data = self
            .gw
            .query(
                "mutation($id: ID!) { eraseCustomer(id: $id) { name erasedAt } }",
                json!({ "id": self.id(customer) }),
            )
            .await;
        assert_eq!(data["eraseCustomer"]["name"], "Erased customer");
    }

    /// The labels of the rows `list` returns for `filter`, sorted by `order`. The
    /// connection's `totalCount` must agree with the rows.
    async fn list(&self, list: List, filter: Value, order: Value) -> Vec<&'static str> {
        let data = self
            .gw
            .query(&list.query(), json!({ "filter": filter, "order": order }))
            .await;
        let connection = &data[list.field()];
        let labels: Vec<&'static str> = connection["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|node| {
                let id = node["id"].as_str().unwrap();
                *self
                    .labels
                    .get(id)
                    .unwrap_or_else(|| panic!("unknown row {id}"))
            })
            .collect();
        assert_eq!(
            connection["totalCount"],
            labels.len(),
            "totalCount of {} with filter {filter}",
            list.field()
        );
        labels
    }

    /// `list` with `filter`, in id order, must be exactly `expected`.
    async fn expect(&self, list: List, filter: Value, expected: &[&str]) {
        let found = self.list(list, filter.clone(), by_id()).await;
        assert_eq!(found, expected, "{} with filter {filter}", list.field());
    }

    /// `list` sorted by `field` in `direction` must be exactly `expected`.
    async fn expect_sorted(&self, list: List, field: &str, direction: &str, expected: &[&str]) {
        let order = json!({ "field": field, "direction": direction });
        let found = self.list(list, Value::Null, order.clone()).await;
        assert_eq!(found, expected, "{} sorted by {order}", list.field());
    }

    /// `list` with `filter` must fail with one input error naming `field`.
    async fn expect_input_error(&self, list: List, filter: Value, field: &str, message: &str) {
        let error = self
            .gw
            .error(&list.query(), json!({ "filter": filter, "order": by_id() }))
            .await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
        assert_eq!(error["extensions"]["field"], field, "{error:#}");
        assert_eq!(error["message"], message, "{error:#}");
    }
}

/// Arranges the shop:
///
/// | customer | email | phone | birthday | signup (UTC) | tags | consent |
/// |---|---|---|---|---|---|---|
/// | Ada | ada@example.com | +86 138 0000 0001 | 1990-03-15 | 2024-01-10 09:00 | fitness, office | email, sms |
/// | Bea | bea@shop.cn | – | 1985-07-01 | 2024-02-20 12:00 | mother-and-baby | app push |
/// | Cal | – | 010-5555-0000 | – | 2024-03-05 18:30 | fitness, mother-and-baby | email, social |
/// | Dan | dan@example.com | – | 2000-12-31 | 2023-11-11 11:11:11 | – | – |
/// | Eve | erased at the end: every PII field empty, name "Erased customer" | | | 2024-04-01 00:00 | | |
///
/// Products (label: sku, name, category, price, active): mat FIT-MAT "Yoga Mat"
/// fitness 9900; block ZEN-BLK "Zen_Block" props 3500; wipes BABY-WIPES "Baby Wipes"
/// mother-and-baby 2500; chair OFF-CHAIR "Desk Chair" office 59900 inactive; tee
/// TEE-100 "100% Cotton Tee" apparel 12900; protein PRO-100 "100x Protein" fitness
/// 19900; lamp ZEN-LAMP "Zenith Lamp" props 3500.
///
/// Orders, placed in this order (customer, channel, total, status): O1 Ada WEB 9900
/// PAID; O2 Ada APP 4500 PLACED; O3 Bea STORE 22400 DELIVERED; O4 Cal MINI_PROGRAM
/// 12900 CANCELLED; O5 Dan APP 7000 REFUNDED; O6 Eve WEB 8900 PAID.
///
/// Campaigns, created in this order (kind, status, startsAt): birthday "Birthday
/// Treat" BIRTHDAY_CARE DRAFT 2025-01-01; winback "Win Back Spring" WIN_BACK RUNNING
/// 2025-03-01; vip "VIP Lounge" MEMBER_EXCLUSIVE CANCELLED –; refill "Refill
/// Reminder" REPURCHASE_REMINDER PAUSED 2025-02-01; flash "50% Flash_Sale"
/// HOLIDAY_CARE SCHEDULED 2025-06-01.
///
/// Feedback, submitted in this order (customer, category, csat, nps): F1 Ada QUALITY
/// 5 10 (on O1); F2 Ada SERVICE 2 –; F3 Bea DELIVERY – 6 (on O3); F4 Cal PAYMENT 3 0;
/// F5 Dan SUGGESTION – –; F6 Eve REVIEW 4 8.
async fn shop(backend: Backend) -> Shop {
    let mut shop = Shop {
        gw: TestGateway::start(backend).await,
        labels: HashMap::new(),
        ids: HashMap::new(),
        stamped: HashMap::new(),
    };

    shop.customer(
        "Ada",
        json!({
            "externalId": "c-ada", "name": "Ada", "email": "ada@example.com",
            "phone": "+86 138 0000 0001", "birthday": "1990-03-15",
            "signupAt": "2024-01-10T09:00:00Z", "tags": ["fitness", "office"],
            "consent": { "email": true, "sms": true },
        }),
    )
    .await;
    shop.customer(
        "Bea",
        json!({
            "externalId": "c-bea", "name": "Bea", "email": "bea@shop.cn",
            "birthday": "1985-07-01", "signupAt": "2024-02-20T12:00:00Z",
            "tags": ["mother-and-baby"], "consent": { "appPush": true },
        }),
    )
    .await;
    shop.customer(
        "Cal",
        json!({
            "externalId": "c-cal", "name": "Cal", "phone": "010-5555-0000",
            "signupAt": "2024-03-05T18:30:00Z", "tags": ["fitness", "mother-and-baby"],
            "consent": { "email": true, "social": true },
        }),
    )
    .await;
    shop.customer(
        "Dan",
        json!({
            "externalId": "c-dan", "name": "Dan", "email": "dan@example.com",
            "birthday": "2000-12-31", "signupAt": "2023-11-11T11:11:11Z",
        }),
    )
    .await;
    shop.customer(
        "Eve",
        json!({
            "externalId": "c-eve", "name": "Eve", "email": "eve@example.com",
            "phone": "+86 139 0000 0005", "birthday": "1995-05-05",
            "signupAt": "2024-04-01T00:00:00Z", "tags": ["office"],
            "consent": { "email": true, "sms": true, "appPush": true, "social": true },
        }),
    )
    .await;

    for (label, sku, name, category, price, active) in [
        ("mat", "FIT-MAT", "Yoga Mat", "fitness", 9900, true),
        ("block", "ZEN-BLK", "Zen_Block", "props", 3500, true),
        (
            "wipes",
            "BABY-WIPES",
            "Baby Wipes",
            "mother-and-baby",
            2500,
            true,
        ),
        ("chair", "OFF-CHAIR", "Desk Chair", "office", 59900, false),
        ("tee", "TEE-100", "100% Cotton Tee", "apparel", 12900, true),
        ("protein", "PRO-100", "100x Protein", "fitness", 19900, true),
        ("lamp", "ZEN-LAMP", "Zenith Lamp", "props", 3500, true),
    ] {
        shop.product(
            label,
            json!({ "sku": sku, "name": name, "category": category, "priceMinor": price, "active": active }),
        )
        .await;
    }

    shop.order("O1", "Ada", "WEB", &[("mat", 1)], 0, &["PAID"])
        .await;
    shop.order("O2", "Ada", "APP", &[("wipes", 2)], 500, &[])
        .await;
    shop.order(
        "O3",
        "Bea",
        "STORE",
        &[("protein", 1), ("wipes", 1)],
        0,
        &["PAID", "SHIPPED", "DELIVERED"],
    )
    .await;
    shop.order(
        "O4",
        "Cal",
        "MINI_PROGRAM",
        &[("tee", 1)],
        0,
        &["CANCELLED"],
    )
    .await;
    shop.order(
        "O5",
        "Dan",
        "APP",
        &[("block", 2)],
        0,
        &["PAID", "REFUNDED"],
    )
    .await;
    shop.order("O6", "Eve", "WEB", &[("mat", 1)], 1000, &["PAID"])
        .await;

    shop.interaction("Ada", "VIEW", "APP", Some("mat")).await;
    shop.interaction("Bea", "LOGIN", "WEB", None).await;

    shop.campaign(
        "birthday",
        json!({
            "name": "Birthday Treat", "kind": "BIRTHDAY_CARE", "channels": ["EMAIL"],
            "startsAt": "2025-01-01T00:00:00Z",
        }),
        &[],
    )
    .await;
    shop.campaign(
        "winback",
        json!({
            "name": "Win Back Spring", "kind": "WIN_BACK", "channels": ["SMS", "APP_PUSH"],
            "startsAt": "2025-03-01T00:00:00Z", "status": "SCHEDULED",
            "offer": { "amountOff": { "amountMinor": 1000, "thresholdMinor": 5000 } },
        }),
        &["RUNNING"],
    )
    .await;
    shop.campaign(
        "vip",
        json!({ "name": "VIP Lounge", "kind": "MEMBER_EXCLUSIVE", "channels": ["SOCIAL"] }),
        &["CANCELLED"],
    )
    .await;
    shop.campaign(
        "refill",
        json!({
            "name": "Refill Reminder", "kind": "REPURCHASE_REMINDER", "channels": ["APP_PUSH"],
            "startsAt": "2025-02-01T00:00:00Z", "status": "SCHEDULED",
        }),
        &["RUNNING", "PAUSED"],
    )
    .await;
    shop.campaign(
        "flash",
        json!({
            "name": "50% Flash_Sale", "kind": "HOLIDAY_CARE", "channels": ["EMAIL", "SMS"],
            "startsAt": "2025-06-01T00:00:00Z", "status": "SCHEDULED",
            "offer": { "percentOff": 50 },
        }),
        &[],
    )
    .await;

    shop.feedback(
        "F1",
        "Ada",
        Some("O1"),
        json!({ "category": "QUALITY", "csat": 5, "nps": 10, "text": "Great mat" }),
    )
    .await;
    shop.feedback(
        "F2",
        "Ada",
        None,
        json!({ "category": "SERVICE", "csat": 2, "text": "Slow reply" }),
    )
    .await;
    shop.feedback(
        "F3",
        "Bea",
        Some("O3"),
        json!({ "category": "DELIVERY", "nps": 6 }),
    )
    .await;
    shop.feedback(
        "F4",
        "Cal",
        None,
        json!({ "category": "PAYMENT", "csat": 3, "nps": 0 }),
    )
    .await;
    shop.feedback(
        "F5",
        "Dan",
        None,
        json!({ "category": "SUGGESTION", "text": "More colours please" }),
    )
    .await;
    shop.feedback(
        "F6",
        "Eve",
        None,
        json!({ "category": "REVIEW", "csat": 4, "nps": 8, "text": "Fine" }),
    )
    .await;

    shop.erase("Eve").await;
    shop
}

// ---------------------------------------------------------------------------------
// Customers
// ---------------------------------------------------------------------------------

async fn customers_filter_by_text(backend: Backend) {
    let shop = shop(backend).await;
    use List::Customers as C;

    // Equality, inequality and membership.
    shop.expect(C, json!({ "name": { "eq": "Bea" } }), &["Bea"])
        .await;
    shop.expect(C, json!({ "name": { "eq": "bea" } }), &[])
        .await;
    shop.expect(
        C,
        json!({ "name": { "ne": "Bea" } }),
        &["Ada", "Cal", "Dan", "Eve"],
    )
    .await;
    shop.expect(
        C,
        json!({ "name": { "in": ["Cal", "Ada", "Zed"] } }),
        &["Ada", "Cal"],
    )
    .await;
    shop.expect(C, json!({ "name": { "in": [] } }), &[]).await;
    shop.expect(C, json!({ "externalId": { "eq": "c-dan" } }), &["Dan"])
        .await;
    shop.expect(
        C,
        json!({ "externalId": { "in": ["c-ada", "c-eve"] } }),
        &["Ada"],
    )
    .await;
    shop.expect(C, json!({ "email": { "eq": "dan@example.com" } }), &["Dan"])
        .await;
    shop.expect(
        C,
        json!({ "email": { "in": ["ada@example.com", "bea@shop.cn", "eve@example.com"] } }),
        &["Ada", "Bea"],
    )
    .await;
    shop.expect(C, json!({ "phone": { "eq": "010-5555-0000" } }), &["Cal"])
        .await;

    // Prefixes ignore case.
    shop.expect(C, json!({ "name": { "startsWith": "a" } }), &["Ada"])
        .await;
    shop.expect(C, json!({ "name": { "startsWith": "CA" } }), &["Cal"])
        .await;
    shop.expect(
        C,
        json!({ "name": { "startsWith": "" } }),
        &["Ada", "Bea", "Cal", "Dan", "Eve"],
    )
    .await;
    shop.expect(
        C,
        json!({ "externalId": { "startsWith": "C-" } }),
        &["Ada", "Bea", "Cal", "Dan"],
    )
    .await;
    shop.expect(
        C,
        json!({ "externalId": { "startsWith": "erased-" } }),
        &["Eve"],
    )
    .await;
    shop.expect(C, json!({ "email": { "startsWith": "ADA@" } }), &["Ada"])
        .await;
    shop.expect(
        C,
        json!({ "email": { "startsWith": "Bea@Shop." } }),
        &["Bea"],
    )
    .await;
    shop.expect(C, json!({ "phone": { "startsWith": "+86" } }), &["Ada"])
        .await;

    // LIKE wildcards in a prefix are plain characters.
    shop.expect(C, json!({ "name": { "startsWith": "%" } }), &[])
        .await;
    shop.expect(C, json!({ "name": { "startsWith": "_" } }), &[])
        .await;
    shop.expect(C, json!({ "name": { "startsWith": "_a" } }), &[])
        .await;
    shop.expect(C, json!({ "email": { "startsWith": "%example" } }), &[])
        .await;

    // Several criteria on one field must all hold.
    shop.expect(
        C,
        json!({ "name": { "startsWith": "", "ne": "Ada", "in": ["Ada", "Bea"] } }),
        &["Bea"],
    )
    .await;
}

async fn customers_filter_by_dates(backend: Backend) {
    let shop = shop(backend).await;
    use List::Customers as C;

    let bea_signup = "2024-02-20T12:00:00Z";
    shop.expect(C, json!({ "signupAt": { "eq": bea_signup } }), &["Bea"])
        .await;
    // The same instant written in another offset.
    shop.expect(
        C,
        json!({ "signupAt": { "eq": "2024-02-20T20:00:00+08:00" } }),
        &["Bea"],
    )
    .await;
    shop.expect(
        C,
        json!({ "signupAt": { "ne": bea_signup } }),
        &["Ada", "Cal", "Dan", "Eve"],
    )
    .await;
    shop.expect(
        C,
        json!({ "signupAt": { "in": ["2024-01-10T09:00:00Z", "2023-11-11T11:11:11Z"] } }),
        &["Ada", "Dan"],
    )
    .await;
    shop.expect(
        C,
        json!({ "signupAt": { "gt": bea_signup } }),
        &["Cal", "Eve"],
    )
    .await;
    shop.expect(
        C,
        json!({ "signupAt": { "gte": bea_signup } }),
        &["Bea", "Cal", "Eve"],
    )
    .await;
    shop.expect(
        C,
        json!({ "signupAt": { "lt": bea_signup } }),
        &["Ada", "Dan"],
    )
    .await;
    shop.expect(
        C,
        json!({ "signupAt": { "lte": bea_signup } }),
        &["Ada", "Bea", "Dan"],
    )
    .await;
    // A second past or before an instant.
    shop.expect(
        C,
        json!({ "signupAt": { "gt": "2024-02-20T11:59:59Z" } }),
        &["Bea", "Cal", "Eve"],
    )
    .await;
    shop.expect(
        C,
        json!({ "signupAt": { "lt": "2024-02-20T12:00:01Z" } }),
        &["Ada", "Bea", "Dan"],
    )
    .await;
    // A half-open range.
    shop.expect(
        C,
        json!({ "signupAt": { "gte": "2024-01-01T00:00:00Z", "lt": "2024-03-01T00:00:00Z" } }),
        &["Ada", "Bea"],
    )
    .await;

    // Birthdays: Ada 1990-03-15, Bea 1985-07-01, Dan 2000-12-31; Cal has none, Eve's
    // was erased.
    shop.expect(C, json!({ "birthday": { "eq": "2000-12-31" } }), &["Dan"])
        .await;
    shop.expect(
        C,
        json!({ "birthday": { "in": ["1990-03-15", "2000-12-31", "1999-01-01"] } }),
        &["Ada", "Dan"],
    )
    .await;
    shop.expect(
        C,
        json!({ "birthday": { "gt": "1985-07-01" } }),
        &["Ada", "Dan"],
    )
    .await;
    shop.expect(
        C,
        json!({ "birthday": { "gte": "1985-07-01" } }),
        &["Ada", "Bea", "Dan"],
    )
    .await;
    shop.expect(C, json!({ "birthday": { "lt": "1990-03-15" } }), &["Bea"])
        .await;
    shop.expect(
        C,
        json!({ "birthday": { "lte": "1990-03-15" } }),
        &["Ada", "Bea"],
    )
    .await;
    shop.expect(
        C,
        json!({ "birthday": { "gte": "1990-01-01", "lte": "1999-12-31" } }),
        &["Ada"],
    )
    .await;
}

async fn customers_filter_by_tags_consent_erasure_and_id(backend: Backend) {
    let shop = shop(backend).await;
    use List::Customers as C;

    // Tags: Ada fitness+office, Bea mother-and-baby, Cal fitness+mother-and-baby, Dan
    // none, Eve's erased.
    shop.expect(
        C,
        json!({ "tags": { "any": ["fitness"] } }),
        &["Ada", "Cal"],
    )
    .await;
    shop.expect(
        C,
        json!({ "tags": { "any": ["office", "mother-and-baby"] } }),
        &["Ada", "Bea", "Cal"],
    )
    .await;
    shop.expect(C, json!({ "tags": { "any": ["gaming"] } }), &[])
        .await;
    shop.expect(
        C,
        json!({ "tags": { "all": ["fitness", "mother-and-baby"] } }),
        &["Cal"],
    )
    .await;
    shop.expect(
        C,
        json!({ "tags": { "all": ["fitness"] } }),
        &["Ada", "Cal"],
    )
    .await;
    shop.expect(C, json!({ "tags": { "all": ["fitness", "gaming"] } }), &[])
        .await;
    shop.expect(
        C,
        json!({ "tags": { "none": ["fitness"] } }),
        &["Bea", "Dan", "Eve"],
    )
    .await;
    shop.expect(
        C,
        json!({ "tags": { "none": ["fitness", "mother-and-baby"] } }),
        &["Dan", "Eve"],
    )
    .await;
    shop.expect(
        C,
        json!({ "tags": { "any": ["mother-and-baby", "office"], "none": ["fitness"] } }),
        &["Bea"],
    )
    .await;
    shop.expect(
        C,
        json!({ "tags": { "all": ["fitness"], "none": ["office"] } }),
        &["Cal"],
    )
    .await;

    // Consent per channel; erasure withdrew all of Eve's.
    shop.expect(C, json!({ "consentEmail": true }), &["Ada", "Cal"])
        .await;
    shop.expect(C, json!({ "consentEmail": false }), &["Bea", "Dan", "Eve"])
        .await;
    shop.expect(C, json!({ "consentSms": true }), &["Ada"])
        .await;
    shop.expect(
        C,
        json!({ "consentSms": false }),
        &["Bea", "Cal", "Dan", "Eve"],
    )
    .await;
    shop.expect(C, json!({ "consentAppPush": true }), &["Bea"])
        .await;
    shop.expect(C, json!({ "consentSocial": true }), &["Cal"])
        .await;
    shop.expect(
        C,
        json!({ "consentEmail": true, "consentSocial": true }),
        &["Cal"],
    )
    .await;

    // Erasure.
    shop.expect(C, json!({ "erased": true }), &["Eve"]).await;
    shop.expect(C, json!({ "erased": false }), &["Ada", "Bea", "Cal", "Dan"])
        .await;
    shop.expect(
        C,
        json!({ "erased": false, "consentEmail": false }),
        &["Bea", "Dan"],
    )
    .await;

    // Global ids.
    shop.expect(C, json!({ "id": { "eq": shop.id("Bea") } }), &["Bea"])
        .await;
    shop.expect(
        C,
        json!({ "id": { "in": [shop.id("Cal"), shop.id("Ada")] } }),
        &["Ada", "Cal"],
    )
    .await;
    shop.expect(C, json!({ "id": { "in": [] } }), &[]).await;
    shop.expect(
        C,
        json!({ "id": { "eq": shop.id("Ada"), "in": [shop.id("Bea")] } }),
        &[],
    )
    .await;
}

async fn customers_combine_filters_with_and_or_not(backend: Backend) {
    let shop = shop(backend).await;
    use List::Customers as C;

    shop.expect(
        C,
        json!({ "and": [{ "tags": { "any": ["fitness"] } }, { "consentSms": true }] }),
        &["Ada"],
    )
    .await;
    shop.expect(
        C,
        json!({ "and": [] }),
        &["Ada", "Bea", "Cal", "Dan", "Eve"],
    )
    .await;
    shop.expect(
        C,
        json!({ "or": [{ "name": { "eq": "Bea" } }, { "tags": { "all": ["fitness", "mother-and-baby"] } }] }),
        &["Bea", "Cal"],
    )
    .await;
    shop.expect(
        C,
        json!({ "or": [{ "name": { "eq": "Zed" } }, { "email": { "eq": "nobody@example.com" } }] }),
        &[],
    )
    .await;
    shop.expect(
        C,
        json!({ "not": { "tags": { "any": ["fitness"] } } }),
        &["Bea", "Dan", "Eve"],
    )
    .await;
    shop.expect(
        C,
        json!({ "not": { "erased": true } }),
        &["Ada", "Bea", "Cal", "Dan"],
    )
    .await;
    // Own criteria, `or` and `not` together: all must hold.
    shop.expect(
        C,
        json!({
            "erased": false,
            "or": [{ "consentEmail": true }, { "consentAppPush": true }],
            "not": { "name": { "eq": "Cal" } },
        }),
        &["Ada", "Bea"],
    )
    .await;
    // Nesting: (consents to e-mail and is not Ada) or was erased.
    shop.expect(
        C,
        json!({ "or": [
            { "and": [{ "consentEmail": true }, { "not": { "name": { "eq": "Ada" } } }] },
            { "erased": true },
        ] }),
        &["Cal", "Eve"],
    )
    .await;
    // De Morgan: not (Ada or Bea) = not Ada and not Bea.
    shop.expect(
        C,
        json!({ "not": { "or": [{ "name": { "eq": "Ada" } }, { "name": { "eq": "Bea" } }] } }),
        &["Cal", "Dan", "Eve"],
    )
    .await;
    shop.expect(
        C,
        json!({ "and": [{ "not": { "name": { "eq": "Ada" } } }, { "not": { "name": { "eq": "Bea" } } }] }),
        &["Cal", "Dan", "Eve"],
    )
    .await;
    // Double negation.
    shop.expect(
        C,
        json!({ "not": { "not": { "consentSms": true } } }),
        &["Ada"],
    )
    .await;
    // Deeper nesting inside `not`.
    shop.expect(
        C,
        json!({ "not": { "and": [
            { "tags": { "any": ["mother-and-baby"] } },
            { "or": [{ "consentAppPush": true }, { "consentSocial": true }] },
        ] } }),
        &["Ada", "Dan", "Eve"],
    )
    .await;
}

/// `not: F` lists exactly the customers `F` does not: a customer without an e-mail
/// address, or without a birthday, has no address starting with "ada" and was not
/// born before 1990.
async fn not_is_the_complement_even_where_a_value_is_missing(backend: Backend) {
    let shop = shop(backend).await;
    use List::Customers as C;

    shop.expect(C, json!({ "email": { "startsWith": "ada" } }), &["Ada"])
        .await;
    shop.expect(
        C,
        json!({ "not": { "email": { "startsWith": "ada" } } }),
        &["Bea", "Cal", "Dan", "Eve"],
    )
    .await;
    shop.expect(C, json!({ "birthday": { "lt": "1990-01-01" } }), &["Bea"])
        .await;
    shop.expect(
        C,
        json!({ "not": { "birthday": { "lt": "1990-01-01" } } }),
        &["Ada", "Cal", "Dan", "Eve"],
    )
    .await;
    // Feedback without a CSAT score was not rated 4 or better.
    shop.expect(
        List::Feedback,
        json!({ "csat": { "gte": 4 } }),
        &["F1", "F6"],
    )
    .await;
    shop.expect(
        List::Feedback,
        json!({ "not": { "csat": { "gte": 4 } } }),
        &["F2", "F3", "F4", "F5"],
    )
    .await;
}

/// `startsWith` ignores case beyond ASCII too, and an exact prefix always matches.
async fn starts_with_handles_non_ascii_letters(backend: Backend) {
    let mut shop = Shop {
        gw: TestGateway::start(backend).await,
        labels: HashMap::new(),
        ids: HashMap::new(),
        stamped: HashMap::new(),
    };
    shop.customer(
        "Émile",
        json!({ "externalId": "c-emile", "name": "Émile Zola" }),
    )
    .await;
    shop.customer(
        "Ölga",
        json!({ "externalId": "c-olga", "name": "Ölga Berg" }),
    )
    .await;
    shop.customer(
        "Eric",
        json!({ "externalId": "c-eric", "name": "Eric Idle" }),
    )
    .await;
    use List::Customers as C;

    // A prefix typed exactly always matches, and ASCII case never matters.
    shop.expect(C, json!({ "name": { "startsWith": "Émile" } }), &["Émile"])
        .await;
    shop.expect(
        C,
        json!({ "name": { "startsWith": "Émile ZOLA" } }),
        &["Émile"],
    )
    .await;
    shop.expect(C, json!({ "name": { "startsWith": "Ö" } }), &["Ölga"])
        .await;
    shop.expect(C, json!({ "name": { "startsWith": "e" } }), &["Eric"])
        .await;
    // Folding the case of non-ASCII letters is PostgreSQL's: SQLite's lower() only
    // knows ASCII (documented on `startsWith`).
    let folded: &[&str] = match backend {
        Backend::Postgres => &["Émile"],
        Backend::Sqlite => &[],
    };
    shop.expect(C, json!({ "name": { "startsWith": "émile" } }), folded)
        .await;
}

async fn customers_sort_by_every_field(backend: Backend) {
    let shop = shop(backend).await;
    use List::Customers as C;

    // Default: by id, ascending.
    assert_eq!(
        shop.list(C, Value::Null, Value::Null).await,
        ["Ada", "Bea", "Cal", "Dan", "Eve"]
    );
    assert_eq!(
        shop.list(C, Value::Null, json!({ "direction": "DESC" }))
            .await,
        ["Eve", "Dan", "Cal", "Bea", "Ada"],
    );
    shop.expect_sorted(C, "ID", "ASC", &["Ada", "Bea", "Cal", "Dan", "Eve"])
        .await;
    shop.expect_sorted(C, "ID", "DESC", &["Eve", "Dan", "Cal", "Bea", "Ada"])
        .await;
    // Eve is now "Erased customer".
    shop.expect_sorted(C, "NAME", "ASC", &["Ada", "Bea", "Cal", "Dan", "Eve"])
        .await;
    shop.expect_sorted(C, "NAME", "DESC", &["Eve", "Dan", "Cal", "Bea", "Ada"])
        .await;
    // c-ada … c-dan, then erased-5.
    shop.expect_sorted(
        C,
        "EXTERNAL_ID",
        "ASC",
        &["Ada", "Bea", "Cal", "Dan", "Eve"],
    )
    .await;
    shop.expect_sorted(
        C,
        "EXTERNAL_ID",
        "DESC",
        &["Eve", "Dan", "Cal", "Bea", "Ada"],
    )
    .await;
    shop.expect_sorted(C, "SIGNUP_AT", "ASC", &["Dan", "Ada", "Bea", "Cal", "Eve"])
        .await;
    shop.expect_sorted(C, "SIGNUP_AT", "DESC", &["Eve", "Cal", "Bea", "Ada", "Dan"])
        .await;

    // Sorting applies to the filtered rows.
    assert_eq!(
        shop.list(
            C,
            json!({ "tags": { "any": ["fitness", "mother-and-baby"] } }),
            json!({ "field": "SIGNUP_AT", "direction": "DESC" }),
        )
        .await,
        ["Cal", "Bea", "Ada"],
    );
}

// ---------------------------------------------------------------------------------
// Products
// ---------------------------------------------------------------------------------

async fn products_filter_and_sort(backend: Backend) {
    let shop = shop(backend).await;
    use List::Products as P;
    let all = ["mat", "block", "wipes", "chair", "tee", "protein", "lamp"];

    // Text.
    shop.expect(P, json!({ "sku": { "eq": "FIT-MAT" } }), &["mat"])
        .await;
    shop.expect(P, json!({ "sku": { "ne": "FIT-MAT" } }), &all[1..])
        .await;
    shop.expect(
        P,
        json!({ "sku": { "in": ["TEE-100", "BABY-WIPES", "NOPE"] } }),
        &["wipes", "tee"],
    )
    .await;
    shop.expect(
        P,
        json!({ "sku": { "startsWith": "zen-" } }),
        &["block", "lamp"],
    )
    .await;
    shop.expect(P, json!({ "name": { "eq": "Desk Chair" } }), &["chair"])
        .await;
    shop.expect(P, json!({ "name": { "startsWith": "YOGA" } }), &["mat"])
        .await;
    shop.expect(
        P,
        json!({ "category": { "eq": "fitness" } }),
        &["mat", "protein"],
    )
    .await;
    shop.expect(
        P,
        json!({ "category": { "ne": "props" } }),
        &["mat", "wipes", "chair", "tee", "protein"],
    )
    .await;
    shop.expect(
        P,
        json!({ "category": { "in": ["office", "apparel"] } }),
        &["chair", "tee"],
    )
    .await;
    shop.expect(
        P,
        json!({ "category": { "startsWith": "Mother" } }),
        &["wipes"],
    )
    .await;

    // `%` and `_` in a prefix are literal characters, not wildcards.
    shop.expect(
        P,
        json!({ "name": { "startsWith": "100" } }),
        &["tee", "protein"],
    )
    .await;
    shop.expect(P, json!({ "name": { "startsWith": "100%" } }), &["tee"])
        .await;
    shop.expect(
        P,
        json!({ "name": { "startsWith": "100% cotton" } }),
        &["tee"],
    )
    .await;
    shop.expect(
        P,
        json!({ "name": { "startsWith": "zen" } }),
        &["block", "lamp"],
    )
    .await;
    shop.expect(P, json!({ "name": { "startsWith": "zen_" } }), &["block"])
        .await;
    shop.expect(P, json!({ "name": { "startsWith": "ZEN_B" } }), &["block"])
        .await;
    shop.expect(P, json!({ "name": { "startsWith": "z_n" } }), &[])
        .await;
    shop.expect(P, json!({ "sku": { "startsWith": "%" } }), &[])
        .await;
    // A backslash is literal too (it is the escape character underneath).
    shop.expect(P, json!({ "name": { "startsWith": "100\\%" } }), &[])
        .await;

    // Prices: wipes 2500, block 3500, lamp 3500, mat 9900, tee 12900, protein 19900,
    // chair 59900.
    shop.expect(
        P,
        json!({ "priceMinor": { "eq": 3500 } }),
        &["block", "lamp"],
    )
    .await;
    shop.expect(
        P,
        json!({ "priceMinor": { "ne": 3500 } }),
        &["mat", "wipes", "chair", "tee", "protein"],
    )
    .await;
    shop.expect(
        P,
        json!({ "priceMinor": { "in": [2500, 59900, 1] } }),
        &["wipes", "chair"],
    )
    .await;
    shop.expect(
        P,
        json!({ "priceMinor": { "gt": 12900 } }),
        &["chair", "protein"],
    )
    .await;
    shop.expect(
        P,
        json!({ "priceMinor": { "gte": 12900 } }),
        &["chair", "tee", "protein"],
    )
    .await;
    shop.expect(P, json!({ "priceMinor": { "lt": 3500 } }), &["wipes"])
        .await;
    shop.expect(
        P,
        json!({ "priceMinor": { "lte": 3500 } }),
        &["block", "wipes", "lamp"],
    )
    .await;
    shop.expect(
        P,
        json!({ "priceMinor": { "gt": 3500, "lt": 19900 } }),
        &["mat", "tee"],
    )
    .await;

    // Active.
    shop.expect(P, json!({ "active": false }), &["chair"]).await;
    shop.expect(
        P,
        json!({ "active": true }),
        &["mat", "block", "wipes", "tee", "protein", "lamp"],
    )
    .await;

    // Ids.
    shop.expect(P, json!({ "id": { "eq": shop.id("tee") } }), &["tee"])
        .await;
    shop.expect(
        P,
        json!({ "id": { "in": [shop.id("lamp"), shop.id("mat")] } }),
        &["mat", "lamp"],
    )
    .await;

    // Combinators.
    shop.expect(
        P,
        json!({ "and": [{ "category": { "eq": "fitness" } }, { "priceMinor": { "lt": 10000 } }] }),
        &["mat"],
    )
    .await;
    shop.expect(
        P,
        json!({ "or": [{ "active": false }, { "priceMinor": { "lt": 3000 } }] }),
        &["wipes", "chair"],
    )
    .await;
    shop.expect(
        P,
        json!({ "not": { "or": [{ "category": { "eq": "props" } }, { "active": false }] } }),
        &["mat", "wipes", "tee", "protein"],
    )
    .await;
    shop.expect(
        P,
        json!({
            "active": true,
            "or": [
                { "and": [{ "category": { "eq": "props" } }, { "not": { "name": { "startsWith": "zen_" } } }] },
                { "priceMinor": { "gte": 19900 } },
            ],
        }),
        &["protein", "lamp"],
    )
    .await;

    // Sorting: every field, both directions; equal prices fall back to id order.
    shop.expect_sorted(P, "ID", "ASC", &all).await;
    shop.expect_sorted(
        P,
        "ID",
        "DESC",
        &["lamp", "protein", "tee", "chair", "wipes", "block", "mat"],
    )
    .await;
    shop.expect_sorted(
        P,
        "NAME",
        "ASC",
        &["tee", "protein", "wipes", "chair", "mat", "block", "lamp"],
    )
    .await;
    shop.expect_sorted(
        P,
        "NAME",
        "DESC",
        &["lamp", "block", "mat", "chair", "wipes", "protein", "tee"],
    )
    .await;
    shop.expect_sorted(
        P,
        "SKU",
        "ASC",
        &["wipes", "mat", "chair", "protein", "tee", "block", "lamp"],
    )
    .await;
    shop.expect_sorted(
        P,
        "SKU",
        "DESC",
        &["lamp", "block", "tee", "protein", "chair", "mat", "wipes"],
    )
    .await;
    shop.expect_sorted(
        P,
        "PRICE",
        "ASC",
        &["wipes", "block", "lamp", "mat", "tee", "protein", "chair"],
    )
    .await;
    shop.expect_sorted(
        P,
        "PRICE",
        "DESC",
        &["chair", "protein", "tee", "mat", "lamp", "block", "wipes"],
    )
    .await;
    assert_eq!(
        shop.list(P, Value::Null, Value::Null).await,
        all,
        "default: by id"
    );
}

// ---------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------

async fn orders_filter_and_sort(backend: Backend) {
    let shop = shop(backend).await;
    use List::Orders as O;
    let all = ["O1", "O2", "O3", "O4", "O5", "O6"];

    // Status: O1 PAID, O2 PLACED, O3 DELIVERED, O4 CANCELLED, O5 REFUNDED, O6 PAID.
    shop.expect(O, json!({ "status": { "eq": "PAID" } }), &["O1", "O6"])
        .await;
    shop.expect(O, json!({ "status": { "eq": "SHIPPED" } }), &[])
        .await;
    shop.expect(
        O,
        json!({ "status": { "ne": "PLACED" } }),
        &["O1", "O3", "O4", "O5", "O6"],
    )
    .await;
    shop.expect(
        O,
        json!({ "status": { "in": ["CANCELLED", "REFUNDED"] } }),
        &["O4", "O5"],
    )
    .await;
    shop.expect(O, json!({ "status": { "in": [] } }), &[]).await;

    // Channel: O1 WEB, O2 APP, O3 STORE, O4 MINI_PROGRAM, O5 APP, O6 WEB.
    shop.expect(O, json!({ "channel": { "eq": "APP" } }), &["O2", "O5"])
        .await;
    shop.expect(
        O,
        json!({ "channel": { "ne": "WEB" } }),
        &["O2", "O3", "O4", "O5"],
    )
    .await;
    shop.expect(
        O,
        json!({ "channel": { "in": ["STORE", "MINI_PROGRAM"] } }),
        &["O3", "O4"],
    )
    .await;

    // Totals: O1 9900, O2 4500, O3 22400, O4 12900, O5 7000, O6 8900.
    shop.expect(O, json!({ "totalMinor": { "eq": 12900 } }), &["O4"])
        .await;
    shop.expect(
        O,
        json!({ "totalMinor": { "ne": 9900 } }),
        &["O2", "O3", "O4", "O5", "O6"],
    )
    .await;
    shop.expect(
        O,
        json!({ "totalMinor": { "in": [4500, 7000] } }),
        &["O2", "O5"],
    )
    .await;
    shop.expect(
        O,
        json!({ "totalMinor": { "gt": 8900 } }),
        &["O1", "O3", "O4"],
    )
    .await;
    shop.expect(
        O,
        json!({ "totalMinor": { "gte": 8900 } }),
        &["O1", "O3", "O4", "O6"],
    )
    .await;
    shop.expect(O, json!({ "totalMinor": { "lt": 7000 } }), &["O2"])
        .await;
    shop.expect(O, json!({ "totalMinor": { "lte": 7000 } }), &["O2", "O5"])
        .await;
    shop.expect(
        O,
        json!({ "totalMinor": { "gte": 5000, "lte": 10000 } }),
        &["O1", "O5", "O6"],
    )
    .await;

    // Placed at: the times the gateway stamped, in placing order.
    let o3 = shop.at("O3");
    shop.expect(O, json!({ "placedAt": { "eq": o3 } }), &["O3"])
        .await;
    shop.expect(
        O,
        json!({ "placedAt": { "ne": o3 } }),
        &["O1", "O2", "O4", "O5", "O6"],
    )
    .await;
    shop.expect(
        O,
        json!({ "placedAt": { "in": [shop.at("O1"), shop.at("O6")] } }),
        &["O1", "O6"],
    )
    .await;
    shop.expect(O, json!({ "placedAt": { "gt": o3 } }), &["O4", "O5", "O6"])
        .await;
    shop.expect(
        O,
        json!({ "placedAt": { "gte": o3 } }),
        &["O3", "O4", "O5", "O6"],
    )
    .await;
    shop.expect(O, json!({ "placedAt": { "lt": o3 } }), &["O1", "O2"])
        .await;
    shop.expect(O, json!({ "placedAt": { "lte": o3 } }), &["O1", "O2", "O3"])
        .await;
    shop.expect(
        O,
        json!({ "placedAt": { "gt": shop.at("O1"), "lt": shop.at("O4") } }),
        &["O2", "O3"],
    )
    .await;
    shop.expect(
        O,
        json!({ "placedAt": { "lt": "2000-01-01T00:00:00Z" } }),
        &[],
    )
    .await;

    // Customer (an erased customer's orders stay theirs) and id.
    shop.expect(
        O,
        json!({ "customerId": { "eq": shop.id("Ada") } }),
        &["O1", "O2"],
    )
    .await;
    shop.expect(
        O,
        json!({ "customerId": { "in": [shop.id("Eve"), shop.id("Bea")] } }),
        &["O3", "O6"],
    )
    .await;
    shop.expect(O, json!({ "id": { "eq": shop.id("O4") } }), &["O4"])
        .await;
    shop.expect(
        O,
        json!({ "id": { "in": [shop.id("O5"), shop.id("O2")] } }),
        &["O2", "O5"],
    )
    .await;

    // Order numbers are generated: `RT` and digits.
    let number = shop
        .gw
        .query(
            "query($id: ID!) { order(id: $id) { orderNumber } }",
            json!({ "id": shop.id("O2") }),
        )
        .await["order"]["orderNumber"]
        .as_str()
        .unwrap()
        .to_string();
    shop.expect(O, json!({ "orderNumber": { "eq": number } }), &["O2"])
        .await;
    shop.expect(O, json!({ "orderNumber": { "in": [number] } }), &["O2"])
        .await;
    shop.expect(
        O,
        json!({ "orderNumber": { "ne": number } }),
        &["O1", "O3", "O4", "O5", "O6"],
    )
    .await;
    shop.expect(O, json!({ "orderNumber": { "startsWith": "rt" } }), &all)
        .await;
    shop.expect(O, json!({ "orderNumber": { "startsWith": "RT%" } }), &[])
        .await;

    // Combinators.
    shop.expect(
        O,
        json!({ "status": { "eq": "PAID" }, "channel": { "eq": "WEB" } }),
        &["O1", "O6"],
    )
    .await;
    shop.expect(
        O,
        json!({ "or": [{ "channel": { "eq": "STORE" } }, { "totalMinor": { "lt": 5000 } }] }),
        &["O2", "O3"],
    )
    .await;
    shop.expect(
        O,
        json!({ "not": { "status": { "in": ["CANCELLED", "REFUNDED"] } } }),
        &["O1", "O2", "O3", "O6"],
    )
    .await;
    shop.expect(
        O,
        json!({ "and": [
            { "not": { "customerId": { "eq": shop.id("Ada") } } },
            { "or": [{ "status": { "eq": "PAID" } }, { "status": { "eq": "CANCELLED" } }] },
        ] }),
        &["O4", "O6"],
    )
    .await;

    // Sorting: newest first by default.
    assert_eq!(
        shop.list(O, Value::Null, Value::Null).await,
        ["O6", "O5", "O4", "O3", "O2", "O1"],
        "default: newest first"
    );
    assert_eq!(
        shop.list(O, Value::Null, json!({ "field": "TOTAL" })).await,
        ["O3", "O4", "O1", "O6", "O5", "O2"],
        "direction defaults to DESC"
    );
    shop.expect_sorted(O, "PLACED_AT", "ASC", &all).await;
    shop.expect_sorted(
        O,
        "PLACED_AT",
        "DESC",
        &["O6", "O5", "O4", "O3", "O2", "O1"],
    )
    .await;
    shop.expect_sorted(O, "TOTAL", "ASC", &["O2", "O5", "O6", "O1", "O4", "O3"])
        .await;
    shop.expect_sorted(O, "TOTAL", "DESC", &["O3", "O4", "O1", "O6", "O5", "O2"])
        .await;
    shop.expect_sorted(O, "ID", "ASC", &all).await;
    shop.expect_sorted(O, "ID", "DESC", &["O6", "O5", "O4", "O3", "O2", "O1"])
        .await;
}

// ---------------------------------------------------------------------------------
// Campaigns
// ---------------------------------------------------------------------------------

async fn campaigns_filter_and_sort(backend: Backend) {
    let shop = shop(backend).await;
    use List::Campaigns as K;
    let all = ["birthday", "winback", "vip", "refill", "flash"];

    // Kind.
    shop.expect(K, json!({ "kind": { "eq": "WIN_BACK" } }), &["winback"])
        .await;
    shop.expect(K, json!({ "kind": { "eq": "REFERRAL" } }), &[])
        .await;
    shop.expect(K, json!({ "kind": { "ne": "BIRTHDAY_CARE" } }), &all[1..])
        .await;
    shop.expect(
        K,
        json!({ "kind": { "in": ["BIRTHDAY_CARE", "HOLIDAY_CARE", "FIRST_ORDER"] } }),
        &["birthday", "flash"],
    )
    .await;

    // Status: birthday DRAFT, winback RUNNING, vip CANCELLED, refill PAUSED, flash
    // SCHEDULED.
    shop.expect(K, json!({ "status": { "eq": "RUNNING" } }), &["winback"])
        .await;
    shop.expect(K, json!({ "status": { "eq": "PAUSED" } }), &["refill"])
        .await;
    shop.expect(K, json!({ "status": { "ne": "DRAFT" } }), &all[1..])
        .await;
    shop.expect(
        K,
        json!({ "status": { "in": ["DRAFT", "CANCELLED"] } }),
        &["birthday", "vip"],
    )
    .await;
    shop.expect(K, json!({ "status": { "in": ["COMPLETED"] } }), &[])
        .await;

    // Name.
    shop.expect(K, json!({ "name": { "eq": "VIP Lounge" } }), &["vip"])
        .await;
    shop.expect(
        K,
        json!({ "name": { "ne": "VIP Lounge" } }),
        &["birthday", "winback", "refill", "flash"],
    )
    .await;
    shop.expect(
        K,
        json!({ "name": { "in": ["Refill Reminder", "Birthday Treat"] } }),
        &["birthday", "refill"],
    )
    .await;
    shop.expect(
        K,
        json!({ "name": { "startsWith": "win back" } }),
        &["winback"],
    )
    .await;
    shop.expect(K, json!({ "name": { "startsWith": "50%" } }), &["flash"])
        .await;
    shop.expect(
        K,
        json!({ "name": { "startsWith": "50% FLASH_" } }),
        &["flash"],
    )
    .await;
    shop.expect(K, json!({ "name": { "startsWith": "%" } }), &[])
        .await;
    shop.expect(K, json!({ "name": { "startsWith": "_" } }), &[])
        .await;

    // Starts at: birthday 2025-01-01, refill 2025-02-01, winback 2025-03-01, flash
    // 2025-06-01; vip has no start.
    let feb = "2025-02-01T00:00:00Z";
    shop.expect(K, json!({ "startsAt": { "eq": feb } }), &["refill"])
        .await;
    shop.expect(
        K,
        json!({ "startsAt": { "in": ["2025-01-01T00:00:00Z", "2025-06-01T00:00:00Z"] } }),
        &["birthday", "flash"],
    )
    .await;
    shop.expect(
        K,
        json!({ "startsAt": { "gt": feb } }),
        &["winback", "flash"],
    )
    .await;
    shop.expect(
        K,
        json!({ "startsAt": { "gte": feb } }),
        &["winback", "refill", "flash"],
    )
    .await;
    shop.expect(K, json!({ "startsAt": { "lt": feb } }), &["birthday"])
        .await;
    shop.expect(
        K,
        json!({ "startsAt": { "lte": feb } }),
        &["birthday", "refill"],
    )
    .await;
    shop.expect(
        K,
        json!({ "startsAt": { "gte": "2025-01-15T00:00:00Z", "lt": "2025-04-01T00:00:00+02:00" } }),
        &["winback", "refill"],
    )
    .await;

    // Ids.
    shop.expect(K, json!({ "id": { "eq": shop.id("vip") } }), &["vip"])
        .await;
    shop.expect(
        K,
        json!({ "id": { "in": [shop.id("flash"), shop.id("birthday")] } }),
        &["birthday", "flash"],
    )
    .await;

    // Combinators.
    shop.expect(
        K,
        json!({ "and": [{ "status": { "in": ["RUNNING", "PAUSED"] } }, { "startsAt": { "lt": "2025-02-15T00:00:00Z" } }] }),
        &["refill"],
    )
    .await;
    shop.expect(
        K,
        json!({ "or": [{ "kind": { "eq": "BIRTHDAY_CARE" } }, { "status": { "eq": "CANCELLED" } }] }),
        &["birthday", "vip"],
    )
    .await;
    shop.expect(
        K,
        json!({ "not": { "status": { "in": ["DRAFT", "SCHEDULED"] } } }),
        &["winback", "vip", "refill"],
    )
    .await;
    shop.expect(
        K,
        json!({ "or": [
            { "and": [{ "status": { "eq": "SCHEDULED" } }, { "not": { "kind": { "eq": "WIN_BACK" } } }] },
            { "name": { "startsWith": "vip" } },
        ] }),
        &["vip", "flash"],
    )
    .await;

    // Sorting: by creation, oldest first, by default.
    assert_eq!(
        shop.list(K, Value::Null, Value::Null).await,
        all,
        "default: oldest first"
    );
    shop.expect_sorted(K, "CREATED_AT", "ASC", &all).await;
    shop.expect_sorted(
        K,
        "CREATED_AT",
        "DESC",
        &["flash", "refill", "vip", "winback", "birthday"],
    )
    .await;
    shop.expect_sorted(
        K,
        "NAME",
        "ASC",
        &["flash", "birthday", "refill", "vip", "winback"],
    )
    .await;
    shop.expect_sorted(
        K,
        "NAME",
        "DESC",
        &["winback", "vip", "refill", "birthday", "flash"],
    )
    .await;
    shop.expect_sorted(K, "ID", "ASC", &all).await;
    shop.expect_sorted(
        K,
        "ID",
        "DESC",
        &["flash", "refill", "vip", "winback", "birthday"],
    )
    .await;
}

// ---------------------------------------------------------------------------------
// Feedback
// ---------------------------------------------------------------------------------

async fn feedback_filter_and_sort(backend: Backend) {
    let shop = shop(backend).await;
    use List::Feedback as F;
    let all = ["F1", "F2", "F3", "F4", "F5", "F6"];

    // Category.
    shop.expect(F, json!({ "category": { "eq": "DELIVERY" } }), &["F3"])
        .await;
    shop.expect(F, json!({ "category": { "ne": "QUALITY" } }), &all[1..])
        .await;
    shop.expect(
        F,
        json!({ "category": { "in": ["SERVICE", "PAYMENT"] } }),
        &["F2", "F4"],
    )
    .await;

    // Status: everything submitted is RECEIVED.
    shop.expect(F, json!({ "status": { "eq": "RECEIVED" } }), &all)
        .await;
    shop.expect(F, json!({ "status": { "ne": "RECEIVED" } }), &[])
        .await;
    shop.expect(
        F,
        json!({ "status": { "in": ["ACKNOWLEDGED", "CLOSED"] } }),
        &[],
    )
    .await;

    // CSAT: F1 5, F2 2, F4 3, F6 4; NPS: F1 10, F3 6, F4 0, F6 8.
    shop.expect(F, json!({ "csat": { "eq": 5 } }), &["F1"])
        .await;
    shop.expect(
        F,
        json!({ "nps": { "ne": 10 }, "csat": { "gte": 1 } }),
        &["F4", "F6"],
    )
    .await;
    shop.expect(F, json!({ "csat": { "in": [2, 4] } }), &["F2", "F6"])
        .await;
    shop.expect(F, json!({ "csat": { "gt": 3 } }), &["F1", "F6"])
        .await;
    shop.expect(F, json!({ "csat": { "gte": 3 } }), &["F1", "F4", "F6"])
        .await;
    shop.expect(F, json!({ "csat": { "lt": 3 } }), &["F2"])
        .await;
    shop.expect(F, json!({ "csat": { "lte": 3 } }), &["F2", "F4"])
        .await;
    shop.expect(F, json!({ "nps": { "eq": 0 } }), &["F4"]).await;
    shop.expect(F, json!({ "nps": { "gte": 8 } }), &["F1", "F6"])
        .await;
    shop.expect(F, json!({ "nps": { "lt": 7 } }), &["F3", "F4"])
        .await;
    shop.expect(F, json!({ "nps": { "gt": 6, "lte": 9 } }), &["F6"])
        .await;
    shop.expect(F, json!({ "nps": { "in": [0, 10] } }), &["F1", "F4"])
        .await;

    // Created at: the times the gateway stamped, in submission order.
    let f3 = shop.at("F3");
    shop.expect(F, json!({ "createdAt": { "eq": f3 } }), &["F3"])
        .await;
    shop.expect(
        F,
        json!({ "createdAt": { "ne": f3 } }),
        &["F1", "F2", "F4", "F5", "F6"],
    )
    .await;
    shop.expect(
        F,
        json!({ "createdAt": { "in": [shop.at("F2"), shop.at("F5")] } }),
        &["F2", "F5"],
    )
    .await;
    shop.expect(F, json!({ "createdAt": { "gt": f3 } }), &["F4", "F5", "F6"])
        .await;
    shop.expect(
        F,
        json!({ "createdAt": { "gte": f3 } }),
        &["F3", "F4", "F5", "F6"],
    )
    .await;
    shop.expect(F, json!({ "createdAt": { "lt": f3 } }), &["F1", "F2"])
        .await;
    shop.expect(
        F,
        json!({ "createdAt": { "lte": f3 } }),
        &["F1", "F2", "F3"],
    )
    .await;

    // Customer and id.
    shop.expect(
        F,
        json!({ "customerId": { "eq": shop.id("Ada") } }),
        &["F1", "F2"],
    )
    .await;
    shop.expect(
        F,
        json!({ "customerId": { "in": [shop.id("Dan"), shop.id("Bea")] } }),
        &["F3", "F5"],
    )
    .await;
    shop.expect(
        F,
        json!({ "customerId": { "eq": shop.id("Eve") } }),
        &["F6"],
    )
    .await;
    shop.expect(F, json!({ "id": { "eq": shop.id("F4") } }), &["F4"])
        .await;
    shop.expect(
        F,
        json!({ "id": { "in": [shop.id("F6"), shop.id("F1")] } }),
        &["F1", "F6"],
    )
    .await;

    // Combinators.
    shop.expect(
        F,
        json!({ "and": [{ "customerId": { "eq": shop.id("Ada") } }, { "csat": { "lt": 3 } }] }),
        &["F2"],
    )
    .await;
    shop.expect(
        F,
        json!({ "or": [{ "nps": { "lte": 6 } }, { "category": { "eq": "SUGGESTION" } }] }),
        &["F3", "F4", "F5"],
    )
    .await;
    shop.expect(
        F,
        json!({ "not": { "category": { "in": ["QUALITY", "SERVICE", "REVIEW"] } } }),
        &["F3", "F4", "F5"],
    )
    .await;
    shop.expect(
        F,
        json!({
            "status": { "eq": "RECEIVED" },
            "or": [
                { "and": [{ "csat": { "gte": 4 } }, { "not": { "nps": { "eq": 10 } } }] },
                { "customerId": { "eq": shop.id("Bea") } },
            ],
        }),
        &["F3", "F6"],
    )
    .await;

    // Sorting: newest first by default.
    assert_eq!(
        shop.list(F, Value::Null, Value::Null).await,
        ["F6", "F5", "F4", "F3", "F2", "F1"],
        "default: newest first"
    );
    assert_eq!(
        shop.list(F, Value::Null, json!({ "field": "ID" })).await,
        ["F6", "F5", "F4", "F3", "F2", "F1"],
        "direction defaults to DESC"
    );
    shop.expect_sorted(F, "CREATED_AT", "ASC", &all).await;
    shop.expect_sorted(
        F,
        "CREATED_AT",
        "DESC",
        &["F6", "F5", "F4", "F3", "F2", "F1"],
    )
    .await;
    shop.expect_sorted(F, "ID", "ASC", &all).await;
    shop.expect_sorted(F, "ID", "DESC", &["F6", "F5", "F4", "F3", "F2", "F1"])
        .await;
}

// ---------------------------------------------------------------------------------
// Ids of the wrong kind
// ---------------------------------------------------------------------------------

async fn ids_of_the_wrong_kind_are_refused_naming_the_field(backend: Backend) {
    let shop = shop(backend).await;

    shop.expect_input_error(
        List::Customers,
        json!({ "id": { "eq": shop.id("mat") } }),
        "filter.id.eq",
        "filter.id.eq: is a Product id, expected a Customer id",
    )
    .await;
    shop.expect_input_error(
        List::Customers,
        json!({ "id": { "in": [shop.id("Ada"), shop.id("O1")] } }),
        "filter.id.in[1]",
        "filter.id.in[1]: is a Order id, expected a Customer id",
    )
    .await;
    shop.expect_input_error(
        List::Customers,
        json!({ "id": { "eq": "not-an-id" } }),
        "filter.id.eq",
        "filter.id.eq: is not an id issued by this API",
    )
    .await;
    shop.expect_input_error(
        List::Products,
        json!({ "id": { "eq": shop.id("Ada") } }),
        "filter.id.eq",
        "filter.id.eq: is a Customer id, expected a Product id",
    )
    .await;
    shop.expect_input_error(
        List::Orders,
        json!({ "id": { "in": [shop.id("F1")] } }),
        "filter.id.in[0]",
        "filter.id.in[0]: is a Feedback id, expected a Order id",
    )
    .await;
    shop.expect_input_error(
        List::Orders,
        json!({ "customerId": { "eq": shop.id("O1") } }),
        "filter.customerId.eq",
        "filter.customerId.eq: is a Order id, expected a Customer id",
    )
    .await;
    shop.expect_input_error(
        List::Campaigns,
        json!({ "id": { "eq": shop.id("Ada") } }),
        "filter.id.eq",
        "filter.id.eq: is a Customer id, expected a Campaign id",
    )
    .await;
    shop.expect_input_error(
        List::Feedback,
        json!({ "id": { "eq": shop.id("winback") } }),
        "filter.id.eq",
        "filter.id.eq: is a Campaign id, expected a Feedback id",
    )
    .await;
    shop.expect_input_error(
        List::Feedback,
        json!({ "customerId": { "in": [shop.id("O3")] } }),
        "filter.customerId.in[0]",
        "filter.customerId.in[0]: is a Order id, expected a Customer id",
    )
    .await;
    // Inside a combinator the id is checked just the same.
    let nested = shop
        .gw
        .error(
            &List::Orders.query(),
            json!({ "filter": { "or": [{ "status": { "eq": "PAID" } }, { "customerId": { "eq": shop.id("mat") } }] } }),
        )
        .await;
    assert_eq!(nested["extensions"]["code"], "BAD_USER_INPUT", "{nested:#}");
    assert!(
        nested["message"]
            .as_str()
            .unwrap()
            .ends_with("customerId.eq: is a Product id, expected a Customer id"),
        "{nested:#}"
    );
}

on_both_backends!(
    customers_filter_by_text,
    customers_filter_by_dates,
    customers_filter_by_tags_consent_erasure_and_id,
    customers_combine_filters_with_and_or_not,
    not_is_the_complement_even_where_a_value_is_missing,
    starts_with_handles_non_ascii_letters,
    customers_sort_by_every_field,
    products_filter_and_sort,
    orders_filter_and_sort,
    campaigns_filter_and_sort,
    feedback_filter_and_sort,
    ids_of_the_wrong_kind_are_refused_naming_the_field,
);
