//! Rule files compiled to segmenter components, run through the real plugin
//! host: the RFM example against the Rust `rfm-tiers` plugin on 100,000
//! profiles, compiled rules against the interpreter on random rules and
//! profiles, and publish → preview → activate → query over HTTP.

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use retain_gateway::config::PluginSettings;
use retain_gateway::plugins::batch::{BatchBuilder, ProfileFeatures};
use retain_gateway::plugins::v1::types::ProfileBatch;
use retain_gateway::plugins::{LoadedPlugin, PluginEngine};
use retain_rules::{NEVER, Profile, RuleSet};
use retain_tests::shop::{
    ACTIVATE, RUN, activate, bundled, customer, paid_order, product, publish, segment,
};
use retain_tests::{Backend, TestGateway, on_both_backends};
use serde_json::json;

const RFM_RULES: &str = include_str!("../../rules/examples/rfm-tiers.rules");
/// The gateway's default batch size.
const BATCH: usize = 4096;

/// One engine for the whole test binary, as the gateway has one.
fn engine() -> &'static PluginEngine {
    static ENGINE: OnceLock<PluginEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let cache = std::env::temp_dir().join("retain-tests-rules-plugin-cache");
        PluginEngine::new(&PluginSettings::default(), &cache).expect("an engine")
    })
}

fn load(component: &[u8]) -> Arc<LoadedPlugin> {
    LoadedPlugin::load(engine(), component).expect("the component loads")
}

fn compiled(source: &str) -> Arc<LoadedPlugin> {
    let rules = RuleSet::parse(source).expect("the rules parse");
    load(&rules.compile().expect("the rules compile"))
}

/// The host's form of a profile: "never" and "unknown" as `None`.
fn features(profile: &Profile) -> ProfileFeatures {
    let days = |d: u32| (d != NEVER).then_some(d);
    ProfileFeatures {
        days_since_last_order: days(profile.days_since_last_order),
        orders_365d: profile.orders_365d,
        spend_365d: profile.spend_365d,
        lifetime_orders: profile.lifetime_orders,
        lifetime_spend: profile.lifetime_spend,
        average_order_value: profile.average_order_value,
        interactions_30d: profile.interactions_30d,
        days_since_signup: profile.days_since_signup,
        points_balance: profile.points_balance,
        days_between_orders: days(profile.days_between_orders),
        birthday_month: (profile.birthday_month != 0).then_some(profile.birthday_month),
        tags: profile.tags.clone(),
    }
}

/// The batch the host would send `plugin`: only the columns it declared.
fn batch(plugin: &LoadedPlugin, profiles: &[Profile]) -> ProfileBatch {
    let mut builder = BatchBuilder::new(profiles.len(), plugin.columns);
    for profile in profiles {
        builder.push(&features(profile));
    }
    builder.finish()
}

/// Segment keys and scores of `plugin` for `profiles`, batch by batch.
fn classify(plugin: &LoadedPlugin, profiles: &[Profile]) -> Vec<(String, f32)> {
    profiles
        .chunks(BATCH)
        .flat_map(|chunk| {
            let answer = plugin
                .classify("{}", &batch(plugin, chunk))
                .expect("classified");
            answer
                .segments
                .into_iter()
                .zip(answer.scores)
                .map(|(segment, score)| {
                    (
                        plugin.info.segments[usize::from(segment)].key.clone(),
                        score,
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Deterministic profiles crowded around the RFM thresholds (spend ¥500, ¥2000,
/// ¥5000 ± 1 fen, 180/181 days, 0–6 orders, 0–3 interactions), plus the rest.
fn rfm_profiles(count: usize) -> Vec<Profile> {
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut next = move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    (0..count)
        .map(|_| {
            let spend = match next(3) {
                0 => [50_000, 200_000, 500_000][next(3) as usize] + next(3) as i64 - 1,
                1 => next(1_000_000) as i64,
                _ => next(100_000_000) as i64 - 1_000,
            };
            let days_since_last_order = match next(5) {
                0 => NEVER,
                1 => 179 + next(3) as u32,
                _ => next(400) as u32,
            };
            Profile {
                days_since_last_order,
                orders_365d: next(7) as u32,
                spend_365d: spend,
                interactions_30d: next(4) as u32,
                ..Profile::default()
            }
        })
        .collect()
}

#[test]
fn the_rfm_rules_match_the_rust_plugin_on_100_000_profiles() {
    let profiles = rfm_profiles(100_000);
    let rules = classify(&compiled(RFM_RULES), &profiles);
    let rust = classify(&load(bundled("tier")), &profiles);
    let mut per_tier = std::collections::BTreeMap::<&str, usize>::new();
    for (i, ((rule_key, rule_score), (rust_key, rust_score))) in rules.iter().zip(&rust).enumerate()
    {
        assert_eq!(rule_key, rust_key, "customer {i}: {:?}", profiles[i]);
        assert!(
            (rule_score - rust_score).abs() <= 1e-6,
            "customer {i}: score {rule_score} vs {rust_score}"
        );
        *per_tier.entry(rust_key).or_default() += 1;
    }
    assert_eq!(rules.len(), 100_000);
    // Every tier is exercised, each by a sizeable share.
    assert_eq!(per_tier.len(), 4, "{per_tier:?}");
    assert!(per_tier.values().all(|n| *n > 2_000), "{per_tier:?}");
}

#[test]
fn compiled_rules_describe_themselves_with_their_source() {
    let plugin = compiled(RFM_RULES);
    assert_eq!(
        (plugin.name.as_str(), plugin.version.as_str()),
        ("rfm-tiers-rules", "1.0.0")
    );
    assert_eq!(
        retain_rules::source_in(&plugin.description),
        Some(RFM_RULES)
    );
    let keys: Vec<_> = plugin
        .info
        .segments
        .iter()
        .map(|s| s.key.as_str())
        .collect();
    assert_eq!(keys, ["dormant", "core-loyal", "potential", "basic"]);
    assert_eq!(plugin.info.segments[1].label, "Core loyal");
    assert_eq!(
        plugin.info.features,
        [
            "Feature::DaysSinceLastOrder",
            "Feature::Orders365d",
            "Feature::Spend365d",
            "Feature::Interactions30d"
        ]
    );
    plugin
        .smoke_call("{}")
        .expect("the publish-time smoke call passes");
}

#[test]
fn compiled_rules_refuse_a_config_and_malformed_batches() {
    let plugin = compiled(RFM_RULES);
    let profiles = rfm_profiles(3);
    for config in ["{}", " { \n} ", "{ }"] {
        plugin
            .classify(config, &batch(&plugin, &profiles))
            .expect(config);
    }
    for config in [r#"{"x": 1}"#, "", "{}}", "[]"] {
        let error = plugin
            .classify(config, &batch(&plugin, &profiles))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "refused: rule plugins take no configuration (the config must be {}): the thresholds are in the rules",
            "{config:?}"
        );
    }
    let mut short = batch(&plugin, &profiles);
    short.spend_365d.pop();
    assert_eq!(
        plugin.classify("{}", &short).unwrap_err().to_string(),
        "refused: the batch's spend-365d list does not have len entries"
    );

    let tagged = compiled("plugin t 1\nsegment fit\n  when has tag \"fitness\"\ndefault rest");
    let mut bad_offsets = batch(
        &tagged,
        &[Profile {
            tags: vec!["fitness".into()],
            ..Profile::default()
        }],
    );
    bad_offsets.tag_offsets[1] = 5;
    assert_eq!(
        tagged.classify("{}", &bad_offsets).unwrap_err().to_string(),
        "refused: the batch's tag-offsets do not fit its tag-codes"
    );
}

// Random rule files, written as text, over every feature kind and tags.

const TAGS: [&str; 4] = ["fitness", "office", "mother-and-baby", "vip"];

/// A literal for feature `name` within the profiles' ranges, with its value in
/// the batch's units (to order the ends of a range).
fn literal(name: &'static str) -> BoxedStrategy<(i64, String)> {
    match name {
        "days-since-last-order" | "days-since-signup" | "days-between-orders" => {
            (0..400_i64, any::<bool>())
                .prop_map(|(d, unit)| {
                    (
                        d,
                        if unit {
                            format!("{d} days")
                        } else {
                            d.to_string()
                        },
                    )
                })
                .boxed()
        }
        "spend-365d" | "lifetime-spend" | "average-order-value" => prop_oneof![
            (0..10_000_i64).prop_map(|y| (y * 100, y.to_string())),
            (0..10_000_i64, 0..100_i64).prop_map(|(y, f)| (y * 100 + f, format!("{y}.{f:02}"))),
        ]
        .boxed(),
        "points-balance" => (-500..5_000_i64).prop_map(|p| (p, p.to_string())).boxed(),
        "birthday-month" => prop_oneof![
            (0..=12_i64).prop_map(|m| (m, m.to_string())),
            Just((3, "march".to_string())),
            Just((12, "dec".to_string())),
        ]
        .boxed(),
        _ => (0..8_i64).prop_map(|n| (n, n.to_string())).boxed(),
    }
}

fn feature_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(
        retain_rules::features::Feature::ALL
            .map(|f| f.name())
            .to_vec(),
    )
}

fn test_text() -> BoxedStrategy<String> {
    let op = prop::sample::select(vec!["<", "<=", ">", ">=", "=", "!=", "is", "is not"]);
    prop_oneof![
        3 => (feature_name(), op).prop_flat_map(|(name, op)| {
            literal(name).prop_map(move |(_, value)| format!("{name} {op} {value}"))
        }),
        1 => feature_name().prop_flat_map(|name| {
            (literal(name), literal(name)).prop_map(move |(a, b)| {
                let (low, high) = if a.0 <= b.0 { (a.1, b.1) } else { (b.1, a.1) };
                format!("{name} between {low} and {high}")
            })
        }),
        1 => prop::sample::select(TAGS.to_vec()).prop_map(|tag| format!("has tag \"{tag}\"")),
    ]
    .boxed()
}

fn condition_text() -> impl Strategy<Value = String> {
    test_text().prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

fn score_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        feature_name().prop_map(str::to_owned),
        (0..100_u32).prop_map(|n| n.to_string()),
        Just("0.5".to_string()),
    ];
    leaf.prop_recursive(3, 10, 3, |inner| {
        let op = prop::sample::select(vec!["+", "-", "*", "/"]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("min({a}, {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("max({a}, -{b})")),
            (inner.clone(), inner.clone(), inner)
                .prop_map(|(x, a, b)| format!("clamp({x}, {a}, {b})")),
        ]
    })
}

fn rules_text() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(condition_text(), 1..5),
        prop::option::of(score_text()),
    )
        .prop_map(|(conditions, score)| {
            let mut text = String::from("plugin random 1.0.0\n");
            for (i, condition) in conditions.iter().enumerate() {
                text.push_str(&format!("segment s{i}\n  when {condition}\n"));
            }
            text.push_str("default rest\n");
            if let Some(score) = score {
                text.push_str(&format!("score {score}\n"));
            }
            text
        })
}

fn days() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0..400_u32, 1 => Just(NEVER)]
}

fn profile() -> impl Strategy<Value = Profile> {
    let money = || prop_oneof![0..1_000_000_i64, Just(0), any::<i64>().prop_map(|m| m / 4)];
    (
        (days(), 0..8_u32, money(), 0..8_u32, money(), money()),
        (0..8_u32, days(), -50_000..500_000_i64, days(), 0..=12_u8),
        prop::collection::vec(
            prop::sample::select(vec!["fitness", "office", "mother-and-baby", "vip", "other"]),
            0..3,
        ),
    )
        .prop_map(|(a, b, tags)| Profile {
            days_since_last_order: a.0,
            orders_365d: a.1,
            spend_365d: a.2,
            lifetime_orders: a.3,
            lifetime_spend: a.4,
            average_order_value: a.5,
            interactions_30d: b.0,
            days_since_signup: b.1,
            points_balance: b.2,
            days_between_orders: b.3,
            birthday_month: b.4,
            tags: tags.into_iter().map(str::to_owned).collect(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn compiled_rules_agree_with_the_interpreter(
        source in rules_text(),
        profiles in prop::collection::vec(profile(), 1..60),
    ) {
        let rules = match RuleSet::parse(&source) {
            Ok(rules) => rules,
            Err(errors) => {
                // Two random segments may share a condition; anything else is a bug.
                prop_assert!(errors.0.iter().all(|e| e.message.contains("unreachable")), "{errors}\n{source}");
                return Ok(());
            }
        };
        let plugin = load(&rules.compile().unwrap());
        let answer = plugin.classify("{}", &batch(&plugin, &profiles)).unwrap();
        for (i, profile) in profiles.iter().enumerate() {
            let expected = rules.evaluate(profile);
            prop_assert_eq!(usize::from(answer.segments[i]), expected.segment, "{:?}\n{}", profile, source);
            prop_assert_eq!(answer.scores[i].to_bits(), expected.score.to_bits(), "{:?}\n{}", profile, source);
        }
    }
}

// End to end, over HTTP.

const PUBLISH_RULES: &str = "mutation($slot: String!, $source: String!) { publishRules(slot: $slot, source: $source) { alreadyPublished plugin { reference kind rulesSource segments { key label } } } }";
const PREVIEW_RULES: &str = "mutation($slot: String!, $source: String!) { previewRules(slot: $slot, source: $source) { active candidate customers agreement transitions { from to customers } candidateSegments { segment customers } } }";

const FITNESS_RULES: &str = r#"plugin fitness-focus 1.0.0
segment fit-spenders "Fit spenders"
  when has tag "fitness" and spend-365d >= 5000
segment repeat "Repeat buyers"
  when repurchases-365d >= 1
segment recent "Recent buyers"
  when days-since-last-order <= 30 days
default others "Others"
score clamp(spend-365d / 10000, 0, 1)
"#;

async fn rules_are_published_previewed_activated_and_served(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let lamp = product(&gw, "LAMP", 10_000).await;
    let fit = customer(&gw, "fit", &["fitness"]).await;
    let once = customer(&gw, "once", &[]).await;
    let browser = customer(&gw, "browser", &[]).await;
    for _ in 0..3 {
        paid_order(&gw, &fit, &[(&lamp, 20)]).await;
    }
    paid_order(&gw, &once, &[(&lamp, 6)]).await;
    let rfm = publish(&gw, bundled("tier")).await;
    activate(&gw, "tier", &rfm, json!({})).await;

    // The RFM rules agree with the plugin they restate.
    let preview = gw
        .query(
            PREVIEW_RULES,
            json!({ "slot": "tier", "source": RFM_RULES }),
        )
        .await["previewRules"]
        .clone();
    assert_eq!(preview["customers"], 3, "{preview:#}");
    assert_eq!(preview["agreement"], 1.0, "{preview:#}");
    assert_eq!(preview["candidate"], "rfm-tiers-rules@1.0.0");

    // Other rules: the preview shows where customers would move.
    let preview = gw
        .query(
            PREVIEW_RULES,
            json!({ "slot": "tier", "source": FITNESS_RULES }),
        )
        .await["previewRules"]
        .clone();
    let mut transitions = preview["transitions"].as_array().unwrap().clone();
    transitions.sort_by_key(|t| (t["from"].to_string(), t["to"].to_string()));
    assert_eq!(
        json!(transitions),
        json!([
            { "from": "basic", "to": "fit-spenders", "customers": 1 },
            { "from": "basic", "to": "recent", "customers": 1 },
            { "from": "dormant", "to": "others", "customers": 1 },
        ]),
        "{preview:#}"
    );

    let published = gw
        .query(
            PUBLISH_RULES,
            json!({ "slot": "tier", "source": FITNESS_RULES }),
        )
        .await["publishRules"]
        .clone();
    assert_eq!(published["alreadyPublished"], false);
    assert_eq!(published["plugin"]["reference"], "fitness-focus@1.0.0");
    assert_eq!(published["plugin"]["kind"], "SEGMENTER");
    assert_eq!(published["plugin"]["rulesSource"], FITNESS_RULES);
    assert_eq!(
        published["plugin"]["segments"][0],
        json!({ "key": "fit-spenders", "label": "Fit spenders" })
    );

    gw.query(
        ACTIVATE,
        json!({ "slot": "tier", "plugin": "fitness-focus@1.0.0", "config": {} }),
    )
    .await;
    let run = gw.query(RUN, json!({ "slot": "tier" })).await["runSegmentation"].clone();
    assert_eq!(run["status"], "COMPLETED", "{run:#}");
    assert_eq!(run["plugin"]["name"], "fitness-focus");
    let expected = [
        (&fit, "fit-spenders", 0.6),
        (&once, "recent", 0.06),
        (&browser, "others", 0.0),
    ];
    for (customer, key, score) in expected {
        let served = segment(&gw, customer, "tier").await;
        assert_eq!(served["key"], key, "{served:#}");
        let served_score = served["score"].as_f64().unwrap();
        assert!((served_score - score).abs() < 1e-6, "{served:#}");
    }

    // Publishing the same file again stores nothing new.
    let again = gw
        .query(
            PUBLISH_RULES,
            json!({ "slot": "tier", "source": FITNESS_RULES }),
        )
        .await;
    assert_eq!(again["publishRules"]["alreadyPublished"], true);
}

async fn broken_rules_are_refused_with_every_error_located(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let rfm = publish(&gw, bundled("tier")).await;
    activate(&gw, "tier", &rfm, json!({})).await;
    let source = "plugin broken 1.0.0\nsegment a\n  when spend-356d > 1\nsegment b\n  when orders-365d > 2 days\n";
    for mutation in [PUBLISH_RULES, PREVIEW_RULES] {
        let error = gw
            .error(mutation, json!({ "slot": "tier", "source": source }))
            .await;
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
        assert_eq!(error["extensions"]["field"], "source");
        assert_eq!(
            (
                error["extensions"]["line"].clone(),
                error["extensions"]["column"].clone()
            ),
            (json!(3), json!(8))
        );
        assert_eq!(
            error["extensions"]["errors"],
            json!([
                { "line": 3, "column": 8, "message": "unknown feature `spend-356d`", "hint": "did you mean `spend-365d`?" },
                { "line": 5, "column": 22, "message": "type mismatch: `orders-365d` is a count, but `2 days` is a number of days", "hint": "drop the unit" },
                { "line": 5, "column": 28, "message": "the rules have no default segment", "hint": "end with `default KEY \"Label\"` for customers no segment catches" },
            ])
        );
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("source: line 3, column 8: unknown feature `spend-356d`"),
            "{error:#}"
        );
    }
    // Rules compile to segmenters: a recommender slot is refused.
    let recs = publish(&gw, bundled("recs.home")).await;
    activate(&gw, "recs.home", &recs, json!({})).await;
    let error = gw
        .error(
            PUBLISH_RULES,
            json!({ "slot": "recs.home", "source": RFM_RULES }),
        )
        .await;
    assert_eq!(
        error["message"],
        "slot: recs.home holds recommenders, not segmenters"
    );
}

on_both_backends!(
    rules_are_published_previewed_activated_and_served,
    broken_rules_are_refused_with_every_error_located,
);
