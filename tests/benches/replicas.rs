//! Activation to served on another replica: two release gateways on one
//! PostgreSQL database, a steady recommendation load on the second, and a data
//! team's key swapping the home-page recommender through the first. Each swap is
//! timed from the moment the first replica confirmed it until the second serves
//! the new version; every request of the load must succeed throughout.
//!
//! ```text
//! cargo bench -p retain-tests --bench replicas
//! ```
//!
//! | variable                        | default                                   |
//! |---------------------------------|-------------------------------------------|
//! | `RETAIN_REPLICAS_CUSTOMERS`     | `10000`                                   |
//! | `RETAIN_REPLICAS_ACTIVATIONS`   | `100`                                     |
//! | `RETAIN_REPLICAS_RATE`          | `50` recommendation requests per second   |
//! | `RETAIN_TEST_POSTGRES_URL`      | `postgres://postgres@127.0.0.1:5432/test` |
//! | `RETAIN_BIN`                    | `target/release/retain`, built if missing |

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use hdrhistogram::Histogram;
use reqwest::Client;
use retain_tests::Backend;
use retain_tests::load::{
    BenchDatabase, bench_main, client_with_key, env_number, first_ids, gateway_binary,
    graphql_data, latency_histogram, quantile_ms, query_data,
};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio::time::{Instant, MissedTickBehavior};

/// The slot swapped: a recommender, so an activation starts no background work
/// and what is timed is the propagation alone.
const SLOT: &str = "recs.home";
/// How often the second replica is asked what it serves while a swap propagates.
const POLL: Duration = Duration::from_millis(5);
/// A swap not served by the second replica within this long counts as failed.
const GIVE_UP: Duration = Duration::from_secs(10);
/// The aim: served on the other replica within a second.
const AIM: Duration = Duration::from_secs(1);
const RECOMMEND: &str = "query Recommend($id: ID!, $slot: String!) { node(id: $id) { \
    ... on Customer { recommendations(slot: $slot, first: 5) { product { id } score } } } }";

struct Settings {
    customers: u64,
    activations: u64,
    rate: u64,
}

fn main() -> ExitCode {
    bench_main("replicas", run)
}

async fn run() -> Result<()> {
    let settings = Settings {
        customers: env_number("RETAIN_REPLICAS_CUSTOMERS", 10_000)?,
        activations: env_number("RETAIN_REPLICAS_ACTIVATIONS", 100)?,
        rate: env_number("RETAIN_REPLICAS_RATE", 50)?.max(1),
    };
    let binary = gateway_binary()?;
    let database = BenchDatabase::create(Backend::Postgres).await?;
    let result = async {
        database.prepare(&binary, settings.customers).await?;
        let reader = client_with_key(&database.create_key(&binary, "viewer", "replicas").await?)?;
        let strategist = client_with_key(
            &database
                .create_key(&binary, "strategist", "replicas-plugins")
                .await?,
        )?;
        let first = database.serve(&binary, &[]).await?;
        let second = database.serve(&binary, &[]).await?;
        first.wait_ready(&reader).await?;
        second.wait_ready(&reader).await?;
        let swaps = Swaps {
            strategist,
            reader: reader.clone(),
            first: first.graphql_url(),
            second: second.graphql_url(),
        };
        measure(&settings, &swaps).await
    }
    .await;
    if let Err(error) = database.remove().await {
        eprintln!("replicas: could not remove the database: {error:#}");
    }
    result
}

/// The two replicas and the keys that talk to them.
struct Swaps {
    strategist: Client,
    reader: Client,
    first: String,
    second: String,
}

impl Swaps {
    /// Activates `plugin` through the first replica, then waits until the second
    /// serves it; returns how long that took after the first replica answered.
    async fn swap(&self, plugin: &str, name: &str) -> Result<Duration> {
        let body = json!({
            "query": "mutation Swap($slot: String!, $plugin: String!) { \
                activatePlugin(slot: $slot, plugin: $plugin) { name } }",
            "variables": { "slot": SLOT, "plugin": plugin },
        });
        graphql_data(&self.strategist, &self.first, &body)
            .await
            .map_err(|failure| anyhow::anyhow!("activating {plugin}: {failure}"))?;
        let confirmed = Instant::now();
        let serving = format!("{{ slot(name: \"{SLOT}\") {{ serving {{ name }} }} }}");
        loop {
            let data = query_data(&self.reader, &self.second, &serving).await?;
            if data["slot"]["serving"]["name"] == name {
                return Ok(confirmed.elapsed());
            }
            ensure!(
                confirmed.elapsed() < GIVE_UP,
                "the second replica still serves {} {GIVE_UP:?} after {plugin} was activated",
                data["slot"]["serving"]["name"]
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The published recommenders, as `(reference, name)`.
    async fn recommenders(&self) -> Result<Vec<(String, String)>> {
        let data = query_data(
            &self.strategist,
            &self.first,
            "{ plugins(kind: RECOMMENDER) { reference name } }",
        )
        .await?;
        let found: Vec<(String, String)> = data["plugins"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p["reference"].as_str()?.into(), p["name"].as_str()?.into())))
            .collect();
        ensure!(
            found.len() >= 2,
            "two recommenders are needed to swap between, found {found:?}"
        );
        Ok(found)
    }
}

/// What the load on the second replica saw.
struct Load {
    latency: Histogram<u64>,
    requests: u64,
    failures: u64,
}

async fn measure(settings: &Settings, swaps: &Swaps) -> Result<()> {
    let recommenders = swaps.recommenders().await?;
    let customers: Arc<[String]> = first_ids(&swaps.reader, &swaps.second, "customers", 100)
        .await?
        .into();
    // The replica's first recommendation computes its catalogue facts; the load
    // measures the replica after that, while swaps go on.
    let started = Instant::now();
    graphql_data(&swaps.reader, &swaps.second, &recommend_body(&customers[0]))
        .await
        .map_err(|failure| anyhow::anyhow!("the first recommendation failed: {failure}"))?;
    let first_request = started.elapsed();
    let load = Arc::new(Mutex::new(Load {
        latency: latency_histogram(),
        requests: 0,
        failures: 0,
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let driving = tokio::spawn(drive(
        swaps.reader.clone(),
        swaps.second.clone(),
        customers,
        settings.rate,
        Arc::clone(&stop),
        Arc::clone(&load),
    ));

    let mut propagation = latency_histogram();
    let mut failed = Vec::new();
    for round in 0..settings.activations as usize {
        let (plugin, name) = &recommenders[(round + 1) % recommenders.len()];
        match swaps.swap(plugin, name).await {
            Ok(took) => propagation
                .record(took.as_micros() as u64)
                .context("recording a propagation time")?,
            Err(error) => failed.push(format!("activation {}: {error:#}", round + 1)),
        }
        // Swaps a few times a second: fast enough to be many, slow enough that
        // each one starts from a settled slot.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    driving.await.context("the load task panicked")?;
    let load = load.lock().await;

    println!("## Activation to served on the second replica (PostgreSQL)");
    println!();
    println!(
        "{} customers; {} swaps of `{SLOT}` through the first replica; {} recommendation requests/s on the second.",
        settings.customers, settings.activations, settings.rate
    );
    println!();
    println!("| swaps served | p50 ms | p99 ms | max ms | failed swaps |");
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {} | {} | {} |",
        propagation.len(),
        quantile_ms(&propagation, 0.5),
        quantile_ms(&propagation, 0.99),
        quantile_ms(&propagation, 1.0),
        failed.len()
    );
    println!();
    println!(
        "The second replica's first recommendation, which computes its catalogue facts, took {:.1} ms; the load started after it.",
        first_request.as_secs_f64() * 1000.0
    );
    println!();
    println!("| load requests | p50 ms | p99 ms | max ms | failures |");
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {} | {} | {} |",
        load.requests,
        quantile_ms(&load.latency, 0.5),
        quantile_ms(&load.latency, 0.99),
        quantile_ms(&load.latency, 1.0),
        load.failures
    );
    for failure in &failed {
        eprintln!("replicas: {failure}");
    }
    ensure!(failed.is_empty(), "{} swaps failed", failed.len());
    ensure!(load.failures == 0, "{} load requests failed", load.failures);
    let slowest = Duration::from_micros(propagation.max());
    ensure!(
        slowest < AIM,
        "the slowest swap took {slowest:?} to reach the second replica (aim: under {AIM:?})"
    );
    Ok(())
}

/// The recommendation request the bench measures, for one customer.
fn recommend_body(customer: &str) -> Value {
    json!({ "query": RECOMMEND, "variables": { "id": customer, "slot": SLOT } })
}

/// Open-loop recommendation requests to `url` at `rate` per second until `stop`;
/// latency counts from when each request was due.
async fn drive(
    client: Client,
    url: String,
    customers: Arc<[String]>,
    rate: u64,
    stop: Arc<AtomicBool>,
    load: Arc<Mutex<Load>>,
) {
    let mut ticks = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut sent = 0usize;
    let mut requests = tokio::task::JoinSet::new();
    while !stop.load(Ordering::Relaxed) {
        let due = ticks.tick().await;
        let body = recommend_body(&customers[sent % customers.len()]);
        sent += 1;
        let (client, url, load) = (client.clone(), url.clone(), Arc::clone(&load));
        requests.spawn(async move {
            let outcome = graphql_data(&client, &url, &body).await;
            let mut load = load.lock().await;
            load.requests += 1;
            match outcome {
                Ok(_) => {
                    let micros = due.elapsed().as_micros() as u64;
                    load.latency.saturating_record(micros);
                }
                Err(failure) => {
                    load.failures += 1;
                    if load.failures <= 3 {
                        eprintln!("replicas: a recommendation request failed: {failure}");
                    }
                }
            }
        });
    }
    while requests.join_next().await.is_some() {}
}
