//! A/B experiments between strategy plugins end to end over GraphQL: validation,
//! the lifecycle, variants served to the customers the hash enrols (in runs, in
//! real time and for recommendations), sticky assignments, exposures written on
//! graceful shutdown, results after orders, concluding; and the shadow
//! comparison of a candidate version.

use std::collections::HashMap;

use retain_gateway::services::experiments::assignment::{Assignment, HASH_VERSION};
use retain_tests::shop::{
    activate, bundled, customer, paid_order, product, publish, run_segmentation, segment_key,
};
use retain_tests::{Backend, TestGateway, guests, on_both_backends};
use serde_json::{Value, json};

const CREATE: &str = "mutation($input: ExperimentInput!) { createExperiment(input: $input) { key status seed bucketVersion variants { key weight plugin { name } } } }";
const START: &str =
    "mutation($key: String!) { startExperiment(key: $key, resegment: false) { status startedAt } }";
const UPDATE: &str = "mutation($key: String!, $changes: ExperimentPatch!) { updateExperiment(key: $key, changes: $changes, resegment: false) { status bucketVersion variants { weight } } }";
const CONCLUDE: &str = "mutation($key: String!, $winner: String!) { concludeExperiment(key: $key, winner: $winner, resegment: false) { experiment { status winner concludedAt } slot { plugin { name } } } }";
const RESULTS: &str = "query($key: String!) { experiment(key: $key) { status results { metric sampleRatio { chiSquare pValue mismatch unavailable } variants { key exposed converters conversionRate orders revenue { minor } revenuePerCustomer meanOrderValue conversionUplift { relative relativeLow relativeHigh pValue significant chanceToBeatControl unavailable } } } } }";

/// A ¥100 lamp; `customers` customers `c000`, `c001`, …; the first `buyers`
/// of them bought 20 lamps (¥2000) before the experiment. `tier` serves
/// rfm-tiers and has been segmented; big-spenders is published.
struct Shop {
    lamp: String,
    /// Global id by external id, in creation order.
    customers: Vec<(String, String)>,
    rfm: String,
    big_spenders: String,
}

async fn shop(gw: &TestGateway, customers: usize, buyers: usize) -> Shop {
    let lamp = product(gw, "LAMP", 10_000).await;
    let rfm = publish(gw, bundled("tier")).await;
    let big_spenders = publish(gw, guests::BIG_SPENDERS).await;
    activate(gw, "tier", &rfm, json!({})).await;
    let mut ids = Vec::with_capacity(customers);
    for i in 0..customers {
        let external_id = format!("c{i:03}");
        let id = customer(gw, &external_id, &[]).await;
        if i < buyers {
            paid_order(gw, &id, &[(&lamp, 20)]).await;
        }
        ids.push((external_id, id));
    }
    run_segmentation(gw, "tier").await;
    Shop {
        lamp,
        customers: ids,
        rfm,
        big_spenders,
    }
}

fn experiment_input(key: &str, shop: &Shop, weights: [f64; 2]) -> Value {
    json!({
        "key": key,
        "slot": "tier",
        "metric": "CONVERSION",
        "conversionWindowDays": 30,
        "variants": [
            { "key": "control", "plugin": shop.rfm, "weight": weights[0] },
            { "key": "treatment", "plugin": shop.big_spenders, "weight": weights[1] },
        ],
    })
}

fn assert_refused(error: &Value, code: &str, field: &str, message: &str) {
    assert_eq!(error["extensions"]["code"], code, "{error:#}");
    assert_eq!(error["extensions"]["field"], field, "{error:#}");
    assert_eq!(error["message"], message, "{error:#}");
}

/// The variant GrowthBook's hashing gives each customer, by external id.
fn predicted(key: &str, weights: &[f64], shop: &Shop) -> HashMap<String, Option<usize>> {
    let assignment = Assignment::new(key, None, HASH_VERSION, weights, 1.0);
    shop.customers
        .iter()
        .map(|(external, _)| (external.clone(), assignment.variant(external)))
        .collect()
}

async fn results(gw: &TestGateway, key: &str) -> Value {
    gw.query(RESULTS, json!({ "key": key })).await["experiment"]["results"].clone()
}

async fn experiments_refuse_bad_definitions(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let shop = shop(&gw, 2, 0).await;
    let recommender = publish(&gw, bundled("recs.home")).await;
    let cases = [
        (
            json!({ "variants": [{ "key": "a", "plugin": shop.rfm, "weight": 0.5 }, { "key": "b", "plugin": shop.big_spenders, "weight": 0.6 }] }),
            "variants.weight",
            "variants.weight: the weights must add up to 1, not 1.1",
        ),
        (
            json!({ "variants": [{ "key": "a", "plugin": shop.rfm, "weight": 0.5 }, { "key": "b", "plugin": "nope@1.0.0", "weight": 0.5 }] }),
            "variants[1].plugin",
            "variants[1].plugin: no published plugin nope@1.0.0",
        ),
        (
            json!({ "variants": [{ "key": "a", "plugin": shop.rfm, "weight": 0.5 }, { "key": "b", "plugin": recommender, "weight": 0.5 }] }),
            "variants[1].plugin",
            "variants[1].plugin: copurchase-recs 0.1.0 is a recommender, but the slot holds segmenters",
        ),
        (
            json!({ "variants": [{ "key": "a", "plugin": shop.rfm, "weight": 1.0 }] }),
            "variants",
            "variants: an experiment compares 2–10 variants, not 1",
        ),
        (
            json!({ "variants": [{ "key": "a", "plugin": shop.rfm, "weight": 0.5 }, { "key": "a", "plugin": shop.big_spenders, "weight": 0.5 }] }),
            "variants[1].key",
            "variants[1].key: two variants are called a",
        ),
        (
            json!({ "coverage": 0.0 }),
            "coverage",
            "coverage: must be more than 0 and at most 1, not 0",
        ),
        (
            json!({ "conversionWindowDays": 0 }),
            "conversionWindowDays",
            "conversionWindowDays: must be 1–365 days, not 0",
        ),
        (
            json!({ "slot": "nowhere" }),
            "slot",
            "slot: there is no slot nowhere; activate a plugin in it first",
        ),
        (
            json!({ "key": "Bad Key" }),
            "key",
            "key: must be 1–64 of a-z, 0-9, '.', '-' and '_'",
        ),
    ];
    for (change, field, message) in cases {
        let mut input = experiment_input("bad", &shop, [0.5, 0.5]);
        for (name, value) in change.as_object().unwrap() {
            input[name] = value.clone();
        }
        let error = gw.error(CREATE, json!({ "input": input })).await;
        assert_refused(&error, "BAD_USER_INPUT", field, message);
    }
    let listed = gw.query("{ experiments { key } }", json!({})).await;
    assert_eq!(listed["experiments"], json!([]), "nothing half-written");

    gw.query(
        CREATE,
        json!({ "input": experiment_input("first", &shop, [0.5, 0.5]) }),
    )
    .await;
    let error = gw
        .error(
            CREATE,
            json!({ "input": experiment_input("first", &shop, [0.5, 0.5]) }),
        )
        .await;
    assert_refused(
        &error,
        "CONFLICT",
        "key",
        "key: an experiment first exists already",
    );
    gw.query(
        CREATE,
        json!({ "input": experiment_input("second", &shop, [0.5, 0.5]) }),
    )
    .await;
    gw.query(START, json!({ "key": "first" })).await;
    let error = gw.error(START, json!({ "key": "second" })).await;
    assert_refused(
        &error,
        "CONFLICT",
        "slot",
        "slot: experiment first is already running on slot tier; stop it first",
    );
    let error = gw.error(START, json!({ "key": "first" })).await;
    assert_refused(
        &error,
        "CONFLICT",
        "status",
        "status: experiment first is running and cannot be started",
    );
    let error = gw
        .error(
            UPDATE,
            json!({ "key": "first", "changes": { "metric": "REVENUE" } }),
        )
        .await;
    assert_refused(
        &error,
        "CONFLICT",
        "metric",
        "metric: experiment first is running: the metric can no longer change",
    );
    let error = gw
        .error(CONCLUDE, json!({ "key": "first", "winner": "nobody" }))
        .await;
    assert_refused(
        &error,
        "BAD_USER_INPUT",
        "winner",
        "winner: nobody is not a variant; one of control, treatment",
    );
}

async fn an_experiment_serves_its_variants_and_measures_them(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let shop = shop(&gw, 40, 20).await;
    let key = "spenders-vs-tiers";
    let created = gw
        .query(
            CREATE,
            json!({ "input": experiment_input(key, &shop, [0.5, 0.5]) }),
        )
        .await;
    assert_eq!(created["createExperiment"]["status"], "DRAFT");
    assert_eq!(
        created["createExperiment"]["seed"], key,
        "the seed defaults to the key"
    );
    // A draft serves nothing.
    assert_eq!(
        segment_key(&gw, &shop.customers[0].1, "tier").await,
        "basic"
    );

    gw.query(START, json!({ "key": key })).await;
    run_segmentation(&gw, "tier").await;
    let variant_of = predicted(key, &[0.5, 0.5], &shop);
    let mut exposed = [0_u64; 2];
    for (i, (external, id)) in shop.customers.iter().enumerate() {
        let variant = variant_of[external].expect("full coverage enrols everyone");
        exposed[variant] += 1;
        let expected = match (variant, i < 20) {
            (0, true) => "basic",
            (0, false) => "dormant",
            (_, true) => "big",
            (_, false) => "small",
        };
        assert_eq!(segment_key(&gw, id, "tier").await, expected, "{external}");
    }
    assert!(exposed[0] > 0 && exposed[1] > 0, "{exposed:?}");
    let before = results(&gw, key).await;
    for (variant, count) in exposed.iter().enumerate() {
        assert_eq!(before["variants"][variant]["exposed"], *count);
        assert_eq!(before["variants"][variant]["converters"], 0);
    }

    // Every treatment customer among the earlier buyers buys once more, and every
    // control customer among them with an even number buys twice.
    let mut converters = [0_u64; 2];
    let mut orders = [0_u64; 2];
    for (i, (external, id)) in shop.customers.iter().enumerate().take(20) {
        let variant = variant_of[external].unwrap();
        let times = match variant {
            0 if i % 2 == 0 => 2,
            0 => 0,
            _ => 1,
        };
        for _ in 0..times {
            paid_order(&gw, id, &[(&shop.lamp, 1)]).await;
        }
        if times > 0 {
            converters[variant] += 1;
            orders[variant] += times;
        }
    }
    // Real time: a treatment customer who had never bought is reclassified by
    // the treatment's plugin when they spend ¥2000.
    let (newcomer, newcomer_id) = shop.customers[20..]
        .iter()
        .find(|(external, _)| variant_of[external] == Some(1))
        .expect("a treatment customer without orders");
    paid_order(&gw, newcomer_id, &[(&shop.lamp, 20)]).await;
    converters[1] += 1;
    orders[1] += 1;
    assert_eq!(
        segment_key(&gw, newcomer_id, "tier").await,
        "big",
        "{newcomer}"
    );

    let after = results(&gw, key).await;
    assert_eq!(after["metric"], "CONVERSION");
    for variant in 0..2 {
        let row = &after["variants"][variant];
        assert_eq!(row["exposed"], exposed[variant]);
        assert_eq!(row["converters"], converters[variant], "{row:#}");
        assert_eq!(row["orders"], orders[variant], "{row:#}");
        let rate = converters[variant] as f64 / exposed[variant] as f64;
        assert!((row["conversionRate"].as_f64().unwrap() - rate).abs() < 1e-12);
    }
    let revenue = (orders[1] - 1) * 10_000 + 200_000;
    assert_eq!(after["variants"][1]["revenue"]["minor"], revenue);
    let uplift = &after["variants"][1]["conversionUplift"];
    let relative = (converters[1] as f64 / exposed[1] as f64)
        / (converters[0] as f64 / exposed[0] as f64)
        - 1.0;
    assert!(
        (uplift["relative"].as_f64().unwrap() - relative).abs() < 1e-9,
        "{uplift:#}"
    );
    assert!(uplift["relativeLow"].as_f64().unwrap() < relative);
    assert!(uplift["relativeHigh"].as_f64().unwrap() > relative);
    assert!(
        after["variants"][0]["conversionUplift"].is_null(),
        "the control has none"
    );
    assert!(after["sampleRatio"]["pValue"].as_f64().unwrap() > 0.001);
    assert_eq!(after["sampleRatio"]["mismatch"], false);

    let concluded = gw
        .query(CONCLUDE, json!({ "key": key, "winner": "treatment" }))
        .await;
    assert_eq!(
        concluded["concludeExperiment"]["experiment"]["status"],
        "CONCLUDED"
    );
    assert_eq!(
        concluded["concludeExperiment"]["experiment"]["winner"],
        "treatment"
    );
    assert_eq!(
        concluded["concludeExperiment"]["slot"]["plugin"]["name"],
        "big-spenders"
    );
    run_segmentation(&gw, "tier").await;
    for (i, (external, id)) in shop.customers.iter().enumerate() {
        let expected = if i < 20 || id == newcomer_id {
            "big"
        } else {
            "small"
        };
        assert_eq!(segment_key(&gw, id, "tier").await, expected, "{external}");
    }
    let audit = gw
        .query(
            "{ auditLog(first: 50) { edges { node { action target } } } }",
            json!({}),
        )
        .await;
    let actions: Vec<&str> = audit["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["target"] == key)
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "experiment.conclude",
            "experiment.start",
            "experiment.create"
        ]
    );
}

async fn assignments_stay_sticky_until_reassigned(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let shop = shop(&gw, 40, 40).await;
    let key = "sticky";
    gw.query(
        CREATE,
        json!({ "input": experiment_input(key, &shop, [0.5, 0.5]) }),
    )
    .await;
    gw.query(START, json!({ "key": key })).await;
    run_segmentation(&gw, "tier").await;
    let first = predicted(key, &[0.5, 0.5], &shop);
    let served = |variant: Option<usize>| if variant == Some(1) { "big" } else { "basic" };

    let changed = gw
        .query(
            UPDATE,
            json!({ "key": key, "changes": { "weights": [0.1, 0.9] } }),
        )
        .await;
    assert_eq!(changed["updateExperiment"]["variants"][1]["weight"], 0.9);
    run_segmentation(&gw, "tier").await;
    for (external, id) in &shop.customers {
        assert_eq!(
            segment_key(&gw, id, "tier").await,
            served(first[external]),
            "{external} keeps the variant it was exposed to"
        );
    }
    let later = predicted(key, &[0.1, 0.9], &shop);
    let moved = shop
        .customers
        .iter()
        .filter(|(external, _)| first[external] != later[external])
        .count();
    assert!(moved > 0, "the new weights move someone");

    let reassigned = gw
        .query(
            UPDATE,
            json!({ "key": key, "changes": { "reassign": true } }),
        )
        .await;
    assert_eq!(reassigned["updateExperiment"]["bucketVersion"], 2);
    run_segmentation(&gw, "tier").await;
    for (external, id) in &shop.customers {
        assert_eq!(
            segment_key(&gw, id, "tier").await,
            served(later[external]),
            "{external} follows the new weights after reassignment"
        );
    }
    let counted = results(&gw, key).await;
    let treatment = later.values().filter(|v| **v == Some(1)).count();
    assert_eq!(
        counted["variants"][1]["exposed"], treatment,
        "results count the new bucket version only"
    );
}

async fn recommendation_exposures_survive_a_graceful_shutdown(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let shop = shop(&gw, 12, 12).await;
    let copurchase = publish(&gw, bundled("recs.home")).await;
    let popular = publish(&gw, bundled("recs.segment")).await;
    activate(&gw, "recs.home", &copurchase, json!({})).await;
    let key = "recs";
    gw.query(
        CREATE,
        json!({ "input": {
            "key": key, "slot": "recs.home", "coverage": 0.5,
            "variants": [
                { "key": "copurchase", "plugin": copurchase, "weight": 0.5 },
                { "key": "popular", "plugin": popular, "weight": 0.5 },
            ],
        } }),
    )
    .await;
    gw.query(START, json!({ "key": key })).await;

    // The replica writes exposures only on shutdown, so the test sees the flush.
    let replica = gw
        .replica_with(|s| s.plugins.exposure_flush_ms = 3_600_000)
        .await;
    let assignment = Assignment::new(key, None, HASH_VERSION, &[0.5, 0.5], 0.5);
    let mut enrolled = [0_u64; 2];
    for (external, id) in &shop.customers {
        // Twice: an exposure is logged once.
        for _ in 0..2 {
            replica
                .query(
                    "query($id: ID!) { customer(id: $id) { recommendations(slot: \"recs.home\", first: 3) { score } } }",
                    json!({ "id": id }),
                )
                .await;
        }
        if let Some(variant) = assignment.variant(external) {
            enrolled[variant] += 1;
        }
    }
    assert!(
        enrolled.iter().sum::<u64>() < shop.customers.len() as u64,
        "coverage 0.5 leaves some out"
    );
    let unwritten = results(&gw, key).await;
    for variant in 0..2 {
        assert_eq!(
            unwritten["variants"][variant]["exposed"], 0,
            "still buffered"
        );
    }
    replica.shut_down().await;
    let written = results(&gw, key).await;
    for variant in 0..2 {
        assert_eq!(written["variants"][variant]["exposed"], enrolled[variant]);
    }
}

async fn a_shadow_comparison_counts_where_customers_would_move(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let shop = shop(&gw, 10, 4).await;
    let compared = gw
        .query(
            "mutation($candidate: String!) { shadowCompare(slot: \"tier\", candidate: $candidate) { active candidate customers agreement transitions { from to customers } activeSegments { segment customers } candidateSegments { segment customers } } }",
            json!({ "candidate": shop.big_spenders }),
        )
        .await["shadowCompare"]
        .clone();
    assert_eq!(compared["customers"], 10);
    assert_eq!(compared["agreement"], 0.0);
    assert_eq!(
        compared["transitions"],
        json!([
            { "from": "dormant", "to": "small", "customers": 6 },
            { "from": "basic", "to": "big", "customers": 4 },
        ])
    );
    assert_eq!(
        compared["candidateSegments"],
        json!([{ "segment": "big", "customers": 4 }, { "segment": "small", "customers": 6 }])
    );
    // Nothing is served or stored.
    assert_eq!(
        segment_key(&gw, &shop.customers[0].1, "tier").await,
        "basic"
    );
    let runs = gw
        .query("{ slot(name: \"tier\") { runs { status } } }", json!({}))
        .await;
    assert_eq!(runs["slot"]["runs"].as_array().unwrap().len(), 1);
}

on_both_backends!(
    experiments_refuse_bad_definitions,
    an_experiment_serves_its_variants_and_measures_them,
    assignments_stay_sticky_until_reassigned,
    recommendation_exposures_survive_a_graceful_shutdown,
    a_shadow_comparison_counts_where_customers_would_move,
);
