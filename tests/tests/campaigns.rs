//! Campaign delivery end to end, against a webhook receiver the test runs:
//! launch → outbox → signed delivery → retries → dead letters; consent and the
//! frequency cap; callbacks and events back; attribution and the funnel; and
//! triggers that send once across a restart.

use std::time::Duration;

use chrono::Datelike;
use hmac::{Hmac, KeyInit, Mac};
use retain_gateway::config::{Secret, Settings, Webhook};
use retain_tests::shop::{activate, bundled, paid_order, product, publish, run_segmentation};
use retain_tests::webhook::{Delivery, WebhookReceiver};
use retain_tests::{Backend, TestGateway, on_both_backends};
use serde_json::{Value, json};
use sha2::Sha256;

const EMAIL_SECRET: &str = "email-provider-secret";
const SMS_SECRET: &str = "sms-provider-secret";
const WAIT: Duration = Duration::from_secs(20);

const CREATE: &str = "mutation($input: CampaignInput!) { createCampaign(input: $input) { id } }";
const LAUNCH: &str = "mutation($id: ID!) { launchCampaign(id: $id) { campaign { status } enrolment { queued capped withoutConsent } } }";
const MESSAGES: &str = "query($id: ID!) { campaign(id: $id) { messages(first: 100) { id idempotencyKey channel status suppressedReason attempts lastError occasion customer { externalId } } } }";
const FUNNEL: &str = "query($id: ID!) { campaign(id: $id) { funnel { channel enrolled suppressed touched delivered opened clicked addedToCart paid repurchased revenueMinor dead } } }";

/// Delivery to the receiver, fast retries, and the scheduler on a short clock
/// in UTC.
fn delivering(receiver: &WebhookReceiver) -> impl FnOnce(&mut Settings) + '_ {
    move |s| {
        s.delivery.email = Some(Webhook {
            url: receiver.url("email"),
            secret: Secret::new(EMAIL_SECRET),
        });
        s.delivery.sms = Some(Webhook {
            url: receiver.url("sms"),
            secret: Secret::new(SMS_SECRET),
        });
        s.delivery.poll_interval_ms = 25;
        s.delivery.retry_base_ms = 25;
        s.delivery.max_attempts = 3;
        s.delivery.automation_interval_ms = 50;
        s.delivery.utc_offset_minutes = 0;
    }
}

fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn assert_signed(delivery: &Delivery, secret: &str) {
    assert_eq!(
        delivery.signature,
        signature(secret, &delivery.timestamp, &delivery.raw),
        "{delivery:#?}"
    );
}

/// A customer with the given consents and tags.
async fn customer(gw: &TestGateway, external: &str, consent: Value, tags: &[&str]) -> String {
    let data = gw
        .query(
            "mutation($input: CustomerInput!) { createCustomer(input: $input) { id } }",
            json!({ "input": { "externalId": external, "name": external, "email": format!("{external}@example.com"), "phone": "+8613800000000", "tags": tags, "consent": consent } }),
        )
        .await;
    data["createCustomer"]["id"].as_str().unwrap().to_owned()
}

async fn campaign(gw: &TestGateway, input: Value) -> String {
    gw.query(CREATE, json!({ "input": input })).await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn messages(gw: &TestGateway, campaign: &str) -> Vec<Value> {
    gw.query(MESSAGES, json!({ "id": campaign })).await["campaign"]["messages"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until every message of `campaign` left the queue.
async fn settled(gw: &TestGateway, campaign: &str) -> Vec<Value> {
    let started = std::time::Instant::now();
    loop {
        let all = messages(gw, campaign).await;
        if all.iter().all(|m| m["status"] != "PENDING") {
            return all;
        }
        assert!(started.elapsed() < WAIT, "still pending: {all:#?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn a_launch_delivers_signed_messages_and_retries(backend: Backend) {
    let receiver = WebhookReceiver::start().await;
    let gw = TestGateway::start_with(backend, delivering(&receiver)).await;
    customer(&gw, "ann", json!({ "email": true }), &["fitness"]).await;
    customer(&gw, "bo", json!({ "sms": true }), &["fitness"]).await;
    customer(&gw, "cai", json!({}), &["fitness"]).await;
    customer(&gw, "dee", json!({ "email": true }), &["office"]).await;
    // The email provider is down for two requests, the SMS one for good.
    receiver.fail("email", 2);
    receiver.fail("sms", u32::MAX);
    let id = campaign(
        &gw,
        json!({ "name": "Back to the gym", "kind": "WIN_BACK", "channels": ["EMAIL", "SMS"],
                "target": { "tagsAny": ["fitness"] },
                "offer": { "amountOff": { "amountMinor": 10000, "thresholdMinor": 20000 } } }),
    )
    .await;
    let launched = gw.query(LAUNCH, json!({ "id": id })).await["launchCampaign"].clone();
    assert_eq!(launched["campaign"]["status"], "RUNNING");
    assert_eq!(
        launched["enrolment"],
        json!({ "queued": 2, "capped": 0, "withoutConsent": 1 })
    );

    let all = settled(&gw, &id).await;
    let by = |external: &str| {
        all.iter()
            .find(|m| m["customer"]["externalId"] == external)
            .unwrap_or_else(|| panic!("a message for {external}"))
            .clone()
    };
    let (ann, bo, cai) = (by("ann"), by("bo"), by("cai"));
    assert!(
        all.iter().all(|m| m["customer"]["externalId"] != "dee"),
        "not targeted"
    );
    assert_eq!(
        (ann["channel"].as_str(), ann["status"].as_str()),
        (Some("EMAIL"), Some("SENT"))
    );
    assert_eq!(ann["attempts"], 3, "two failures, then sent");
    assert_eq!(
        (bo["channel"].as_str(), bo["status"].as_str()),
        (Some("SMS"), Some("DEAD"))
    );
    assert_eq!(
        bo["lastError"],
        "the webhook answered 503 Service Unavailable"
    );
    assert_eq!(cai["status"], "SUPPRESSED");
    assert_eq!(cai["suppressedReason"], "no consent for email, sms");

    let deliveries = receiver.deliveries();
    let to_ann: Vec<&Delivery> = deliveries
        .iter()
        .filter(|d| d.idempotency_key == ann["idempotencyKey"].as_str().unwrap())
        .collect();
    assert_eq!(to_ann.len(), 3, "one key across every attempt");
    for delivery in &to_ann {
        assert_eq!(delivery.channel, "email");
        assert_signed(delivery, EMAIL_SECRET);
    }
    let body = &to_ann[2].body;
    assert_eq!(body["customer"]["externalId"], "ann");
    assert_eq!(body["customer"]["email"], "ann@example.com");
    assert_eq!(body["campaign"]["offer"]["kind"], "amount_off");
    let to_bo: Vec<&Delivery> = deliveries
        .iter()
        .filter(|d| d.idempotency_key == bo["idempotencyKey"].as_str().unwrap())
        .collect();
    assert_eq!(to_bo.len(), 3, "max attempts, then the dead-letter list");
    assert_signed(to_bo[0], SMS_SECRET);

    let dead = gw
        .query("{ deadLetters { id customer { externalId } } }", json!({}))
        .await;
    assert_eq!(
        dead["deadLetters"],
        json!([{ "id": bo["id"], "customer": { "externalId": "bo" } }])
    );
    // The provider is back: a retried dead letter goes out.
    receiver.fail("sms", 0);
    let retried = gw
        .query(
            "mutation($id: Int!) { retryMessage(messageId: $id) { status attempts } }",
            json!({ "id": bo["id"] }),
        )
        .await;
    assert_eq!(
        retried["retryMessage"],
        json!({ "status": "PENDING", "attempts": 0 })
    );
    let all = settled(&gw, &id).await;
    assert!(
        all.iter()
            .any(|m| m["id"] == bo["id"] && m["status"] == "SENT")
    );
    let error = gw
        .error(
            "mutation($id: Int!) { retryMessage(messageId: $id) { status } }",
            json!({ "id": ann["id"] }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "CONFLICT");

    // Launching twice is refused; nothing is enrolled again.
    let again = gw.error(LAUNCH, json!({ "id": id })).await;
    assert_eq!(again["extensions"]["code"], "CONFLICT");
    assert_eq!(messages(&gw, &id).await.len(), 3);
}

async fn the_frequency_cap_spans_campaigns(backend: Backend) {
    let receiver = WebhookReceiver::start().await;
    let gw = TestGateway::start_with(backend, |s| {
        delivering(&receiver)(s);
        s.delivery.frequency_cap = 2;
    })
    .await;
    customer(&gw, "ann", json!({ "email": true }), &["fitness"]).await;
    let mut enrolments = Vec::new();
    for name in ["One", "Two", "Three"] {
        let id = campaign(
            &gw,
            json!({ "name": name, "kind": "MEMBER_EXCLUSIVE", "channels": ["EMAIL"] }),
        )
        .await;
        let launched = gw.query(LAUNCH, json!({ "id": id })).await;
        enrolments.push(launched["launchCampaign"]["enrolment"].clone());
        if name == "Three" {
            let third = messages(&gw, &id).await;
            assert_eq!(
                third[0]["suppressedReason"],
                "frequency cap: 2 messages in the last 7 days"
            );
        }
    }
    assert_eq!(
        enrolments,
        [
            json!({ "queued": 1, "capped": 0, "withoutConsent": 0 }),
            json!({ "queued": 1, "capped": 0, "withoutConsent": 0 }),
            json!({ "queued": 0, "capped": 1, "withoutConsent": 0 }),
        ]
    );
}

async fn callback(gw: &TestGateway, body: &Value, secret: &str, age_secs: i64) -> u16 {
    let raw = body.to_string();
    let timestamp = (chrono::Utc::now().timestamp() - age_secs).to_string();
    reqwest::Client::new()
        .post(gw.url("/callbacks/messages"))
        .header("x-retain-timestamp", &timestamp)
        .header(
            "x-retain-signature",
            signature(secret, &timestamp, raw.as_bytes()),
        )
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn events_come_back_and_orders_are_attributed(backend: Backend) {
    let receiver = WebhookReceiver::start().await;
    let gw = TestGateway::start_with(backend, delivering(&receiver)).await;
    let lamp = product(&gw, "LAMP", 10_000).await;
    let ann = customer(&gw, "ann", json!({ "email": true }), &[]).await;
    let bo = customer(&gw, "bo", json!({ "email": true }), &[]).await;
    let id = campaign(
        &gw,
        json!({ "name": "Come back", "kind": "REPURCHASE_REMINDER", "channels": ["EMAIL"], "attributionDays": 3 }),
    )
    .await;
    gw.query(LAUNCH, json!({ "id": id })).await;
    let all = settled(&gw, &id).await;
    let key_of = |external: &str| {
        all.iter()
            .find(|m| m["customer"]["externalId"] == external)
            .unwrap()["idempotencyKey"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (ann_key, bo_key) = (key_of("ann"), key_of("bo"));

    // Ann's provider reports a click by signed callback; refusals first.
    let click = json!({ "idempotencyKey": ann_key, "event": "clicked" });
    assert_eq!(callback(&gw, &click, "wrong-secret", 0).await, 401);
    assert_eq!(
        callback(&gw, &click, EMAIL_SECRET, 3600).await,
        401,
        "stale"
    );
    let unknown = json!({ "idempotencyKey": "no-such-key", "event": "opened" });
    assert_eq!(callback(&gw, &unknown, EMAIL_SECRET, 0).await, 404);
    assert_eq!(callback(&gw, &click, EMAIL_SECRET, 0).await, 204);
    // Bo's app reports an open through the API.
    let bo_id = all
        .iter()
        .find(|m| m["customer"]["externalId"] == "bo")
        .unwrap()["id"]
        .clone();
    let opened = gw
        .query(
            "mutation($id: Int!) { recordMessageEvent(messageId: $id, event: OPENED) { deliveredAt openedAt clickedAt } }",
            json!({ "id": bo_id }),
        )
        .await["recordMessageEvent"]
        .clone();
    assert!(opened["openedAt"].is_string() && opened["clickedAt"].is_null());
    assert_eq!(
        opened["deliveredAt"], opened["openedAt"],
        "an open implies delivery"
    );
    assert!(!bo_key.is_empty());

    // Ann adds to cart and buys twice after her click; Bo buys without clicking.
    gw.query(
        "mutation($input: RecordInteractionInput!) { recordInteraction(input: $input) { id } }",
        json!({ "input": { "customerId": ann, "kind": "ADD_TO_CART", "channel": "APP", "productId": lamp } }),
    )
    .await;
    paid_order(&gw, &ann, &[(&lamp, 1)]).await;
    paid_order(&gw, &ann, &[(&lamp, 2)]).await;
    paid_order(&gw, &bo, &[(&lamp, 5)]).await;
    let funnel = gw.query(FUNNEL, json!({ "id": id })).await["campaign"]["funnel"].clone();
    assert_eq!(
        funnel,
        json!([{
            "channel": "EMAIL", "enrolled": 2, "suppressed": 0, "touched": 2, "delivered": 2,
            "opened": 2, "clicked": 1, "addedToCart": 1, "paid": 1, "repurchased": 1,
            "revenueMinor": 30000, "dead": 0,
        }])
    );
}

async fn messages_of(gw: &TestGateway, campaign: &str) -> usize {
    messages(gw, campaign).await.len()
}

async fn triggers_send_once_even_across_a_restart(backend: Backend) {
    let receiver = WebhookReceiver::start().await;
    let gw = TestGateway::start_with(backend, delivering(&receiver)).await;
    let today = chrono::Utc::now().date_naive();
    let birthday = today
        .with_year(1990)
        .unwrap_or(today)
        .format("%Y-%m-%d")
        .to_string();
    for (external, born) in [("ann", birthday.as_str()), ("bo", "1990-01-01")] {
        let data = gw
            .query(
                "mutation($input: CustomerInput!) { createCustomer(input: $input) { id } }",
                json!({ "input": { "externalId": external, "name": external, "email": format!("{external}@example.com"), "birthday": born, "consent": { "email": true } } }),
            )
            .await;
        assert!(data["createCustomer"]["id"].is_string());
    }
    let birthdays = campaign(
        &gw,
        json!({ "name": "Happy birthday", "kind": "BIRTHDAY_CARE", "channels": ["EMAIL"],
                "trigger": { "birthday": { "hour": 0 } } }),
    )
    .await;
    let holiday = campaign(
        &gw,
        json!({ "name": "Today's sale", "kind": "HOLIDAY_CARE", "channels": ["EMAIL"],
                "trigger": { "dates": { "dates": [today.format("%m-%d").to_string()], "hour": 0 } } }),
    )
    .await;
    for id in [&birthdays, &holiday] {
        let launched = gw.query(LAUNCH, json!({ "id": id })).await;
        assert_eq!(
            launched["launchCampaign"]["enrolment"]["queued"], 0,
            "triggered campaigns enrol when their trigger fires"
        );
    }
    // One birthday message and one holiday message per customer, delivered.
    receiver.wait_for_accepted(3, WAIT).await;
    assert_eq!(messages_of(&gw, &birthdays).await, 1);
    assert_eq!(messages_of(&gw, &holiday).await, 2);

    // After a restart the scheduler runs again and sends nothing new.
    let gw = gw.restart(delivering(&receiver)).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(messages_of(&gw, &birthdays).await, 1);
    assert_eq!(messages_of(&gw, &holiday).await, 2);
    let mut keys: Vec<String> = receiver
        .deliveries()
        .into_iter()
        .filter(|d| d.accepted)
        .map(|d| d.idempotency_key)
        .collect();
    let sent = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!((sent, keys.len()), (3, 3), "each message delivered once");
}

async fn entering_a_segment_triggers_a_win_back(backend: Backend) {
    let receiver = WebhookReceiver::start().await;
    let gw = TestGateway::start_with(backend, delivering(&receiver)).await;
    let rfm = publish(&gw, bundled("tier")).await;
    activate(&gw, "tier", &rfm, json!({})).await;
    let lamp = product(&gw, "LAMP", 10_000).await;
    let regular = customer(&gw, "regular", json!({ "email": true }), &[]).await;
    paid_order(&gw, &regular, &[(&lamp, 20)]).await;
    customer(&gw, "quiet", json!({ "email": true }), &[]).await;
    run_segmentation(&gw, "tier").await;
    let id = campaign(
        &gw,
        json!({ "name": "We miss you", "kind": "WIN_BACK", "channels": ["EMAIL"],
                "trigger": { "segmentEntered": { "slot": "tier", "key": "dormant" } } }),
    )
    .await;
    gw.query(LAUNCH, json!({ "id": id })).await;
    // Entries before the launch do not count: `quiet` was dormant already.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(messages_of(&gw, &id).await, 0);

    // A new customer enters dormant with the next run.
    customer(&gw, "newcomer", json!({ "email": true }), &[]).await;
    run_segmentation(&gw, "tier").await;
    receiver.wait_for_accepted(1, WAIT).await;
    let sent = settled(&gw, &id).await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["customer"]["externalId"], "newcomer");
    assert!(sent[0]["occasion"].as_str().unwrap().starts_with("change:"));
}

async fn balance(gw: &TestGateway, customer: &str) -> i64 {
    gw.query(
        "query($id: ID!) { customer(id: $id) { points { balance } } }",
        json!({ "id": customer }),
    )
    .await["customer"]["points"]["balance"]
        .as_i64()
        .unwrap()
}

async fn multiplier_offers_multiply_the_points_of_those_they_reached(backend: Backend) {
    let receiver = WebhookReceiver::start().await;
    let gw = TestGateway::start_with(backend, delivering(&receiver)).await;
    let ann = customer(&gw, "ann", json!({ "email": true }), &["vip"]).await;
    let bo = customer(&gw, "bo", json!({ "email": true }), &["office"]).await;
    let cai = customer(&gw, "cai", json!({}), &["vip"]).await;
    let lamp = product(&gw, "lamp", 10_000).await;
    let id = campaign(
        &gw,
        json!({ "name": "Double points for VIPs", "kind": "MEMBER_EXCLUSIVE", "channels": ["EMAIL"],
                "target": { "tagsAny": ["vip"] }, "offer": { "pointsMultiplierTenths": 20 } }),
    )
    .await;
    gw.query(LAUNCH, json!({ "id": id })).await;
    settled(&gw, &id).await;

    // Ann was sent the offer: ×2. Bo was not targeted, Cai had no channel to
    // hear of it: ×1.
    for customer in [&ann, &bo, &cai] {
        paid_order(&gw, customer, &[(&lamp, 1)]).await;
    }
    assert_eq!(balance(&gw, &ann).await, 200);
    assert_eq!(balance(&gw, &bo).await, 100);
    assert_eq!(balance(&gw, &cai).await, 100);
    let reason = gw
        .query(
            "query($id: ID!) { customer(id: $id) { points { ledger(first: 1) { edges { node { reason } } } } } }",
            json!({ "id": ann }),
        )
        .await["customer"]["points"]["ledger"]["edges"][0]["node"]["reason"]
        .clone();
    assert!(
        reason
            .as_str()
            .unwrap()
            .ends_with("(×2 from campaign Double points for VIPs)"),
        "{reason}"
    );

    // Once the campaign is over, orders earn the usual rate again.
    gw.query(
        "mutation($id: ID!) { updateCampaign(id: $id, input: { status: COMPLETED }) { status } }",
        json!({ "id": id }),
    )
    .await;
    paid_order(&gw, &ann, &[(&lamp, 1)]).await;
    assert_eq!(balance(&gw, &ann).await, 300);
}

on_both_backends!(
    multiplier_offers_multiply_the_points_of_those_they_reached,
    a_launch_delivers_signed_messages_and_retries,
    the_frequency_cap_spans_campaigns,
    events_come_back_and_orders_are_attributed,
    triggers_send_once_even_across_a_restart,
    entering_a_segment_triggers_a_win_back,
);
