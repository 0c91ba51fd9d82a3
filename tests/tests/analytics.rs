//! Retention analytics over GraphQL on a small, hand-computed shop: monthly
//! retention, repurchase and churn, cohorts, NPS, CSAT, complaints and the
//! first-response target; the complaint workflow; the segment distribution over
//! runs; and lifetime value fitted on a seeded shop.

use chrono::{Datelike, Duration, Months, NaiveDate, Utc};
use retain_gateway::graphql::ids::decode_any;
use retain_gateway::import::{ImportKind, import};
use retain_schema::{FeedbackCategory, FeedbackStatus, feedback};
use retain_tests::shop::{activate, bundled, publish, run_segmentation, seed_synthetic};
use retain_tests::{Backend, TestGateway, on_both_backends};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

/// The first day of the month `back` months before this one.
fn month_start(back: u32) -> NaiveDate {
    let today = Utc::now().date_naive();
    NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap() - Months::new(back)
}

fn month(back: u32) -> String {
    month_start(back).format("%Y-%m").to_string()
}

/// Four customers over the last three months (M-3 … M-1):
/// - M-3: A ¥100, B ¥200 (both first purchases);
/// - M-2: A ¥100, C ¥300 (C's first);
/// - M-1: A ¥100 twice, B ¥200; D's order was refunded and C's cancelled.
async fn hand_made_shop(gw: &TestGateway) {
    let ctx = &gw.context;
    let customers = "external_id,name\nA,Ann\nB,Bo\nC,Cai\nD,Dee\n";
    let products = "sku,name,category,price,currency,active\nCUP,Cup,home,100.00,CNY,true\n";
    let day =
        |back: u32, day: u32| format!("{}T10:00:00Z", month_start(back).with_day(day).unwrap());
    let orders = [
        ("o1", "A", day(3, 10), "paid", 1),
        ("o2", "B", day(3, 12), "delivered", 2),
        ("o3", "A", day(2, 10), "paid", 1),
        ("o4", "C", day(2, 11), "shipped", 3),
        ("o5", "A", day(1, 5), "paid", 1),
        ("o6", "A", day(1, 20), "delivered", 1),
        ("o7", "B", day(1, 8), "paid", 2),
        ("o8", "D", day(1, 9), "refunded", 1),
        ("o9", "C", day(1, 9), "cancelled", 1),
    ];
    let mut csv = String::from(
        "order_number,customer_external_id,placed_at,status,channel,currency,discount,sku,quantity,unit_price\n",
    );
    for (number, customer, at, status, quantity) in orders {
        csv.push_str(&format!(
            "{number},{customer},{at},{status},web,CNY,0,CUP,{quantity},100.00\n"
        ));
    }
    for (kind, text) in [
        (ImportKind::Customers, customers),
        (ImportKind::Products, products),
        (ImportKind::Orders, csv.as_str()),
    ] {
        let report = import(&ctx.db, &ctx.settings, kind, text.as_bytes(), false)
            .await
            .expect("the import runs");
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    }
}

const PERIODS: &str = "query($from: String!, $to: String!) { analytics { periods(from: $from, to: $to) { month buyers newBuyers returningBuyers retainedBuyers retentionRate churnRate repurchaseRate orders revenue { minor } averageOrderValue nps npsAnswers csat csatAnswers complaints complaintRate firstResponseAttainment } } }";

fn close(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 1e-9)
}

async fn monthly_kpis_and_cohorts_match_a_hand_count(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    hand_made_shop(&gw).await;
    let data = gw
        .query(PERIODS, json!({ "from": month(3), "to": month(1) }))
        .await;
    let periods = data["analytics"]["periods"].as_array().unwrap();
    let expected = [
        // month, buyers, new, returning, retained, retention, repurchase, orders, revenue
        (month(3), 2, 2, 0, 0, None, 0.0, 2, 30_000),
        (month(2), 2, 1, 1, 1, Some(0.5), 0.5, 2, 40_000),
        (month(1), 2, 0, 2, 1, Some(0.5), 1.0, 3, 40_000),
    ];
    for (
        period,
        (month, buyers, new, returning, retained, retention, repurchase, orders, revenue),
    ) in periods.iter().zip(expected)
    {
        assert_eq!(period["month"], month);
        assert_eq!(period["buyers"], buyers, "{period:#}");
        assert_eq!(period["newBuyers"], new, "{period:#}");
        assert_eq!(period["returningBuyers"], returning, "{period:#}");
        assert_eq!(period["retainedBuyers"], retained, "{period:#}");
        match retention {
            Some(rate) => {
                assert!(close(&period["retentionRate"], rate), "{period:#}");
                assert!(close(&period["churnRate"], 1.0 - rate), "{period:#}");
            }
            None => assert!(period["retentionRate"].is_null() && period["churnRate"].is_null()),
        }
        assert!(close(&period["repurchaseRate"], repurchase), "{period:#}");
        assert_eq!(period["orders"], orders, "{period:#}");
        assert_eq!(period["revenue"]["minor"], revenue, "{period:#}");
        assert!(close(
            &period["averageOrderValue"],
            revenue as f64 / orders as f64
        ));
    }

    let cohorts = gw
        .query(
            "query($from: String!, $to: String!) { analytics { cohorts(from: $from, to: $to, months: 2) { month customers retained retention } } }",
            json!({ "from": month(3), "to": month(2) }),
        )
        .await;
    assert_eq!(
        cohorts["analytics"]["cohorts"],
        json!([
            { "month": month(3), "customers": 2, "retained": [2, 1, 2], "retention": [1.0, 0.5, 1.0] },
            { "month": month(2), "customers": 1, "retained": [1, 0, 0], "retention": [1.0, 0.0, 0.0] },
        ])
    );
    let error = gw
        .error(PERIODS, json!({ "from": "2026-13", "to": month(1) }))
        .await;
    assert_eq!(error["extensions"]["field"], "from");
    assert_eq!(
        error["message"],
        "from: \"2026-13\" is not a month (YYYY-MM)"
    );
}

const SUBMIT: &str = "mutation($input: SubmitFeedbackInput!) { submitFeedback(input: $input) { id isComplaint responseDueAt overdue repeatOf { id } } }";
const ADVANCE: &str = "mutation($id: ID!, $status: FeedbackStatus!) { updateFeedbackStatus(id: $id, status: $status) { status acknowledgedAt resolvedAt closedAt respondedInTime } }";

async fn customer_id(gw: &TestGateway, external: &str) -> String {
    gw.query(
        "query($e: String!) { customerByExternalId(externalId: $e) { id } }",
        json!({ "e": external }),
    )
    .await["customerByExternalId"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn complaints_follow_the_workflow_and_count_in_kpis(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    hand_made_shop(&gw).await;
    let (ann, bo) = (customer_id(&gw, "A").await, customer_id(&gw, "B").await);
    // A complaint that arrived two hours ago and nobody answered: overdue.
    let now = Utc::now();
    let late = feedback::ActiveModel {
        customer_id: Set(numeric(&json!(ann))),
        category: Set(FeedbackCategory::Quality),
        csat: Set(Some(2)),
        nps: Set(Some(3)),
        text: Set("Broken on arrival".into()),
        status: Set(FeedbackStatus::Received),
        created_at: Set(now - Duration::hours(2)),
        updated_at: Set(now - Duration::hours(2)),
        response_due_at: Set(Some(now - Duration::hours(1))),
        ..Default::default()
    }
    .insert(&gw.context.db)
    .await
    .unwrap();

    let repeat = gw
        .query(
            SUBMIT,
            json!({ "input": { "customerId": ann, "category": "DELIVERY", "csat": 5, "nps": 10, "text": "Late again" } }),
        )
        .await["submitFeedback"]
        .clone();
    assert_eq!(repeat["isComplaint"], true);
    assert_eq!(repeat["overdue"], false, "an hour to answer it");
    assert!(repeat["repeatOf"]["id"].is_string(), "{repeat:#}");
    let suggestion = gw
        .query(
            SUBMIT,
            json!({ "input": { "customerId": bo, "category": "SUGGESTION", "csat": 4, "nps": 8, "text": "More colours" } }),
        )
        .await["submitFeedback"]
        .clone();
    assert_eq!(suggestion["isComplaint"], false);
    assert!(suggestion["responseDueAt"].is_null());
    gw.query(
        SUBMIT,
        json!({ "input": { "customerId": bo, "category": "REVIEW", "nps": 9 } }),
    )
    .await;

    // Resolving straight away is also the first response, in time.
    let resolved = gw
        .query(ADVANCE, json!({ "id": repeat["id"], "status": "RESOLVED" }))
        .await["updateFeedbackStatus"]
        .clone();
    assert_eq!(resolved["status"], "RESOLVED");
    assert_eq!(resolved["acknowledgedAt"], resolved["resolvedAt"]);
    assert_eq!(resolved["respondedInTime"], true);
    let error = gw
        .error(
            ADVANCE,
            json!({ "id": repeat["id"], "status": "ACKNOWLEDGED" }),
        )
        .await;
    assert_eq!(error["extensions"]["code"], "CONFLICT");
    assert_eq!(
        error["message"],
        format!(
            "status: feedback {} is resolved and can only move forward",
            numeric(&repeat["id"])
        )
    );

    let overdue = gw
        .query(
            "{ feedback(filter: { overdue: true }) { edges { node { text overdue } } } rest: feedback(filter: { not: { overdue: true } }) { totalCount } repeats: feedback(filter: { repeat: true }) { totalCount } complaints: feedback(filter: { complaint: true }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        overdue["feedback"]["edges"],
        json!([{ "node": { "text": "Broken on arrival", "overdue": true } }])
    );
    assert_eq!(
        overdue["rest"]["totalCount"], 3,
        "not overdue is the complement"
    );
    assert_eq!(overdue["repeats"]["totalCount"], 1);
    assert_eq!(overdue["complaints"]["totalCount"], 2);
    assert_eq!(late.repeat_of, None);

    let this_month = month(0);
    let kpis = gw
        .query(PERIODS, json!({ "from": this_month, "to": this_month }))
        .await["analytics"]["periods"][0]
        .clone();
    // NPS answers 3, 10, 8, 9: two promoters, one detractor of four.
    assert!(close(&kpis["nps"], 25.0), "{kpis:#}");
    assert_eq!(kpis["npsAnswers"], 4);
    // CSAT answers 2, 5, 4: two of three are 4–5.
    assert!(close(&kpis["csat"], 2.0 / 3.0), "{kpis:#}");
    assert_eq!(kpis["complaints"], 2);
    // One answered in time, one overdue.
    assert!(close(&kpis["firstResponseAttainment"], 0.5), "{kpis:#}");
    assert!(
        kpis["complaintRate"].is_null(),
        "no orders this month: {kpis:#}"
    );
}

/// The row id inside a global id, as error messages name it.
fn numeric(id: &Value) -> i64 {
    decode_any(id.as_str().expect("an id"))
        .expect("one of our ids")
        .1
}

async fn segment_distribution_keeps_every_run(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    hand_made_shop(&gw).await;
    let rfm = publish(&gw, bundled("tier")).await;
    activate(&gw, "tier", &rfm, json!({})).await;
    run_segmentation(&gw, "tier").await;
    activate(
        &gw,
        "tier",
        &rfm,
        json!({ "basic_min_spend": 250, "dormant_after_days": 400 }),
    )
    .await;
    run_segmentation(&gw, "tier").await;
    let data = gw
        .query(
            "{ analytics { segmentDistribution(slot: \"tier\") { segments { segment customers } } } segments(slot: \"tier\") { key customerCount } }",
            json!({}),
        )
        .await;
    let runs = data["analytics"]["segmentDistribution"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    let total = |run: &Value| -> i64 {
        run["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["customers"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(total(&runs[0]), 4);
    assert_eq!(total(&runs[1]), 4);
    // The latest run is what the slot serves.
    for segment in data["segments"].as_array().unwrap() {
        let count = segment["customerCount"].as_i64().unwrap();
        let listed = runs[1]["segments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["segment"] == segment["key"])
            .map_or(0, |s| s["customers"].as_i64().unwrap());
        assert_eq!(count, listed, "{segment:#}");
    }
    assert_ne!(
        runs[0]["segments"], runs[1]["segments"],
        "the config moved customers"
    );
}

async fn lifetime_value_is_fitted_on_the_order_history(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    hand_made_shop(&gw).await;
    let fit = "mutation { fitLifetimeValueModel(slot: \"tier\") { customers repeatCustomers r alpha a b p q gamma total bySegment { segment customers total average } } }";
    let error = gw.error(fit, json!({})).await;
    assert_eq!(error["extensions"]["code"], "CONFLICT");
    assert_eq!(
        error["message"],
        "orders: the BG/NBD model cannot be fitted: too few customers to fit: 3, need at least 30"
    );

    seed_synthetic(&gw, 400, 7, Utc::now()).await;
    let rfm = publish(&gw, bundled("tier")).await;
    activate(&gw, "tier", &rfm, json!({})).await;
    run_segmentation(&gw, "tier").await;
    let model = gw.query(fit, json!({})).await["fitLifetimeValueModel"].clone();
    let buyers = model["customers"].as_u64().unwrap();
    assert!(buyers > 300, "{model:#}");
    for parameter in ["r", "alpha", "a", "b", "p", "q", "gamma"] {
        assert!(
            model[parameter].as_f64().unwrap() > 0.0,
            "{parameter}: {model:#}"
        );
    }
    let segments = model["bySegment"].as_array().unwrap();
    let counted: u64 = segments
        .iter()
        .map(|s| s["customers"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, buyers);
    let summed: f64 = segments.iter().map(|s| s["total"].as_f64().unwrap()).sum();
    assert!((summed - model["total"].as_f64().unwrap()).abs() < 1e-6 * summed.abs().max(1.0));

    // A repeat buyer has a positive value and a probability of being alive.
    let repeat = gw
        .query(
            "{ customers(first: 50) { edges { node { profile { lifetimeOrders } lifetimeValue { simple probabilistic probabilityAlive expectedPurchases90Days expectedOrderValue } } } } }",
            json!({}),
        )
        .await;
    let valued: Vec<&Value> = repeat["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .filter(|n| n["profile"]["lifetimeOrders"].as_i64().unwrap() >= 2)
        .collect();
    assert!(!valued.is_empty());
    for node in valued {
        let value = &node["lifetimeValue"];
        assert!(value["probabilistic"].as_f64().unwrap() > 0.0, "{node:#}");
        assert!(value["simple"].as_f64().unwrap() > 0.0, "{node:#}");
        let alive = value["probabilityAlive"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&alive), "{node:#}");
    }
}

on_both_backends!(
    monthly_kpis_and_cohorts_match_a_hand_count,
    complaints_follow_the_workflow_and_count_in_kpis,
    segment_distribution_keeps_every_run,
    lifetime_value_is_fitted_on_the_order_history,
);
