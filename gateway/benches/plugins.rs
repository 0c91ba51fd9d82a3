//! Strategy plugins behind the component boundary: classification throughput of
//! the bundled `rfm-tiers` over 1,000,000 profiles in wasm against the same crate
//! compiled natively and against the same tiers written as rules
//! (`rules/examples/rfm-tiers.rules`, compiled by the gateway), the wasm plugin
//! at batch sizes around the gateway's default, and the cost of a fresh instance
//! per call.
//!
//! ```text
//! cargo bench -p retain-gateway --bench plugins
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use retain_gateway::config::PluginSettings;
use retain_gateway::plugins::batch::{BatchBuilder, Columns, ProfileFeatures};
use retain_gateway::plugins::bundled::BUNDLED;
use retain_gateway::plugins::v1::types::ProfileBatch;
use retain_gateway::plugins::{LoadedPlugin, PluginEngine};
use retain_plugin_rfm_tiers::RfmTiers;
use retain_plugin_sdk::testing::classify_batch;
use retain_plugin_sdk::{Profile, ProfileColumns, ProfileRecord, Segmenter};

const PROFILES: usize = 1_000_000;
/// Batch sizes compared for the wasm plugin, around the gateway's default.
const BATCH_SIZES: [usize; 4] = [1024, 4096, 16_384, 65_536];

/// The gateway's default batch size.
fn default_batch() -> usize {
    PluginSettings::default().batch_size
}

/// Believable, deterministic profiles: a cheap xorshift, no randomness crate.
fn profiles() -> Vec<ProfileFeatures> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    (0..PROFILES)
        .map(|_| {
            let orders = next(12) as u32;
            let spend = orders as i64 * next(200_000) as i64;
            ProfileFeatures {
                days_since_last_order: (orders > 0).then(|| next(400) as u32),
                orders_365d: orders,
                spend_365d: spend,
                lifetime_orders: orders * 2,
                lifetime_spend: spend * 2,
                average_order_value: if orders > 0 { spend / orders as i64 } else { 0 },
                interactions_30d: next(10) as u32,
                days_since_signup: next(2000) as u32,
                points_balance: 0,
                days_between_orders: (orders > 1).then(|| 10 + next(80) as u32),
                birthday_month: Some(1 + next(12) as u8),
                tags: Vec::new(),
            }
        })
        .collect()
}

/// The batches the host sends a plugin reading `columns`.
fn host_batches(profiles: &[ProfileFeatures], columns: Columns, size: usize) -> Vec<ProfileBatch> {
    profiles
        .chunks(size)
        .map(|chunk| {
            let mut builder = BatchBuilder::new(chunk.len(), columns);
            chunk.iter().for_each(|p| builder.push(p));
            builder.finish()
        })
        .collect()
}

fn native_batches(profiles: &[ProfileFeatures]) -> Vec<ProfileColumns> {
    profiles
        .chunks(default_batch())
        .map(|chunk| {
            let records: Vec<ProfileRecord> = chunk
                .iter()
                .map(|p| {
                    let mut builder = Profile::builder()
                        .orders_365d(p.orders_365d)
                        .spend_365d(p.spend_365d)
                        .interactions_30d(p.interactions_30d);
                    if let Some(days) = p.days_since_last_order {
                        builder = builder.days_since_last_order(days);
                    }
                    builder.build()
                })
                .collect();
            ProfileColumns::from_records(&records, RfmTiers::info().features)
        })
        .collect()
}

fn engine() -> PluginEngine {
    let cache = std::env::temp_dir().join("retain-bench-plugin-cache");
    PluginEngine::new(&PluginSettings::default(), &cache).expect("engine")
}

fn rfm_tiers() -> std::sync::Arc<LoadedPlugin> {
    let component = BUNDLED
        .iter()
        .find(|b| b.slot == "tier")
        .expect("rfm-tiers is bundled")
        .component;
    LoadedPlugin::load(&engine(), component).expect("rfm-tiers loads")
}

fn rfm_rules() -> std::sync::Arc<LoadedPlugin> {
    let source = include_str!("../../rules/examples/rfm-tiers.rules");
    let rules = retain_rules::RuleSet::parse(source).expect("the example parses");
    let component = rules.compile().expect("the example compiles");
    LoadedPlugin::load(&engine(), &component).expect("the rules load")
}

fn classification(c: &mut Criterion) {
    let profiles = profiles();
    let plugin = rfm_tiers();
    let rules = rfm_rules();
    let for_plugin = host_batches(&profiles, plugin.columns, default_batch());
    let for_rules = host_batches(&profiles, rules.columns, default_batch());
    let every_column = host_batches(&profiles, Columns::ALL, default_batch());
    let native = native_batches(&profiles);

    let mut group = c.benchmark_group("classify 1M profiles");
    group.sample_size(20);
    group.throughput(Throughput::Elements(PROFILES as u64));
    group.bench_function("rfm-tiers in wasm", |b| {
        b.iter(|| {
            for batch in &for_plugin {
                black_box(plugin.classify("{}", batch).expect("classifies"));
            }
        })
    });
    // What lowering the columns nobody reads would cost.
    group.bench_function("rfm-tiers in wasm, all 12 columns sent", |b| {
        b.iter(|| {
            for batch in &every_column {
                black_box(plugin.classify("{}", batch).expect("classifies"));
            }
        })
    });
    group.bench_function("rfm-tiers as compiled rules", |b| {
        b.iter(|| {
            for batch in &for_rules {
                black_box(rules.classify("{}", batch).expect("classifies"));
            }
        })
    });
    group.bench_function("rfm-tiers native", |b| {
        b.iter(|| {
            for batch in &native {
                black_box(classify_batch::<RfmTiers>("{}", batch).expect("classifies"));
            }
        })
    });
    group.finish();

    // Each call costs a fresh instance and the config parse: bigger batches
    // spread it over more customers.
    let mut group = c.benchmark_group("classify 1M profiles by batch size");
    group.sample_size(20);
    group.throughput(Throughput::Elements(PROFILES as u64));
    for size in BATCH_SIZES {
        let batches = host_batches(&profiles, plugin.columns, size);
        group.bench_function(format!("rfm-tiers in wasm, batches of {size}"), |b| {
            b.iter(|| {
                for batch in &batches {
                    black_box(plugin.classify("{}", batch).expect("classifies"));
                }
            })
        });
    }
    group.finish();
}

/// What one call costs before and around the guest's work: a store and an
/// instance alone, then with the smallest calls.
fn instances(c: &mut Criterion) {
    let plugin = rfm_tiers();
    let empty = ProfileBatch::of(std::iter::empty::<&ProfileFeatures>(), plugin.columns);
    let mut group = c.benchmark_group("one call");
    group.bench_function("fresh instance", |b| {
        b.iter(|| plugin.instantiate().expect("instantiates"))
    });
    group.bench_function("fresh instance + describe()", |b| {
        b.iter(|| black_box(plugin.describe().expect("describes")))
    });
    group.bench_function("fresh instance + classify(0 profiles)", |b| {
        b.iter(|| black_box(plugin.classify("{}", &empty).expect("classifies")))
    });
    group.finish();
}

criterion_group!(benches, classification, instances);
criterion_main!(benches);
