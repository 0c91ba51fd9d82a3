//! Load benchmark for the GraphQL API: the real release binary, a seeded database and
//! real HTTP over loopback, so the numbers include everything a client would pay for.
//!
//! For each backend it seeds a fresh database with `retain seed`, installs the
//! bundled plugins (`retain plugin install-bundled`, which segments every customer),
//! starts `retain serve` on a free port, drives six query shapes at concurrency 1
//! and 32, and prints a Markdown table with throughput, latency percentiles and the SQL
//! statements each request cost (read from `/metrics`, so N+1 regressions show up).
//!
//! ```text
//! cargo bench -p retain-tests --bench api_load
//! ```
//!
//! | variable                   | default                                    |
//! |----------------------------|--------------------------------------------|
//! | `RETAIN_BENCH_BACKENDS`    | `sqlite,postgres`                          |
//! | `RETAIN_BENCH_CUSTOMERS`   | `100000`                                   |
//! | `RETAIN_BENCH_SECONDS`     | `10` (per query shape and concurrency)     |
//! | `RETAIN_TEST_POSTGRES_URL` | `postgres://postgres@127.0.0.1:5432/test`  |
//! | `RETAIN_BIN`               | `target/release/retain`, built if missing  |

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use hdrhistogram::Histogram;
use reqwest::Client;
use retain_tests::Backend;
use retain_tests::load::{
    BenchDatabase, Preparation, bench_main, client_with_key, env_number, env_or, first_ids,
    gateway_binary, graphql_request, latency_histogram, quantile_ms,
};
use serde_json::{Value, json};

/// Long enough for connection pools, caches and the allocator to settle before measuring.
const WARM_UP: Duration = Duration::from_secs(2);
/// One client shows per-request latency; 32 show how the gateway and pool scale.
const CONCURRENCY: [usize; 2] = [1, 32];

const Q1: &str = "query Q1($id: ID!) { node(id: $id) { ... on Customer { id name email \
    profile { daysSinceLastOrder ordersLast365Days spendLast365Days { minor currency } \
    lifetimeOrders lifetimeSpend { minor currency } averageOrderValue { minor currency } \
    interactionsLast30Days daysSinceSignup } } } }";
const Q2: &str = "{ customers(first: 100) { edges { node { id externalId name email \
    signupAt tags } } pageInfo { hasNextPage endCursor } } }";
const Q3: &str = "{ customers(first: 50) { edges { node { id name orders(first: 10) { \
    edges { node { id orderNumber total { minor } items { quantity product { name } } } } \
    } } } } }";
const Q4: &str = "query Q4($id: ID!) { node(id: $id) { ... on Customer { id \
    segments { slot key score } \
    recommendations(slot: \"recs.home\", first: 5) { product { name } score reason } } } }";
/// One customer's recommendations from `$slot`, as a home page would ask for them.
const Q5: &str = "query Q5($id: ID!, $slot: String!) { node(id: $id) { ... on Customer { \
    recommendations(slot: $slot, first: 10) { product { id name } score reason } } } }";

fn main() -> ExitCode {
    bench_main("api_load", run)
}

async fn run() -> Result<()> {
    let settings = Settings::from_env()?;
    let binary = gateway_binary()?;
    eprintln!("api_load: using {}", binary.display());
    // One backend failing (say, no PostgreSQL running) should not hide the others' numbers.
    let mut failed = Vec::new();
    for &backend in &settings.backends {
        if let Err(error) = bench_backend(backend, &binary, &settings).await {
            eprintln!("api_load: {} failed: {error:#}", backend.name());
            failed.push(backend.name());
        }
    }
    ensure!(failed.is_empty(), "failed backends: {}", failed.join(", "));
    Ok(())
}

/// What to measure, from the environment.
struct Settings {
    backends: Vec<Backend>,
    customers: u64,
    run_for: Duration,
}

impl Settings {
    fn from_env() -> Result<Self> {
        let backends = env_or("RETAIN_BENCH_BACKENDS", "sqlite,postgres")
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(Backend::parse)
            .collect::<Result<Vec<_>>>()?;
        ensure!(
            !backends.is_empty(),
            "RETAIN_BENCH_BACKENDS names no backend"
        );
        let customers = env_number("RETAIN_BENCH_CUSTOMERS", 100_000)?;
        let seconds = env_number("RETAIN_BENCH_SECONDS", 10)?;
        Ok(Self {
            backends,
            customers,
            run_for: Duration::from_secs(seconds),
        })
    }
}

/// Seeds, serves and measures one backend, and always cleans its database up.
async fn bench_backend(backend: Backend, binary: &Path, settings: &Settings) -> Result<()> {
    let database = BenchDatabase::create(backend).await?;
    let result = measure(backend, binary, settings, &database).await;
    if let Err(error) = database.remove().await {
        eprintln!(
            "api_load: could not remove the {} database: {error:#}",
            backend.name()
        );
    }
    result
}

async fn measure(
    backend: Backend,
    binary: &Path,
    settings: &Settings,
    database: &BenchDatabase,
) -> Result<()> {
    let preparation = database.prepare(binary, settings.customers).await?;
    let key = database.create_key(binary, "viewer", "api-load").await?;
    // The generator's one key would exhaust any per-key limit: this measures the
    // gateway, not the limiter.
    let server = database
        .serve(binary, &[("RETAIN_LIMITS__RATE_PER_SECOND", "0")])
        .await?;
    let client = client_with_key(&key)?;
    server.wait_ready(&client).await?;

    let graphql: Arc<str> = server.graphql_url().into();
    let mut shapes = vec![
        Shape {
            name: "Q1 customer by id with profile",
            bodies: customer_by_id_bodies(&client, &graphql, Q1, "Q1", json!({})).await?,
        },
        Shape::fixed("Q2 customers page of 100", Q2),
        Shape::fixed("Q3 50 customers → 10 orders → items", Q3),
        Shape {
            name: "Q4 customer segments + 5 recommendations",
            bodies: customer_by_id_bodies(&client, &graphql, Q4, "Q4", json!({})).await?,
        },
    ];
    for (name, slot) in [
        (
            "Q5 10 recommendations from recs.home (co-purchases)",
            "recs.home",
        ),
        (
            "Q5 10 recommendations from recs.segment (popular in segment)",
            "recs.segment",
        ),
    ] {
        let variables = json!({ "slot": slot });
        shapes.push(Shape {
            name,
            bodies: customer_by_id_bodies(&client, &graphql, Q5, "Q5", variables).await?,
        });
    }

    let mut rows = Vec::new();
    for shape in &shapes {
        let load = Load {
            client: client.clone(),
            url: Arc::clone(&graphql),
            bodies: Arc::clone(&shape.bodies),
            reported: Arc::new(AtomicBool::new(false)),
        };
        for concurrency in CONCURRENCY {
            eprintln!(
                "api_load: {}: {} at concurrency {concurrency}",
                backend.name(),
                shape.name
            );
            load.drive(concurrency, WARM_UP).await?;
            let before = server.sql_statements(&client).await?;
            let outcome = load.drive(concurrency, settings.run_for).await?;
            let after = server.sql_statements(&client).await?;
            rows.push(Row {
                query: shape.name,
                concurrency,
                sql_statements: after.saturating_sub(before),
                outcome,
            });
        }
    }
    drop(server);
    print_report(backend, settings.customers, &preparation, &rows);
    Ok(())
}

/// One query shape: the request bodies it cycles through.
struct Shape {
    name: &'static str,
    bodies: Arc<[String]>,
}

impl Shape {
    fn fixed(name: &'static str, query: &str) -> Self {
        Self {
            name,
            bodies: Arc::new([json!({ "query": query }).to_string()]),
        }
    }
}

/// Bodies of a per-customer query, one per customer of the first page, so requests
/// do not all hit one row; `variables` are the query's others besides `$id`.
async fn customer_by_id_bodies(
    client: &Client,
    url: &str,
    query: &str,
    operation: &str,
    variables: Value,
) -> Result<Arc<[String]>> {
    let ids = first_ids(client, url, "customers", 100).await?;
    Ok(ids
        .into_iter()
        .map(|id| {
            let mut variables = variables.clone();
            variables["id"] = id.into();
            json!({
                "query": query,
                "operationName": operation,
                "variables": variables,
            })
            .to_string()
        })
        .collect())
}

/// A closed-loop load generator: each worker sends its next request as soon as the
/// previous one finished, until the time is up.
#[derive(Clone)]
struct Load {
    client: Client,
    url: Arc<str>,
    bodies: Arc<[String]>,
    /// Set once a failure has been printed, so a failing shape prints one body.
    reported: Arc<AtomicBool>,
}

impl Load {
    async fn drive(&self, concurrency: usize, duration: Duration) -> Result<Outcome> {
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let deadline = started + duration;
        // A task per worker so the client side (parsing large Q3 bodies) uses every core
        // instead of queueing 32 clients behind one.
        let workers: Vec<_> = (0..concurrency)
            .map(|_| tokio::spawn(self.clone().worker(Arc::clone(&next), deadline)))
            .collect();
        let mut outcome = Outcome::new();
        for worker in workers {
            let worker = worker.await.context("a load worker panicked")?;
            outcome.requests += worker.requests;
            outcome.failures += worker.failures;
            outcome
                .latency
                .add(&worker.latency)
                .context("merging latency histograms")?;
        }
        outcome.elapsed = started.elapsed();
        Ok(outcome)
    }

    async fn worker(self, next: Arc<AtomicUsize>, deadline: Instant) -> Outcome {
        let mut outcome = Outcome::new();
        while Instant::now() < deadline {
            // Round-robin over the bodies, shared so workers do not move in lockstep.
            let index = next.fetch_add(1, Ordering::Relaxed) % self.bodies.len();
            let body = self.bodies[index].clone();
            let sent = Instant::now();
            let result = graphql_request(&self.client, &self.url, body).await;
            outcome.requests += 1;
            match result {
                Ok(_) => {
                    let micros = sent.elapsed().as_micros();
                    outcome
                        .latency
                        .saturating_record(micros.try_into().unwrap_or(u64::MAX));
                }
                Err(failure) => {
                    outcome.failures += 1;
                    if !self.reported.swap(true, Ordering::Relaxed) {
                        eprintln!("api_load: first failure: {failure}");
                    }
                }
            }
        }
        outcome
    }
}

struct Outcome {
    requests: u64,
    failures: u64,
    elapsed: Duration,
    /// Latency of successful requests only; failures are counted apart.
    latency: Histogram<u64>,
}

impl Outcome {
    fn new() -> Self {
        Self {
            requests: 0,
            failures: 0,
            elapsed: Duration::ZERO,
            latency: latency_histogram(),
        }
    }
}

struct Row {
    query: &'static str,
    concurrency: usize,
    sql_statements: u64,
    outcome: Outcome,
}

fn print_report(backend: Backend, customers: u64, preparation: &Preparation, rows: &[Row]) {
    println!();
    println!("### {} — {customers} customers", backend.name());
    println!();
    println!("Seeding: {:.1} s", preparation.seeding.as_secs_f64());
    println!(
        "Publishing the bundled plugins and segmenting four slots: {:.1} s",
        preparation.segmenting.as_secs_f64()
    );
    println!();
    println!(
        "| query | concurrency | requests | req/s | p50 ms | p99 ms | SQL statements/request | failures |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let outcome = &row.outcome;
        let requests = outcome.requests;
        let rate = requests as f64 / outcome.elapsed.as_secs_f64();
        let statements = if requests == 0 {
            "-".to_owned()
        } else {
            format!("{:.2}", row.sql_statements as f64 / requests as f64)
        };
        println!(
            "| {} | {} | {requests} | {rate:.1} | {} | {} | {statements} | {} |",
            row.query,
            row.concurrency,
            quantile_ms(&outcome.latency, 0.50),
            quantile_ms(&outcome.latency, 0.99),
            outcome.failures,
        );
    }
    println!();
}
