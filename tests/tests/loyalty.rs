//! Loyalty end to end: points earned on payment (with the level multiplier),
//! redeemed oldest first and idempotently, taken back on refund, expired oldest
//! first; concurrent redemptions that never overdraw; audited, privileged
//! adjustments; and levels kept by the retention rule.

use chrono::{DateTime, Months, Utc};
use retain_gateway::auth::Principal;
use retain_gateway::graphql::ids::{self, NodeKind};
use retain_gateway::plugins::batch::Columns;
use retain_gateway::services::features;
use retain_gateway::services::loyalty::expiry::{self, Expired};
use retain_gateway::services::loyalty::requests::{self, Adjustment};
use retain_schema::{points_account, points_entry};
use retain_tests::shop::{activate, bundled, customer, product, publish, run_segmentation};
use retain_tests::{Backend, TestGateway, on_both_backends};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

const POINTS: &str = "query($id: ID!, $days: Int) { customer(id: $id) { points { balance value { minor } expiringSoon(days: $days) ledger(first: 50) { totalCount edges { node { kind points remaining balanceAfter reference reason actor expiresAt order { orderNumber } } } } } level { key label assigned heldUntil } } }";
const REDEEM: &str = "mutation($id: ID!, $points: Int!, $key: String!) { redeemPoints(customerId: $id, points: $points, idempotencyKey: $key) { replayed value { minor } entry { kind points balanceAfter reference actor } } }";
const ADJUST: &str = "mutation($id: ID!, $points: Int!, $reason: String!) { adjustPoints(customerId: $id, points: $points, reason: $reason) { replayed entry { kind points balanceAfter reason actor expiresAt } } }";
const STATUS: &str = "mutation($id: ID!, $status: OrderStatus!) { updateOrderStatus(id: $id, status: $status) { status } }";

/// Places an order of `quantity` × `product` and moves it to PAID; its id.
async fn pay(gw: &TestGateway, customer: &str, product: &str, quantity: i32) -> String {
    let placed = gw
        .query(
            "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }",
            json!({ "input": { "customerId": customer, "channel": "WEB",
                               "items": [{ "productId": product, "quantity": quantity }] } }),
        )
        .await;
    let order = placed["placeOrder"]["id"].as_str().unwrap().to_owned();
    gw.query(STATUS, json!({ "id": order, "status": "PAID" }))
        .await;
    order
}

async fn refund(gw: &TestGateway, order: &str) {
    gw.query(STATUS, json!({ "id": order, "status": "REFUNDED" }))
        .await;
}

async fn points(gw: &TestGateway, customer: &str) -> Value {
    gw.query(POINTS, json!({ "id": customer, "days": 45 }))
        .await["customer"]
        .clone()
}

async fn balance(gw: &TestGateway, customer: &str) -> i64 {
    points(gw, customer).await["points"]["balance"]
        .as_i64()
        .unwrap()
}

/// The ledger, oldest entry first.
fn ledger(points: &Value) -> Vec<Value> {
    let mut entries: Vec<Value> = points["points"]["ledger"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    entries.reverse();
    entries
}

fn row_id(customer: &str) -> i64 {
    match ids::decode_any(customer) {
        Some((NodeKind::Customer, id)) => id,
        other => panic!("{customer} is not a customer id: {other:?}"),
    }
}

/// What the balance row says, and what the customer's lots hold: always equal.
async fn stored(gw: &TestGateway, customer: &str) -> (i64, i64) {
    let id = row_id(customer);
    let db = &gw.context.db;
    let account = points_account::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .map_or(0, |a| a.balance);
    let lots: i64 = points_entry::Entity::find()
        .filter(points_entry::Column::CustomerId.eq(id))
        .all(db)
        .await
        .unwrap()
        .iter()
        .map(|e| e.remaining)
        .sum();
    (account, lots)
}

/// Credits `points` as if an operator had adjusted them at `at`.
async fn credit_at(gw: &TestGateway, customer: &str, points: i64, at: DateTime<Utc>) {
    let adjustment = Adjustment {
        customer_id: row_id(customer),
        points,
        reason: format!("goodwill of {}", at.format("%Y-%m")),
        idempotency_key: None,
    };
    let settings = &gw.context.settings.loyalty;
    requests::adjust(&gw.context.db, settings, &adjustment, &Principal::cli(), at)
        .await
        .unwrap();
}

fn code(error: &Value) -> &str {
    error["extensions"]["code"].as_str().unwrap_or_default()
}

/// The level slot running the bundled membership-level plugin, with a first
/// (empty) run so orders reclassify customers in real time.
async fn with_levels(gw: &TestGateway, config: Value) -> String {
    let level = publish(gw, bundled("level")).await;
    activate(gw, "level", &level, config).await;
    run_segmentation(gw, "level").await;
    level
}

async fn paid_orders_earn_points_multiplied_by_level(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    with_levels(&gw, json!({})).await;
    let ann = customer(&gw, "ann", &[]).await;
    let two_thousand = product(&gw, "big", 200_000).await;
    let thousand = product(&gw, "small", 100_000).await;
    // ¥2000 orders: three as ordinary (1 point per yuan), three as silver
    // (×1.2), then gold (×1.5).
    for _ in 0..6 {
        pay(&gw, &ann, &two_thousand, 1).await;
    }
    assert_eq!(points(&gw, &ann).await["level"]["key"], "gold");
    pay(&gw, &ann, &thousand, 1).await;

    let ann_points = points(&gw, &ann).await;
    let earned: Vec<i64> = ledger(&ann_points)
        .iter()
        .map(|e| e["points"].as_i64().unwrap())
        .collect();
    assert_eq!(earned, [2000, 2000, 2000, 2400, 2400, 2400, 1500]);
    assert_eq!(ann_points["points"]["balance"], 14_700);
    // 147 redemption steps of ¥10.
    assert_eq!(ann_points["points"]["value"]["minor"], 147_000);
    let last = ledger(&ann_points).pop().unwrap();
    assert_eq!(last["kind"], "EARN");
    assert_eq!(last["remaining"], 1500);
    assert_eq!(last["actor"], "system");
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .ends_with("paid (×1.5 as gold)"),
        "{last}"
    );
    assert!(last["order"]["orderNumber"].is_string());
    assert!(last["expiresAt"].is_string());

    // Plugins see the real balance as the points-balance feature.
    let model = retain_schema::customer::Entity::find_by_id(row_id(&ann))
        .one(&gw.context.db)
        .await
        .unwrap()
        .unwrap();
    let features = features::features_of(&gw.context.db, &[model], Utc::now(), Columns::ALL)
        .await
        .unwrap();
    assert_eq!(features[0].points_balance, 14_700);
}

async fn redemptions_spend_oldest_points_first_once_per_key(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let bo = customer(&gw, "bo", &[]).await;
    let three = product(&gw, "three", 30_000).await;
    let five = product(&gw, "five", 50_000).await;
    pay(&gw, &bo, &three, 1).await;
    pay(&gw, &bo, &five, 1).await;
    assert_eq!(balance(&gw, &bo).await, 800);

    let vars = json!({ "id": bo, "points": 400, "key": "till-7-0001" });
    let redeemed = gw.query(REDEEM, vars.clone()).await["redeemPoints"].clone();
    assert_eq!(redeemed["replayed"], false);
    assert_eq!(redeemed["value"]["minor"], 4_000);
    assert_eq!(redeemed["entry"]["kind"], "REDEEM");
    assert_eq!(redeemed["entry"]["points"], -400);
    assert_eq!(redeemed["entry"]["balanceAfter"], 400);
    assert_eq!(redeemed["entry"]["reference"], "till-7-0001");
    // The ¥300 order's lot went first, then 100 of the ¥500 order's.
    let remaining: Vec<i64> = ledger(&points(&gw, &bo).await)
        .iter()
        .map(|e| e["remaining"].as_i64().unwrap())
        .collect();
    assert_eq!(remaining, [0, 400, 0]);

    // A retry changes nothing; the key with other points is a conflict.
    let retried = gw.query(REDEEM, vars).await["redeemPoints"].clone();
    assert_eq!(retried["replayed"], true);
    assert_eq!(retried["entry"], redeemed["entry"]);
    let reused = gw
        .error(
            REDEEM,
            json!({ "id": bo, "points": 100, "key": "till-7-0001" }),
        )
        .await;
    assert_eq!(code(&reused), "CONFLICT");
    assert_eq!(reused["extensions"]["field"], "idempotencyKey");
    assert_eq!(balance(&gw, &bo).await, 400);
    assert_eq!(points(&gw, &bo).await["points"]["ledger"]["totalCount"], 3);

    let too_much = gw
        .error(
            REDEEM,
            json!({ "id": bo, "points": 500, "key": "till-7-0002" }),
        )
        .await;
    assert_eq!(code(&too_much), "INSUFFICIENT_POINTS");
    assert_eq!(too_much["extensions"]["field"], "points");
    assert_eq!(too_much["extensions"]["available"], 400);
    assert_eq!(too_much["extensions"]["requested"], 500);
    assert_eq!(
        too_much["message"],
        "points: insufficient balance: 400 available, 500 requested"
    );
    let odd = gw
        .error(
            REDEEM,
            json!({ "id": bo, "points": 150, "key": "till-7-0003" }),
        )
        .await;
    assert_eq!(code(&odd), "BAD_USER_INPUT");
    assert_eq!(odd["message"], "points: must be a positive multiple of 100");
    assert_eq!(stored(&gw, &bo).await, (400, 400));
}

async fn refunds_take_back_what_their_order_earned(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let cai = customer(&gw, "cai", &[]).await;
    let three = product(&gw, "three", 30_000).await;
    let five = product(&gw, "five", 50_000).await;
    let four = product(&gw, "four", 40_000).await;
    pay(&gw, &cai, &three, 1).await;
    let second = pay(&gw, &cai, &five, 1).await;
    let third = pay(&gw, &cai, &four, 1).await;
    gw.query(REDEEM, json!({ "id": cai, "points": 600, "key": "r1" }))
        .await;
    // Lots now: 0 of 300, 200 of 500, 400 of 400.

    // The second order's 200 left, and the 300 spent of it from the third's.
    refund(&gw, &second).await;
    let after = points(&gw, &cai).await;
    let reversal = ledger(&after).pop().unwrap();
    assert_eq!(reversal["kind"], "REVERSE");
    assert_eq!(reversal["points"], -500);
    assert_eq!(reversal["balanceAfter"], 100);
    assert!(reversal["reason"].as_str().unwrap().ends_with("refunded"));
    assert_eq!(after["points"]["balance"], 100);

    // The third order's lot holds 100; the rest was spent and the balance
    // cannot cover it, so it is not taken below zero.
    refund(&gw, &third).await;
    let after = points(&gw, &cai).await;
    let reversal = ledger(&after).pop().unwrap();
    assert_eq!(reversal["points"], -100);
    assert_eq!(reversal["balanceAfter"], 0);
    assert!(
        reversal["reason"]
            .as_str()
            .unwrap()
            .ends_with("300 points already spent could not be taken back"),
        "{reversal}"
    );
    assert_eq!(stored(&gw, &cai).await, (0, 0));
    // Refunding is a status change like any other: twice is refused.
    let again = gw
        .error(STATUS, json!({ "id": third, "status": "REFUNDED" }))
        .await;
    assert_eq!(code(&again), "CONFLICT");
    assert_eq!(ledger(&points(&gw, &cai).await).len(), 6);
}

const REFUND: &str = "mutation($input: RefundOrderInput!) { refundOrder(input: $input) { replayed refund { amount { minor } reason actor idempotencyKey } order { status refunded { minor } refundedAt refunds { amount { minor } } } } }";

async fn partial_refunds_take_back_their_share_of_the_points(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let eve = customer(&gw, "eve", &[]).await;
    let hundred = product(&gw, "hundred", 10_000).await;
    // ¥300.00 earns 300 points.
    let order = pay(&gw, &eve, &hundred, 3).await;
    let refund = |amount: i64, key: &str| json!({ "input": { "orderId": order, "amountMinor": amount, "reason": "one cup broke", "idempotencyKey": key } });

    // A third of the order: a third of its points.
    let first = gw.query(REFUND, refund(10_000, "rf-1")).await["refundOrder"].clone();
    assert_eq!(first["replayed"], false);
    assert_eq!(first["refund"]["amount"]["minor"], 10_000);
    assert_eq!(first["refund"]["reason"], "one cup broke");
    assert!(
        first["refund"]["actor"]
            .as_str()
            .unwrap()
            .starts_with("key:")
    );
    assert_eq!(first["order"]["status"], "PAID");
    assert_eq!(first["order"]["refunded"]["minor"], 10_000);
    assert!(first["order"]["refundedAt"].is_null());
    let after = points(&gw, &eve).await;
    let reversal = ledger(&after).pop().unwrap();
    assert_eq!(reversal["kind"], "REVERSE");
    assert_eq!(reversal["points"], -100);
    assert_eq!(reversal["reference"], "refund:1");
    assert!(
        reversal["reason"]
            .as_str()
            .unwrap()
            .ends_with("partly refunded (10000 of 30000 minor units)"),
        "{reversal}"
    );
    assert_eq!(after["points"]["balance"], 200);

    // A retry changes nothing; the key for another amount is refused.
    let retried = gw.query(REFUND, refund(10_000, "rf-1")).await["refundOrder"].clone();
    assert_eq!(retried["replayed"], true);
    assert_eq!(balance(&gw, &eve).await, 200);
    let reused = gw.error(REFUND, refund(5_000, "rf-1")).await;
    assert_eq!(code(&reused), "CONFLICT");
    assert_eq!(reused["extensions"]["field"], "idempotencyKey");

    // More than is left to refund is refused, naming the field; nothing moves.
    let too_much = gw.error(REFUND, refund(20_001, "rf-2")).await;
    assert_eq!(code(&too_much), "BAD_USER_INPUT", "{too_much}");
    assert_eq!(too_much["extensions"]["field"], "amountMinor");
    assert!(
        too_much["message"]
            .as_str()
            .unwrap()
            .contains("left to refund (20000"),
        "{too_much}"
    );
    let nothing = gw.error(REFUND, refund(0, "rf-3")).await;
    assert_eq!(nothing["extensions"]["field"], "amountMinor");
    assert_eq!(balance(&gw, &eve).await, 200);

    // ¥50.00 more brings the refunded share to half: 150 points back in all.
    gw.query(REFUND, refund(5_000, "rf-4")).await;
    assert_eq!(balance(&gw, &eve).await, 150);
    // The rest refunds the order: every point is back, none twice.
    let last = gw.query(REFUND, refund(15_000, "rf-5")).await["refundOrder"].clone();
    assert_eq!(last["order"]["status"], "REFUNDED");
    assert_eq!(last["order"]["refunded"]["minor"], 30_000);
    assert!(last["order"]["refundedAt"].is_string());
    assert_eq!(
        last["order"]["refunds"],
        json!([{ "amount": { "minor": 10_000 } }, { "amount": { "minor": 5_000 } }, { "amount": { "minor": 15_000 } }])
    );
    let after = points(&gw, &eve).await;
    let reversed: Vec<i64> = ledger(&after)
        .iter()
        .filter(|e| e["kind"] == "REVERSE")
        .map(|e| e["points"].as_i64().unwrap())
        .collect();
    assert_eq!(reversed, [-100, -50, -150]);
    assert_eq!(after["points"]["balance"], 0);
    assert_eq!(stored(&gw, &eve).await, (0, 0));
    let refunded = gw.error(REFUND, refund(1, "rf-6")).await;
    assert_eq!(code(&refunded), "CONFLICT");
    assert_eq!(refunded["extensions"]["field"], "orderId");
}

const RECORD_REFERRAL: &str = "mutation($input: RecordReferralInput!) { recordReferral(input: $input) { id rewardedAt referrer { externalId } referred { externalId } campaign { name } } }";
const REFERRAL_OF: &str = "query($id: ID!) { customer(id: $id) { referral { rewardedAt rewardOrder { orderNumber } referrer { externalId } } } }";

async fn referrals_reward_both_sides_on_the_first_paid_order(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let fay = customer(&gw, "fay", &[]).await;
    let gus = customer(&gw, "gus", &[]).await;
    let hal = customer(&gw, "hal", &[]).await;
    let cup = product(&gw, "cup", 10_000).await;
    let create = "mutation($input: CampaignInput!) { createCampaign(input: $input) { id } }";
    // A referral reward only makes sense on a referral campaign.
    let wrong_kind = gw
        .error(
            create,
            json!({ "input": { "name": "Bring a friend", "kind": "WIN_BACK", "channels": ["EMAIL"],
                               "offer": { "referralPoints": { "referrerPoints": 500, "referredPoints": 200 } } } }),
        )
        .await;
    assert_eq!(wrong_kind["extensions"]["field"], "offer.referralPoints");
    let campaign = gw
        .query(
            create,
            json!({ "input": { "name": "Bring a friend", "kind": "REFERRAL", "channels": ["EMAIL"],
                               "offer": { "referralPoints": { "referrerPoints": 500, "referredPoints": 200 } } } }),
        )
        .await["createCampaign"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refer = |referrer: &str, referred: &str| json!({ "input": { "campaignId": campaign, "referrerId": referrer, "referredId": referred } });
    // Not running yet.
    let early = gw.error(RECORD_REFERRAL, refer(&fay, &gus)).await;
    assert_eq!(code(&early), "CONFLICT");
    gw.query(
        "mutation($id: ID!) { launchCampaign(id: $id) { campaign { status } } }",
        json!({ "id": campaign }),
    )
    .await;

    let recorded = gw.query(RECORD_REFERRAL, refer(&fay, &gus)).await["recordReferral"].clone();
    assert_eq!(recorded["referrer"]["externalId"], "fay");
    assert_eq!(recorded["referred"]["externalId"], "gus");
    assert_eq!(recorded["campaign"]["name"], "Bring a friend");
    assert!(recorded["rewardedAt"].is_null());
    // Referred once only, never oneself, never after a first paid order.
    let twice = gw.error(RECORD_REFERRAL, refer(&hal, &gus)).await;
    assert_eq!(twice["extensions"]["field"], "referredId");
    let oneself = gw.error(RECORD_REFERRAL, refer(&hal, &hal)).await;
    assert_eq!(oneself["extensions"]["field"], "referredId");
    pay(&gw, &hal, &cup, 1).await;
    let late = gw.error(RECORD_REFERRAL, refer(&fay, &hal)).await;
    assert_eq!(code(&late), "CONFLICT");
    assert!(
        late["message"].as_str().unwrap().contains("already paid"),
        "{late}"
    );

    // Placing is not paying: nothing yet.
    let placed = gw
        .query(
            "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id orderNumber } }",
            json!({ "input": { "customerId": gus, "channel": "WEB", "items": [{ "productId": cup, "quantity": 1 }] } }),
        )
        .await["placeOrder"]
        .clone();
    assert_eq!(balance(&gw, &fay).await, 0);
    gw.query(STATUS, json!({ "id": placed["id"], "status": "PAID" }))
        .await;
    // Gus: 100 earned + 200 referral; Fay: 500.
    assert_eq!(balance(&gw, &gus).await, 300);
    assert_eq!(balance(&gw, &fay).await, 500);
    let fay_entry = ledger(&points(&gw, &fay).await).pop().unwrap();
    assert_eq!(fay_entry["kind"], "REFERRAL");
    assert_eq!(fay_entry["remaining"], 500);
    assert!(fay_entry["expiresAt"].is_string());
    let referral =
        gw.query(REFERRAL_OF, json!({ "id": gus })).await["customer"]["referral"].clone();
    assert!(referral["rewardedAt"].is_string());
    assert_eq!(
        referral["rewardOrder"]["orderNumber"],
        placed["orderNumber"]
    );
    assert_eq!(referral["referrer"]["externalId"], "fay");

    // Later orders reward nobody again.
    pay(&gw, &gus, &cup, 1).await;
    assert_eq!(balance(&gw, &fay).await, 500);
    assert_eq!(balance(&gw, &gus).await, 400);
    let stats = gw
        .query(
            "query($id: ID!) { campaign(id: $id) { referrals { recorded rewarded } } }",
            json!({ "id": campaign }),
        )
        .await;
    assert_eq!(
        stats["campaign"]["referrals"],
        json!({ "recorded": 1, "rewarded": 1 })
    );
}

async fn unspent_points_expire_oldest_first(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let dee = customer(&gw, "dee", &[]).await;
    let now = Utc::now();
    let months_ago = |n: u32| now.checked_sub_months(Months::new(n)).unwrap();
    // Points expire 12 months after they are credited.
    credit_at(&gw, &dee, 500, months_ago(13)).await;
    credit_at(&gw, &dee, 300, months_ago(11) + chrono::Duration::days(10)).await;
    credit_at(&gw, &dee, 200, months_ago(1)).await;
    let before = points(&gw, &dee).await;
    // Past-due points never count, swept or not.
    assert_eq!(before["points"]["balance"], 500);
    assert_eq!(before["points"]["expiringSoon"], 300);

    let expired = expiry::expire_due(&gw.context.db, now).await.unwrap();
    assert_eq!(
        expired,
        Expired {
            customers: 1,
            lots: 1,
            points: 500
        }
    );
    assert_eq!(
        expiry::expire_due(&gw.context.db, now).await.unwrap(),
        Expired::default()
    );
    let after = points(&gw, &dee).await;
    let entries = ledger(&after);
    let expiry_entry = entries.last().unwrap();
    assert_eq!(expiry_entry["kind"], "EXPIRE");
    assert_eq!(expiry_entry["points"], -500);
    assert_eq!(expiry_entry["balanceAfter"], 500);
    assert!(
        expiry_entry["reference"]
            .as_str()
            .unwrap()
            .starts_with("lot:")
    );
    assert_eq!(stored(&gw, &dee).await, (500, 500));

    // Redeeming takes the older surviving lot first.
    gw.query(REDEEM, json!({ "id": dee, "points": 400, "key": "r1" }))
        .await;
    let remaining: Vec<i64> = ledger(&points(&gw, &dee).await)
        .iter()
        .filter(|e| e["kind"] == "ADJUST")
        .map(|e| e["remaining"].as_i64().unwrap())
        .collect();
    assert_eq!(remaining, [0, 0, 100]);

    // Points past due are not spendable even before a sweep reaches them.
    let eve = customer(&gw, "eve", &[]).await;
    credit_at(&gw, &eve, 300, months_ago(14)).await;
    let refused = gw
        .error(REDEEM, json!({ "id": eve, "points": 100, "key": "r1" }))
        .await;
    assert_eq!(code(&refused), "INSUFFICIENT_POINTS");
    assert_eq!(refused["extensions"]["available"], 0);
}

async fn concurrent_redemptions_never_overdraw(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let agent = gw.create_key("agent").await;
    let fay = customer(&gw, "fay", &[]).await;
    gw.query(
        ADJUST,
        json!({ "id": fay, "points": 1000, "reason": "welcome" }),
    )
    .await;

    // Thirty tills redeem 100 points each at once: ten can.
    let attempts = (0..30).map(|i| {
        let vars = json!({ "id": fay, "points": 100, "key": format!("till-{i}") });
        gw.post_as(Some(&agent), REDEEM, vars)
    });
    let replies = futures::future::join_all(attempts).await;
    let mut redeemed = 0;
    for reply in &replies {
        match reply.body.get("errors") {
            None => {
                assert_eq!(reply.body["data"]["redeemPoints"]["replayed"], false);
                redeemed += 1;
            }
            Some(errors) => assert_eq!(code(&errors[0]), "INSUFFICIENT_POINTS", "{errors}"),
        }
    }
    assert_eq!(redeemed, 10);
    let balance_after: Vec<i64> = replies
        .iter()
        .filter_map(|r| r.body["data"]["redeemPoints"]["entry"]["balanceAfter"].as_i64())
        .collect();
    let mut sorted = balance_after.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..10).map(|n| n * 100).collect::<Vec<_>>());
    assert_eq!(balance(&gw, &fay).await, 0);
    assert_eq!(stored(&gw, &fay).await, (0, 0));

    // The same redemption retried on ten connections at once happens once.
    gw.query(
        ADJUST,
        json!({ "id": fay, "points": 500, "reason": "apology" }),
    )
    .await;
    let retries = (0..10).map(|_| {
        let vars = json!({ "id": fay, "points": 200, "key": "one-redemption" });
        gw.post_as(Some(&agent), REDEEM, vars)
    });
    let replies = futures::future::join_all(retries).await;
    let first_tries = replies
        .iter()
        .filter(|r| {
            assert!(r.body.get("errors").is_none(), "{:#}", r.body);
            r.body["data"]["redeemPoints"]["replayed"] == false
        })
        .count();
    assert_eq!(first_tries, 1);
    assert_eq!(balance(&gw, &fay).await, 300);
    assert_eq!(stored(&gw, &fay).await, (300, 300));
}

async fn adjustments_are_privileged_and_audited(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let operator = gw.create_key("operator").await;
    let agent = gw.create_key("agent").await;
    let viewer = gw.create_key("viewer").await;
    let gus = customer(&gw, "gus", &[]).await;
    let vars = json!({ "id": gus, "points": 250, "reason": "late delivery" });

    let refused = gw.post_as(Some(&agent), ADJUST, vars.clone()).await;
    assert_eq!(code(&refused.body["errors"][0]), "FORBIDDEN");
    let refused = gw
        .post_as(
            Some(&viewer),
            REDEEM,
            json!({ "id": gus, "points": 100, "key": "v" }),
        )
        .await;
    assert_eq!(code(&refused.body["errors"][0]), "FORBIDDEN");
    assert_eq!(balance(&gw, &gus).await, 0);

    let adjusted = gw.post_as(Some(&operator), ADJUST, vars).await;
    assert!(adjusted.body.get("errors").is_none(), "{:#}", adjusted.body);
    let entry = &adjusted.body["data"]["adjustPoints"]["entry"];
    assert_eq!(entry["kind"], "ADJUST");
    assert_eq!(entry["points"], 250);
    assert_eq!(entry["balanceAfter"], 250);
    assert_eq!(entry["reason"], "late delivery");
    assert!(entry["expiresAt"].is_string());
    let actor = entry["actor"].as_str().unwrap().to_owned();
    assert!(actor.starts_with("key:operator-"), "{actor}");

    let debit = gw
        .query(
            ADJUST,
            json!({ "id": gus, "points": -50, "reason": "duplicate credit" }),
        )
        .await;
    assert_eq!(debit["adjustPoints"]["entry"]["points"], -50);
    assert_eq!(debit["adjustPoints"]["entry"]["balanceAfter"], 200);
    let overdraw = gw
        .error(
            ADJUST,
            json!({ "id": gus, "points": -500, "reason": "typo" }),
        )
        .await;
    assert_eq!(code(&overdraw), "INSUFFICIENT_POINTS");
    assert_eq!(overdraw["extensions"]["available"], 200);
    let no_reason = gw
        .error(ADJUST, json!({ "id": gus, "points": 10, "reason": " " }))
        .await;
    assert_eq!(code(&no_reason), "BAD_USER_INPUT");
    assert_eq!(no_reason["extensions"]["field"], "reason");

    let log = gw
        .query(
            "{ auditLog(action: \"points.adjust\") { totalCount edges { node { actor actorRole target detail } } } }",
            json!({}),
        )
        .await;
    assert_eq!(log["auditLog"]["totalCount"], 2);
    let oldest = &log["auditLog"]["edges"][1]["node"];
    assert_eq!(oldest["actor"], actor.as_str());
    assert_eq!(oldest["actorRole"], "OPERATOR");
    assert_eq!(oldest["target"], row_id(&gus).to_string());
    assert_eq!(oldest["detail"]["points"], 250);
    assert_eq!(oldest["detail"]["reason"], "late delivery");
    assert_eq!(oldest["detail"]["balance"], 250);
    assert_eq!(stored(&gw, &gus).await, (200, 200));
}

/// Asserts `level` is `key` held by retention until about a year from now.
fn assert_retained(level: &Value, key: &str, assigned: &str) {
    assert_eq!(level["key"], key, "{level}");
    assert_eq!(level["assigned"], assigned, "{level}");
    let until: DateTime<Utc> = level["heldUntil"].as_str().unwrap().parse().unwrap();
    let in_a_year = Utc::now().checked_add_months(Months::new(12)).unwrap();
    assert!((until - in_a_year).num_minutes().abs() < 10, "{level}");
}

async fn customers_who_keep_buying_keep_their_level(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let level_plugin = with_levels(&gw, json!({})).await;
    let thousand = product(&gw, "thousand", 100_000).await;
    let three_thousand = product(&gw, "three-thousand", 300_000).await;
    let six_thousand = product(&gw, "six-thousand", 600_000).await;

    // Hal: ¥10 000 over 8 orders (7 repurchases) is gold; refunding ¥3000
    // demotes him to silver, but 6 repurchases this year keep gold.
    let hal = customer(&gw, "hal", &[]).await;
    for _ in 0..7 {
        pay(&gw, &hal, &thousand, 1).await;
    }
    let big = pay(&gw, &hal, &three_thousand, 1).await;
    assert_eq!(points(&gw, &hal).await["level"]["key"], "gold");
    refund(&gw, &big).await;
    assert_retained(&points(&gw, &hal).await["level"], "gold", "silver");
    // He earns as gold while he holds it.
    pay(&gw, &hal, &thousand, 1).await;
    let last = ledger(&points(&gw, &hal).await).pop().unwrap();
    assert_eq!(last["points"], 1500);

    // Ivy: gold on ¥11 000 over 6 orders; after the refund 4 repurchases are
    // too few, so she is silver.
    let ivy = customer(&gw, "ivy", &[]).await;
    for _ in 0..5 {
        pay(&gw, &ivy, &thousand, 1).await;
    }
    let big = pay(&gw, &ivy, &six_thousand, 1).await;
    assert_eq!(points(&gw, &ivy).await["level"]["key"], "gold");
    refund(&gw, &big).await;
    let level = points(&gw, &ivy).await["level"].clone();
    assert_eq!(level["key"], "silver");
    assert_eq!(level["label"], "Silver");
    assert_eq!(level["heldUntil"], Value::Null);

    // Jo: gold with 6 repurchases; a stricter plugin configuration demotes him
    // in a full run, and retention keeps him gold.
    let jo = customer(&gw, "jo", &[]).await;
    for _ in 0..7 {
        pay(&gw, &jo, &three_thousand, 1).await;
    }
    assert_eq!(points(&gw, &jo).await["level"]["key"], "gold");
    let stricter = json!({ "gold": { "min_spend": 30000, "min_repurchases": 5 } });
    activate(&gw, "level", &level_plugin, stricter).await;
    run_segmentation(&gw, "level").await;
    assert_retained(&points(&gw, &jo).await["level"], "gold", "silver");
    // Hal keeps his holding across the run.
    assert_retained(&points(&gw, &hal).await["level"], "gold", "silver");
    assert_eq!(points(&gw, &ivy).await["level"]["key"], "silver");
}

on_both_backends!(
    paid_orders_earn_points_multiplied_by_level,
    redemptions_spend_oldest_points_first_once_per_key,
    refunds_take_back_what_their_order_earned,
    partial_refunds_take_back_their_share_of_the_points,
    referrals_reward_both_sides_on_the_first_paid_order,
    unspent_points_expire_oldest_first,
    concurrent_redemptions_never_overdraw,
    adjustments_are_privileged_and_audited,
    customers_who_keep_buying_keep_their_level,
);
