//! Strategy plugins end to end, with real components built from source: publish,
//! activate, segment, change version without restart, roll back; real-time
//! reclassification; recommendations; refusals at publish and activation; hostile
//! plugins contained at run time while the gateway keeps answering; and an
//! activation reaching a second replica.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use retain_gateway::auth::Principal;
use retain_gateway::plugins::batch::Columns;
use retain_gateway::plugins::v1::types::Feature;
use retain_gateway::services::customers;
use retain_gateway::services::features::{self, FeatureBatches};
use retain_schema::{
    Migrator, MigratorTrait, customer, segment_change, segment_membership, segment_run_update,
};

use retain_tests::shop::{
    ACTIVATE, PUBLISH, ROLLBACK, RUN, activate, bundled, customer, paid_order, product, publish,
    publish_error, run_segmentation as run, seed_synthetic, segment, segment_key,
};
use retain_tests::{Backend, TestGateway, guests, on_both_backends};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Statement};
use serde_json::json;

/// A shop with a ¥2000 one-time buyer and a customer who never bought.
struct Shop {
    buyer: String,
    browser: String,
    product: String,
}

async fn shop(gw: &TestGateway) -> Shop {
    let product = product(gw, "LAMP", 10_000).await;
    let buyer = customer(gw, "buyer", &[]).await;
    let browser = customer(gw, "browser", &[]).await;
    paid_order(gw, &buyer, &[(&product, 20)]).await;
    Shop {
        buyer,
        browser,
        product,
    }
}

async fn strategies_change_without_restart(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let shop = shop(&gw).await;

    let rfm = publish(&gw, bundled("tier")).await;
    assert!(rfm.starts_with("rfm-tiers@"), "{rfm}");
    activate(&gw, "tier", &rfm, json!({})).await;
    let first = run(&gw, "tier").await;
    assert_eq!(first["status"], "COMPLETED");
    assert_eq!(first["customers"], 2);
    assert_eq!(first["plugin"]["name"], "rfm-tiers");
    assert_eq!(
        segment(&gw, &shop.buyer, "tier").await,
        json!({ "key": "basic", "label": "Basic", "score": 0.4 })
    );
    assert_eq!(segment_key(&gw, &shop.browser, "tier").await, "dormant");

    // A new strategy in the same slot: the answers change, nothing restarts.
    let spenders = publish(&gw, guests::BIG_SPENDERS).await;
    assert_eq!(spenders, "big-spenders@1.0.0");
    activate(&gw, "tier", &spenders, json!({})).await;
    let second = run(&gw, "tier").await;
    assert_eq!(second["changed"], 2, "{second:#}");
    assert_eq!(segment_key(&gw, &shop.buyer, "tier").await, "big");
    assert_eq!(segment_key(&gw, &shop.browser, "tier").await, "small");

    // The config is the slot's: a higher threshold moves the buyer down.
    activate(&gw, "tier", &spenders, json!({ "threshold": 5000 })).await;
    run(&gw, "tier").await;
    assert_eq!(segment_key(&gw, &shop.buyer, "tier").await, "small");

    // Rolling back twice walks back through the history.
    gw.query(ROLLBACK, json!({ "slot": "tier" })).await;
    run(&gw, "tier").await;
    assert_eq!(segment_key(&gw, &shop.buyer, "tier").await, "big");
    let back = gw.query(ROLLBACK, json!({ "slot": "tier" })).await;
    assert_eq!(back["rollbackSlot"]["plugin"]["name"], "rfm-tiers");
    run(&gw, "tier").await;
    assert_eq!(segment_key(&gw, &shop.buyer, "tier").await, "basic");

    let data = gw
        .query(
            r#"{ slot(name: "tier") { kind serving { name } history { action plugin { name } actor } }
                 segments(slot: "tier") { key customerCount }
                 basic: customers(filter: { segment: { slot: "tier", in: ["basic"] } }) { nodes { externalId } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["slot"]["kind"], "SEGMENTER");
    assert_eq!(data["slot"]["serving"]["name"], "rfm-tiers");
    let history: Vec<(String, String)> = data["slot"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap().to_owned(),
                h["plugin"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            ("ROLLBACK", "rfm-tiers"),
            ("ROLLBACK", "big-spenders"),
            ("ACTIVATE", "big-spenders"),
            ("ACTIVATE", "big-spenders"),
            ("ACTIVATE", "rfm-tiers"),
        ]
        .map(|(a, p)| (a.to_owned(), p.to_owned()))
    );
    let counts: Vec<(String, i64)> = data["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["key"].as_str().unwrap().to_owned(),
                s["customerCount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("core-loyal", 0),
            ("potential", 0),
            ("basic", 1),
            ("dormant", 1)
        ]
        .map(|(k, n)| (k.to_owned(), n))
    );
    assert_eq!(data["basic"]["nodes"], json!([{ "externalId": "buyer" }]));

    // A third rollback has nowhere to go.
    let error = gw.error(ROLLBACK, json!({ "slot": "tier" })).await;
    assert_eq!(error["extensions"]["code"], "CONFLICT", "{error:#}");
    assert_eq!(
        error["message"],
        "slot: slot tier has no earlier version to roll back to"
    );
}

async fn orders_and_interactions_reclassify_in_real_time(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let shop = shop(&gw).await;
    let rfm = publish(&gw, bundled("tier")).await;
    activate(&gw, "tier", &rfm, json!({})).await;
    run(&gw, "tier").await;
    assert_eq!(segment_key(&gw, &shop.browser, "tier").await, "dormant");

    paid_order(&gw, &shop.browser, &[(&shop.product, 6)]).await;
    assert_eq!(segment_key(&gw, &shop.browser, "tier").await, "basic");

    let data = gw
        .query(
            r#"query($id: ID!) { customer(id: $id) {
                 segments { slot key }
                 segmentHistory(slot: "tier") { from to realTime } } }"#,
            json!({ "id": shop.browser }),
        )
        .await;
    assert_eq!(
        data["customer"]["segments"],
        json!([{ "slot": "tier", "key": "basic" }])
    );
    assert_eq!(
        data["customer"]["segmentHistory"],
        json!([
            { "from": "dormant", "to": "basic", "realTime": true },
            { "from": null, "to": "dormant", "realTime": false },
        ])
    );
}

async fn recommendations_come_from_the_slot_plugin(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let lamp = product(&gw, "LAMP", 10_000).await;
    let shade = product(&gw, "SHADE", 3_000).await;
    let bulb = product(&gw, "BULB", 500).await;
    let rug = product(&gw, "RUG", 20_000).await;
    for (name, lines) in [
        ("a", vec![(&lamp, 1), (&shade, 1)]),
        ("b", vec![(&lamp, 1), (&shade, 1), (&bulb, 2)]),
        ("c", vec![(&lamp, 1), (&bulb, 1)]),
        ("d", vec![(&rug, 1)]),
    ] {
        let id = customer(&gw, name, &[]).await;
        let lines: Vec<(&str, i32)> = lines.iter().map(|(p, q)| (p.as_str(), *q)).collect();
        paid_order(&gw, &id, &lines).await;
    }
    let newcomer = customer(&gw, "newcomer", &[]).await;
    let lamp_buyer = customer(&gw, "lamp-buyer", &[]).await;
    paid_order(&gw, &lamp_buyer, &[(&lamp, 1)]).await;

    let recs = publish(&gw, bundled("recs.home")).await;
    activate(&gw, "recs.home", &recs, json!({})).await;
    let query = r#"query($id: ID!) { customer(id: $id) { recommendations(slot: "recs.home", first: 3) { product { sku } score reason } } }"#;

    // Bought a lamp: what others bought with lamps, never the lamp again.
    let data = gw.query(query, json!({ "id": lamp_buyer })).await;
    let picks = data["customer"]["recommendations"]
        .as_array()
        .unwrap()
        .clone();
    let skus: Vec<&str> = picks
        .iter()
        .map(|r| r["product"]["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus[..2], ["SHADE", "BULB"], "{picks:#?}");
    assert!(!skus.contains(&"LAMP"), "{picks:#?}");
    assert!(
        picks[0]["reason"]
            .as_str()
            .unwrap()
            .contains("Product LAMP"),
        "{picks:#?}"
    );

    // No history: the popular products.
    let data = gw.query(query, json!({ "id": newcomer })).await;
    let picks = data["customer"]["recommendations"].as_array().unwrap();
    assert_eq!(picks.len(), 3, "{picks:#?}");
    assert_eq!(picks[0]["product"]["sku"], "LAMP", "{picks:#?}");

    // A segmenter slot cannot recommend.
    let rfm = publish(&gw, bundled("tier")).await;
    activate(&gw, "tier", &rfm, json!({})).await;
    let error = gw
        .error(
            r#"query($id: ID!) { customer(id: $id) { recommendations(slot: "tier") { score } } }"#,
            json!({ "id": newcomer }),
        )
        .await;
    assert_eq!(
        error["message"],
        "slot: tier holds segmenters, not recommenders"
    );
}

async fn publish_and_activation_refuse_with_reasons(backend: Backend) {
    let gw = TestGateway::start_with(backend, |s| s.plugins.max_component_bytes = 4 << 20).await;

    let error = publish_error(&gw, b"\0asm but not really").await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert_eq!(error["extensions"]["field"], "component");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("component: the bytes are not a WebAssembly component"),
        "{error:#}"
    );

    let error = publish_error(&gw, guests::OTHER_WORLD).await;
    assert!(
        error["message"].as_str().unwrap().starts_with(
            "component: the component implements neither plugin world of retain:strategy@1.0.0"
        ),
        "{error:#}"
    );

    // Anything imported beyond the contract (network, files, clock) is refused
    // by name.
    let error = publish_error(&gw, guests::GREEDY).await;
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with("component: the component implements neither plugin world")
            && message.contains("fetch"),
        "{error:#}"
    );

    let oversized = gw
        .upload(
            PUBLISH,
            json!({ "file": null }),
            "file",
            &vec![0_u8; (4 << 20) + 1],
        )
        .await;
    assert_eq!(oversized.status, 413, "{:#}", oversized.body);
    assert_eq!(
        oversized.body["errors"][0]["extensions"]["code"],
        "PAYLOAD_TOO_LARGE"
    );
    assert_eq!(
        oversized.body["errors"][0]["message"],
        "an uploaded file exceeds 4194304 bytes"
    );

    // Publishing is idempotent by content.
    let rfm = publish(&gw, bundled("tier")).await;
    let again = gw
        .upload(PUBLISH, json!({ "file": null }), "file", bundled("tier"))
        .await;
    assert_eq!(
        again.body["data"]["publishPlugin"]["alreadyPublished"],
        true
    );

    // Activation checks kind, config and slot name.
    let recs = publish(&gw, bundled("recs.home")).await;
    activate(&gw, "tier", &rfm, json!({})).await;
    let error = gw
        .error(ACTIVATE, json!({ "slot": "tier", "plugin": recs }))
        .await;
    assert_eq!(error["extensions"]["field"], "plugin", "{error:#}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("plugin: slot tier holds segmenter plugins"),
        "{error:#}"
    );
    let error = gw
        .error(
            ACTIVATE,
            json!({ "slot": "tier", "plugin": rfm, "config": { "basic_min_spend": "lots" } }),
        )
        .await;
    assert_eq!(error["extensions"]["field"], "config", "{error:#}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("basic_min_spend"),
        "{error:#}"
    );
    let error = gw
        .error(ACTIVATE, json!({ "slot": "Tier!", "plugin": rfm }))
        .await;
    assert_eq!(
        error["message"],
        "slot: must be 1–64 of a-z, 0-9, '.', '-' and '_'"
    );
    let error = gw
        .error(ACTIVATE, json!({ "slot": "tier", "plugin": "nope@9" }))
        .await;
    assert_eq!(error["extensions"]["code"], "NOT_FOUND");

    // Nothing refused was stored.
    let data = gw.query("{ plugins { name } }", json!({})).await;
    assert_eq!(
        data["plugins"],
        json!([{ "name": "copurchase-recs" }, { "name": "rfm-tiers" }])
    );
}

async fn hostile_plugins_are_contained(backend: Backend) {
    // A deadline well above what filling 64 MiB takes on a loaded machine, so
    // the memory bomb is stopped by the memory cap, not by the clock.
    let gw = TestGateway::start_with(backend, |s| {
        s.plugins.quarantine_after = 4;
        s.plugins.deadline_ms = 1000;
    })
    .await;
    let shop = shop(&gw).await;
    let rfm = publish(&gw, bundled("tier")).await;
    activate(&gw, "tier", &rfm, json!({})).await;
    run(&gw, "tier").await;
    let hostile = customer(&gw, "mallory", &["hostile"]).await;

    let plugin = publish(&gw, guests::HOSTILE).await;
    for (misbehave, reason) in [
        ("loop", "exceeded its deadline of 1000 ms"),
        ("memory", "exceeded its memory cap of 64 MiB"),
        // Rust guests keep large frames on a shadow stack in linear memory, so
        // runaway recursion runs off its bottom before wasm's own call stack.
        ("recursion", "out of bounds memory access"),
        ("trap", "trapped"),
    ] {
        activate(&gw, "tier", &plugin, json!({ "misbehave": misbehave })).await;
        let error = gw.error(RUN, json!({ "slot": "tier" })).await;
        assert_eq!(error["extensions"]["code"], "PLUGIN_FAILED", "{error:#}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.starts_with("plugin hostile 1.0.0 ") && message.contains(reason),
            "{misbehave}: {message}"
        );
        // The last complete run is still what everyone reads.
        assert_eq!(segment_key(&gw, &shop.buyer, "tier").await, "basic");
    }

    // Four failures in a row (as configured) quarantine the version: the slot serves the
    // version before it, and the quarantined one cannot be activated again.
    let data = gw
        .query(
            r#"{ slot(name: "tier") { plugin { name quarantinedAt } serving { name } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["slot"]["serving"]["name"], "rfm-tiers", "{data:#}");
    assert!(
        data["slot"]["plugin"]["quarantinedAt"].is_string(),
        "{data:#}"
    );
    let error = gw
        .error(ACTIVATE, json!({ "slot": "tier", "plugin": plugin }))
        .await;
    assert_eq!(error["extensions"]["code"], "CONFLICT", "{error:#}");

    // Runs and real-time updates use the fallback meanwhile.
    let rerun = run(&gw, "tier").await;
    assert_eq!(rerun["plugin"]["name"], "rfm-tiers");
    assert_eq!(segment_key(&gw, &hostile, "tier").await, "dormant");

    // Operators see it all in the metrics: each failure by kind, the quarantine,
    // and the version the slot serves now.
    let metrics = gw.metrics().await;
    for outcome in ["deadline", "memory", "trap"] {
        assert!(
            metrics.contains(&format!(
                r#"retain_plugin_calls_total{{plugin="hostile@1.0.0",outcome="{outcome}"}}"#
            )),
            "{outcome}: {metrics}"
        );
    }
    assert!(metrics.contains(r#"retain_plugin_quarantines_total{plugin="hostile@1.0.0"} 1"#));
    assert!(
        metrics.contains(r#"retain_slot_serving{slot="tier",plugin="rfm-tiers@"#),
        "{metrics}"
    );
    assert!(metrics.contains("retain_plugin_call_duration_seconds_bucket"));

    // Malformed answers are refused like traps; the real-time path falls back.
    let bad = publish(&gw, guests::BAD_OUTPUT).await;
    activate(&gw, "tier", &bad, json!({})).await;
    let error = gw.error(RUN, json!({ "slot": "tier" })).await;
    assert!(
        error["message"].as_str().unwrap().contains(
            "returned a malformed answer: 1000003 segments and 1000003 scores for 3 customers"
        ),
        "{error:#}"
    );
    paid_order(&gw, &hostile, &[(&shop.product, 6)]).await;
    assert_eq!(segment_key(&gw, &hostile, "tier").await, "basic");

    // The gateway answered throughout.
    let data = gw.query("{ customers { totalCount } }", json!({})).await;
    assert_eq!(data["customers"]["totalCount"], 3);
}

/// A run reads its customers' features in one statement per id range; they must
/// be exactly what the per-customer path (real-time reclassification) computes,
/// with erased customers left out and unrequested columns left at their defaults.
async fn batches_read_the_features_single_customers_get(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let db = &gw.context.db;
    let now = Utc::now();
    seed_synthetic(&gw, 300, 11, now).await;
    for erased in [5, 64, 65] {
        customers::erase(db, erased, &Principal::cli(), now)
            .await
            .unwrap();
    }
    let kept = customer::Entity::find()
        .filter(customer::Column::ErasedAt.is_null())
        .order_by_asc(customer::Column::Id)
        .all(db)
        .await
        .unwrap();
    assert_eq!(kept.len(), 297);
    let purchases_only = Columns::of(&[Feature::Spend365d, Feature::Tags]);
    for columns in [
        Columns::ALL,
        Columns::of(&[Feature::Interactions30d]),
        purchases_only,
    ] {
        // Batches of 64 customers: erased ids fall inside and at the edge of one.
        let mut batches = FeatureBatches::new(db, 64, now, columns);
        let (mut ids, mut features) = (Vec::new(), Vec::new());
        while let Some(batch) = batches.next().await.unwrap() {
            assert!(batch.customers.len() <= 64);
            ids.extend(
                batch
                    .customers
                    .iter()
                    .map(|c| (c.id, c.external_id.clone())),
            );
            features.extend(batch.features);
        }
        let expected_ids: Vec<_> = kept.iter().map(|c| (c.id, c.external_id.clone())).collect();
        assert_eq!(ids, expected_ids);
        let expected = features::features_of(db, &kept, now, columns)
            .await
            .unwrap();
        assert_eq!(features, expected);
        let buyers = features.iter().filter(|f| f.lifetime_orders > 0).count();
        let engaged = features.iter().filter(|f| f.interactions_30d > 0).count();
        assert_eq!(
            buyers > 0,
            columns != Columns::of(&[Feature::Interactions30d])
        );
        assert_eq!(engaged > 0, columns != purchases_only);
    }
}

/// The slot's memberships after a run, by customer.
async fn memberships(gw: &TestGateway, slot: &str) -> BTreeMap<i64, (String, f64)> {
    segment_membership::Entity::find()
        .filter(segment_membership::Column::Slot.eq(slot))
        .all(&gw.context.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.customer_id, (m.segment, m.score)))
        .collect()
}

/// A run stages only the memberships that differ from the slot's and applies
/// them when it publishes: a run over unchanged customers writes nothing, erased
/// customers leave, and a run from memberships that were there ends exactly where
/// a run from none does.
async fn runs_change_only_what_differs(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let db = &gw.context.db;
    let now = Utc::now();
    seed_synthetic(&gw, 200, 5, now).await;
    let rfm = publish(&gw, bundled("tier")).await;
    activate(&gw, "tier", &rfm, json!({})).await;

    let first = run(&gw, "tier").await;
    assert_eq!(
        (first["customers"].as_i64(), first["changed"].as_i64()),
        (Some(200), Some(200))
    );
    let before = memberships(&gw, "tier").await;
    assert_eq!(before.len(), 200);
    let again = run(&gw, "tier").await;
    assert_eq!(
        (again["customers"].as_i64(), again["changed"].as_i64()),
        (Some(200), Some(0))
    );
    assert_eq!(memberships(&gw, "tier").await, before);
    let staged = segment_run_update::Entity::find().all(db).await.unwrap();
    assert!(
        staged.is_empty(),
        "published runs leave nothing staged: {staged:?}"
    );

    let erased = *before.keys().nth(10).unwrap();
    customers::erase(db, erased, &Principal::cli(), now)
        .await
        .unwrap();
    let after_erasure = run(&gw, "tier").await;
    assert_eq!(after_erasure["changed"], 1, "{after_erasure:#}");
    let mut expected = before.clone();
    expected.remove(&erased);
    assert_eq!(memberships(&gw, "tier").await, expected);
    let left = segment_change::Entity::find()
        .filter(segment_change::Column::CustomerId.eq(erased))
        .filter(segment_change::Column::ToSegment.is_null())
        .all(db)
        .await
        .unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(
        Some(&left[0].from_segment),
        before.get(&erased).map(|m| Some(m.0.clone())).as_ref()
    );

    // Stricter tiers move some customers and rescore others; the incremental run
    // must end where a run over an empty slot does.
    let stricter = json!({ "core_loyal": { "min_spend": 8000, "min_repurchases": 6, "min_interactions_30d": 3 },
                           "potential": { "min_spend": 3000, "min_repurchases": 3, "min_interactions_30d": 1 } });
    activate(&gw, "tier", &rfm, stricter).await;
    let moved = run(&gw, "tier").await;
    let incremental = memberships(&gw, "tier").await;
    let moved_count = incremental
        .iter()
        .filter(|(id, m)| expected.get(id).map(|e| &e.0) != Some(&m.0))
        .count();
    assert!(moved_count > 0, "stricter tiers move someone");
    assert_eq!(moved["changed"].as_i64(), Some(moved_count as i64));
    segment_membership::Entity::delete_many()
        .filter(segment_membership::Column::Slot.eq("tier"))
        .exec(db)
        .await
        .unwrap();
    let from_nothing = run(&gw, "tier").await;
    assert_eq!(from_nothing["changed"], 199);
    assert_eq!(memberships(&gw, "tier").await, incremental);
}

/// Keying memberships by slot keeps each slot's current memberships, and undoing
/// it gives them back to the run that is current.
async fn memberships_survive_rekeying_both_ways(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let db = &gw.context.db;
    seed_synthetic(&gw, 60, 3, Utc::now()).await;
    let rfm = publish(&gw, bundled("tier")).await;
    activate(&gw, "tier", &rfm, json!({})).await;
    run(&gw, "tier").await;
    let before = memberships(&gw, "tier").await;
    assert_eq!(before.len(), 60);

    Migrator::down(db, Some(1))
        .await
        .expect("undoing the rekeying");
    let by_run: BTreeMap<i64, (String, f64)> = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT m.customer_id, m.segment, m.score FROM segment_memberships m \
             JOIN slots s ON s.current_run_id = m.run_id WHERE s.name = 'tier'",
        ))
        .await
        .unwrap()
        .into_iter()
        .map(|row| {
            let id: i64 = row.try_get("", "customer_id").unwrap();
            let segment: String = row.try_get("", "segment").unwrap();
            (id, (segment, row.try_get("", "score").unwrap()))
        })
        .collect();
    assert_eq!(by_run, before);

    Migrator::up(db, None).await.expect("rekeying again");
    assert_eq!(memberships(&gw, "tier").await, before);
    assert_eq!(run(&gw, "tier").await["changed"], 0);
}

on_both_backends!(
    strategies_change_without_restart,
    memberships_survive_rekeying_both_ways,
    runs_change_only_what_differs,
    orders_and_interactions_reclassify_in_real_time,
    recommendations_come_from_the_slot_plugin,
    publish_and_activation_refuse_with_reasons,
    hostile_plugins_are_contained,
    batches_read_the_features_single_customers_get,
);

/// Two `retain serve` processes on one PostgreSQL: an activation made through one
/// is served by the other without a restart. How fast is measured by the
/// `replicas` bench, under load, not here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activation_reaches_the_other_replica() {
    let first = TestGateway::start(Backend::Postgres).await;
    let second = first.replica().await;
    let rfm = publish(&first, bundled("tier")).await;
    activate(&first, "tier", &rfm, json!({})).await;
    let spenders = publish(&first, guests::BIG_SPENDERS).await;

    let serving = r#"{ slot(name: "tier") { serving { name } } }"#;
    let wait_for = |name: &'static str| {
        let second = &second;
        async move {
            let started = Instant::now();
            loop {
                let data = second.query(serving, json!({})).await;
                if data["slot"]["serving"]["name"] == name {
                    return;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "the second replica still serves {data}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for("rfm-tiers").await;
    activate(&first, "tier", &spenders, json!({})).await;
    wait_for("big-spenders").await;
}
