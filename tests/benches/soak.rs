//! Soak test: the real release gateway under a steady mixed read/write load for
//! minutes, with plugin activations (and the re-segmentations they start) happening
//! during it. Reports throughput, latency percentiles, errors and the server's memory
//! in 30-second windows, and fails when any request failed or memory grew.
//!
//! The load is open-loop: requests leave on a fixed schedule whatever the server's
//! pace, and latency is measured from the moment a request was due, so a stalled
//! server shows up as latency instead of hiding as a lower send rate.
//!
//! ```text
//! cargo bench -p retain-tests --bench soak
//! ```
//!
//! | variable                   | default                                    |
//! |----------------------------|--------------------------------------------|
//! | `RETAIN_SOAK_BACKEND`      | `postgres`                                 |
//! | `RETAIN_SOAK_CUSTOMERS`    | `100000`                                   |
//! | `RETAIN_SOAK_SECONDS`      | `300`                                      |
//! | `RETAIN_SOAK_RATE`         | `100` requests per second                  |
//! | `RETAIN_SOAK_ACTIVATE_EVERY` | `60` seconds between plugin activations  |
//! | `RETAIN_TEST_POSTGRES_URL` | `postgres://postgres@127.0.0.1:5432/test`  |
//! | `RETAIN_BIN`               | `target/release/retain`, built if missing  |

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use hdrhistogram::Histogram;
use reqwest::Client;
use retain_tests::Backend;
use retain_tests::load::{
    BenchDatabase, Preparation, bench_main, client_with_key, env_number, env_or, first_ids,
    gateway_binary, graphql_data, graphql_request, latency_histogram, quantile_ms, query_data,
    resident_bytes,
};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

/// Each report row covers this much of the run.
const WINDOW: Duration = Duration::from_secs(30);
/// Memory counts as flat when the last window's resident set is at most this much
/// above the one at the end of the warm-up (see [`warm_up`]).
const MEMORY_GROWTH_ALLOWED: f64 = 0.20;

/// How long memory is left to settle before it is judged: the first minute, or
/// longer, until the first activation of each kind has happened and the first
/// re-segmentation has had a whole interval to finish. Allocator pools and
/// caches fill at the first use of each path (measured: one step at the first
/// re-segmentation, none at later ones); what counts is growth after that.
fn warm_up(activate_every: Duration) -> Duration {
    (activate_every * 5 / 2).max(Duration::from_secs(60))
}

const PROFILE: &str = "query Profile($id: ID!) { node(id: $id) { ... on Customer { id name \
    email profile { daysSinceLastOrder ordersLast365Days spendLast365Days { minor } \
    lifetimeOrders averageOrderValue { minor } interactionsLast30Days } } } }";
const PAGE: &str = "query Page { customers(first: 20, filter: { erased: false }) { \
    edges { node { id name email tags } } pageInfo { endCursor } } }";
const SEGMENTS: &str = "query Segments($id: ID!) { node(id: $id) { ... on Customer { id \
    segments { slot key score } \
    recommendations(slot: \"recs.home\", first: 5) { product { name } score reason } } } }";
const HISTORY: &str = "query History($id: ID!) { node(id: $id) { ... on Customer { \
    orders(first: 10) { edges { node { orderNumber total { minor } \
    items { quantity product { name } } } } } } } }";
const INTERACTION: &str = "mutation Interaction($input: RecordInteractionInput!) { \
    recordInteraction(input: $input) { id } }";
const ORDER: &str = "mutation Order($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }";

/// What one scheduled request does.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    Profile,
    Page,
    Segments,
    History,
    Interaction,
    /// Every fifth order is sent twice with the same idempotency key, as a client
    /// retrying after a lost answer would; both answers must name the same order.
    Order,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::Profile,
        Kind::Page,
        Kind::Segments,
        Kind::History,
        Kind::Interaction,
        Kind::Order,
    ];

    fn label(self) -> &'static str {
        match self {
            Kind::Profile => "customer profile (read)",
            Kind::Page => "customers page of 20 (read)",
            Kind::Segments => "segments + 5 recommendations (read)",
            Kind::History => "10 orders with items (read)",
            Kind::Interaction => "recordInteraction (write)",
            Kind::Order => "placeOrder, 1 in 5 retried (write)",
        }
    }
}

/// The mix, in slots of twenty requests: 70 % reads, 30 % writes.
const MIX: [Kind; 20] = {
    use Kind::*;
    [
        Profile,
        Segments,
        Interaction,
        Profile,
        History,
        Page,
        Segments,
        Interaction,
        Profile,
        Order,
        Profile,
        Segments,
        Interaction,
        History,
        Profile,
        Page,
        Segments,
        Interaction,
        Profile,
        Order,
    ]
};

fn main() -> ExitCode {
    bench_main("soak", run)
}

struct Settings {
    backend: Backend,
    customers: u64,
    run_for: Duration,
    rate: u64,
    activate_every: Duration,
}

impl Settings {
    fn from_env() -> Result<Self> {
        Ok(Self {
            backend: Backend::parse(&env_or("RETAIN_SOAK_BACKEND", "postgres"))?,
            customers: env_number("RETAIN_SOAK_CUSTOMERS", 100_000)?,
            run_for: Duration::from_secs(env_number("RETAIN_SOAK_SECONDS", 300)?),
            rate: env_number("RETAIN_SOAK_RATE", 100)?,
            activate_every: Duration::from_secs(env_number("RETAIN_SOAK_ACTIVATE_EVERY", 60)?),
        })
    }
}

async fn run() -> Result<()> {
    let settings = Settings::from_env()?;
    let binary = gateway_binary()?;
    eprintln!("soak: using {}", binary.display());
    let database = BenchDatabase::create(settings.backend).await?;
    let result = soak(&settings, &binary, &database).await;
    if let Err(error) = database.remove().await {
        eprintln!("soak: could not remove the database: {error:#}");
    }
    result
}

async fn soak(settings: &Settings, binary: &Path, database: &BenchDatabase) -> Result<()> {
    let preparation = database.prepare(binary, settings.customers).await?;
    // A storefront backend's key for the traffic, a data team's for activations.
    let operator = client_with_key(&database.create_key(binary, "operator", "soak").await?)?;
    let strategist = client_with_key(
        &database
            .create_key(binary, "strategist", "soak-plugins")
            .await?,
    )?;
    // The per-key rate limit stays on, at its default: the soak runs as configured.
    let server = database.serve(binary, &[]).await?;
    server.wait_ready(&operator).await?;
    let url: Arc<str> = server.graphql_url().into();

    let traffic = Traffic {
        client: operator.clone(),
        url: Arc::clone(&url),
        customers: first_ids(&operator, &url, "customers", 100).await?.into(),
        products: first_ids(&operator, &url, "products", 100).await?.into(),
        reported: Arc::new(AtomicBool::new(false)),
    };
    let activations = Activations::prepare(strategist, Arc::clone(&url)).await?;

    eprintln!(
        "soak: {} requests/s for {:?} on {}, activating a plugin every {:?}",
        settings.rate,
        settings.run_for,
        settings.backend.name(),
        settings.activate_every
    );
    let started = Instant::now();
    let stats = Arc::new(Mutex::new(Stats::new(
        settings.run_for,
        warm_up(settings.activate_every),
    )));
    let activating = tokio::spawn(activations.run(
        started,
        settings.run_for,
        settings.activate_every,
        Arc::clone(&stats),
    ));
    let sampling = tokio::spawn(sample_memory(
        server.pid(),
        started,
        settings.run_for,
        Arc::clone(&stats),
    ));
    drive(&traffic, settings, started, &stats).await;
    activating.await.context("the activation task panicked")?;
    sampling.await.context("the memory sampler panicked")?;
    let runs = segmentation_runs(&traffic.client, &url).await?;
    drop(server);

    let stats = Arc::try_unwrap(stats)
        .ok()
        .context("every task has finished")?
        .into_inner()
        .expect("no task panicked holding the statistics");
    print_report(settings, &preparation, &stats, &runs);
    stats.verdict()
}

/// Sends the mix on a fixed schedule until the time is up, then waits for the
/// requests still in flight.
async fn drive(
    traffic: &Traffic,
    settings: &Settings,
    started: Instant,
    stats: &Arc<Mutex<Stats>>,
) {
    let period = Duration::from_secs_f64(1.0 / settings.rate as f64);
    let mut schedule = tokio::time::interval_at(started, period);
    // A late tick is sent at once: the schedule is the load, not the server's pace.
    schedule.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let end = started + settings.run_for;
    let mut in_flight = JoinSet::new();
    for sequence in 0usize.. {
        let due = schedule.tick().await;
        if due >= end {
            break;
        }
        let kind = MIX[sequence % MIX.len()];
        let traffic = traffic.clone();
        let stats = Arc::clone(stats);
        in_flight.spawn(async move {
            let result = traffic.send(kind, sequence).await;
            let finished = Instant::now();
            if let Err(failure) = &result
                && !traffic.reported.swap(true, Ordering::Relaxed)
            {
                eprintln!("soak: first failure ({}): {failure}", kind.label());
            }
            stats.lock().expect("statistics lock").record(
                kind,
                due - started,
                finished - due,
                result.is_ok(),
            );
        });
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
}

/// What the request tasks need; cheap to clone.
#[derive(Clone)]
struct Traffic {
    client: Client,
    url: Arc<str>,
    customers: Arc<[String]>,
    products: Arc<[String]>,
    /// Set once a failure has been printed, so the output shows one body.
    reported: Arc<AtomicBool>,
}

impl Traffic {
    async fn send(&self, kind: Kind, sequence: usize) -> Result<(), String> {
        let customer = &self.customers[sequence / MIX.len() % self.customers.len()];
        let product = &self.products[sequence % self.products.len()];
        let by_customer = |query: &str| json!({ "query": query, "variables": { "id": customer } });
        match kind {
            Kind::Profile => self.post(by_customer(PROFILE)).await.map(drop),
            Kind::Page => self.post(json!({ "query": PAGE })).await.map(drop),
            Kind::Segments => self.post(by_customer(SEGMENTS)).await.map(drop),
            Kind::History => self.post(by_customer(HISTORY)).await.map(drop),
            Kind::Interaction => {
                let input = json!({
                    "customerId": customer, "kind": "VIEW", "channel": "APP", "productId": product,
                });
                let body = json!({ "query": INTERACTION, "variables": { "input": input } });
                self.post(body).await.map(drop)
            }
            Kind::Order => {
                let second = &self.products[(sequence / 7) % self.products.len()];
                let input = json!({
                    "customerId": customer,
                    "channel": "WEB",
                    "items": [
                        { "productId": product, "quantity": 1 },
                        { "productId": second, "quantity": 2 },
                    ],
                    "idempotencyKey": format!("soak-{}-{sequence}", std::process::id()),
                });
                let body = json!({ "query": ORDER, "variables": { "input": input } });
                let first = self.post(body.clone()).await?;
                if sequence % (5 * MIX.len()) >= MIX.len() {
                    return Ok(());
                }
                let retried = self.post(body).await?;
                if first["placeOrder"]["id"] == retried["placeOrder"]["id"] {
                    Ok(())
                } else {
                    Err(format!(
                        "a retried order placed a second order: {first} then {retried}"
                    ))
                }
            }
        }
    }

    async fn post(&self, body: Value) -> Result<Value, String> {
        graphql_data(&self.client, &self.url, &body).await
    }
}

/// Alternates two kinds of activation, as a data team would during the day: swapping
/// the home-page recommender (served at once, no background work) and re-activating
/// the tier segmenter with another config (which re-segments every customer in the
/// background while the traffic goes on).
struct Activations {
    client: Client,
    url: Arc<str>,
    recommenders: Vec<String>,
    tiers: String,
}

impl Activations {
    async fn prepare(client: Client, url: Arc<str>) -> Result<Self> {
        let data = query_data(
            &client,
            &url,
            "{ plugins(kind: RECOMMENDER) { reference } slot(name: \"tier\") { plugin { reference } } }",
        )
        .await?;
        let recommenders: Vec<String> = data["plugins"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|plugin| plugin["reference"].as_str().map(str::to_owned))
            .collect();
        ensure!(
            recommenders.len() >= 2,
            "two recommenders are needed to swap between, found {recommenders:?}"
        );
        let tiers = data["slot"]["plugin"]["reference"]
            .as_str()
            .context("the tier slot is bound")?
            .to_owned();
        Ok(Self {
            client,
            url,
            recommenders,
            tiers,
        })
    }

    async fn run(
        self,
        started: Instant,
        run_for: Duration,
        every: Duration,
        stats: Arc<Mutex<Stats>>,
    ) {
        let mut round = 0usize;
        loop {
            let due = started + every / 2 + every * round as u32;
            if due >= started + run_for {
                return;
            }
            tokio::time::sleep_until(due).await;
            let (what, mutation) = self.activation(round);
            let sent = Instant::now();
            let result = graphql_request(
                &self.client,
                &self.url,
                json!({ "query": mutation }).to_string(),
            )
            .await;
            let took = sent.elapsed();
            if let Err(failure) = &result {
                eprintln!("soak: activation {what} failed: {failure}");
            }
            stats
                .lock()
                .expect("statistics lock")
                .activations
                .push(Activation {
                    at: sent - started,
                    what,
                    took,
                    ok: result.is_ok(),
                });
            round += 1;
        }
    }

    fn activation(&self, round: usize) -> (String, String) {
        if round.is_multiple_of(2) {
            let plugin = &self.recommenders[(round / 2 + 1) % self.recommenders.len()];
            (
                format!("recs.home → {plugin}"),
                format!(
                    "mutation {{ activatePlugin(slot: \"recs.home\", plugin: \"{plugin}\") {{ name }} }}"
                ),
            )
        } else {
            // Alternates the dormancy threshold, so every run really moves customers.
            let days = if round % 4 == 1 { 150 } else { 180 };
            (
                format!(
                    "tier → {} with dormant_after_days {days}, re-segmenting",
                    self.tiers
                ),
                format!(
                    "mutation {{ activatePlugin(slot: \"tier\", plugin: \"{}\", \
                     config: {{ dormant_after_days: {days} }}) {{ name }} }}",
                    self.tiers
                ),
            )
        }
    }
}

/// Re-segmentation runs of the tier slot the activations started (newest first).
async fn segmentation_runs(client: &Client, url: &str) -> Result<Vec<Value>> {
    let data = query_data(
        client,
        url,
        "{ slot(name: \"tier\") { runs(first: 20) { status customers changed startedAt finishedAt error } } }",
    )
    .await?;
    Ok(data["slot"]["runs"].as_array().cloned().unwrap_or_default())
}

/// Samples the server's resident set every second into the window it falls in.
async fn sample_memory(pid: u32, started: Instant, run_for: Duration, stats: Arc<Mutex<Stats>>) {
    let mut ticks =
        tokio::time::interval_at(started + Duration::from_secs(1), Duration::from_secs(1));
    loop {
        let now = ticks.tick().await;
        if now >= started + run_for {
            return;
        }
        match resident_bytes(pid) {
            Ok(bytes) => stats
                .lock()
                .expect("statistics lock")
                .memory(now - started, bytes),
            Err(error) => {
                eprintln!("soak: cannot read the server's memory: {error:#}");
                return;
            }
        }
    }
}

/// One window of the run.
struct Window {
    requests: u64,
    failures: u64,
    latency: Histogram<u64>,
    /// The last resident-set sample taken in the window.
    resident_bytes: Option<u64>,
}

struct PerKind {
    requests: u64,
    failures: u64,
    latency: Histogram<u64>,
}

struct Activation {
    at: Duration,
    what: String,
    took: Duration,
    ok: bool,
}

struct Stats {
    windows: Vec<Window>,
    warm_up: Duration,
    kinds: Vec<(Kind, PerKind)>,
    total: Histogram<u64>,
    activations: Vec<Activation>,
}

impl Stats {
    fn new(run_for: Duration, warm_up: Duration) -> Self {
        let count = run_for.as_secs().div_ceil(WINDOW.as_secs()).max(1) as usize;
        Self {
            warm_up,
            windows: (0..count)
                .map(|_| Window {
                    requests: 0,
                    failures: 0,
                    latency: latency_histogram(),
                    resident_bytes: None,
                })
                .collect(),
            kinds: Kind::ALL
                .iter()
                .map(|&kind| {
                    (
                        kind,
                        PerKind {
                            requests: 0,
                            failures: 0,
                            latency: latency_histogram(),
                        },
                    )
                })
                .collect(),
            total: latency_histogram(),
            activations: Vec::new(),
        }
    }

    fn window(&mut self, at: Duration) -> &mut Window {
        let index = (at.as_secs() / WINDOW.as_secs()) as usize;
        let last = self.windows.len() - 1;
        &mut self.windows[index.min(last)]
    }

    /// A request due `due` into the run that took `latency` from then.
    fn record(&mut self, kind: Kind, due: Duration, latency: Duration, ok: bool) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let (_, per_kind) = self
            .kinds
            .iter_mut()
            .find(|(candidate, _)| *candidate == kind)
            .expect("every kind has statistics");
        per_kind.requests += 1;
        if ok {
            per_kind.latency.saturating_record(micros);
            self.total.saturating_record(micros);
        } else {
            per_kind.failures += 1;
        }
        let window = self.window(due);
        window.requests += 1;
        if ok {
            window.latency.saturating_record(micros);
        } else {
            window.failures += 1;
        }
    }

    fn memory(&mut self, at: Duration, bytes: u64) {
        self.window(at).resident_bytes = Some(bytes);
    }

    fn requests(&self) -> u64 {
        self.windows.iter().map(|window| window.requests).sum()
    }

    fn failures(&self) -> u64 {
        self.windows
            .iter()
            .map(|window| window.failures)
            .sum::<u64>()
            + self
                .activations
                .iter()
                .filter(|activation| !activation.ok)
                .count() as u64
    }

    /// Resident set at the end of the warm-up and at the end of the run; none
    /// when the run ends within the warm-up.
    fn memory_span(&self) -> Option<(u64, u64)> {
        let settled = self.warm_up.as_secs().div_ceil(WINDOW.as_secs()) as usize;
        if settled >= self.windows.len() {
            return None;
        }
        let at_settled = self
            .windows
            .get(settled.saturating_sub(1))?
            .resident_bytes?;
        let at_end = self
            .windows
            .iter()
            .rev()
            .find_map(|window| window.resident_bytes)?;
        Some((at_settled, at_end))
    }

    fn verdict(&self) -> Result<()> {
        let failures = self.failures();
        ensure!(failures == 0, "{failures} requests or activations failed");
        let Some((settled, end)) = self.memory_span() else {
            bail!(
                "too few memory samples to judge memory; run for longer than the {} s warm-up",
                self.warm_up.as_secs()
            );
        };
        let growth = end as f64 / settled as f64 - 1.0;
        ensure!(
            growth <= MEMORY_GROWTH_ALLOWED,
            "memory grew {:.0} % after the {} s warm-up ({} → {})",
            growth * 100.0,
            self.warm_up.as_secs(),
            mebibytes(settled),
            mebibytes(end)
        );
        Ok(())
    }
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn print_report(settings: &Settings, preparation: &Preparation, stats: &Stats, runs: &[Value]) {
    let seconds = settings.run_for.as_secs_f64();
    println!();
    println!(
        "### Soak — {}, {} customers, {} requests/s offered for {} s",
        settings.backend.name(),
        settings.customers,
        settings.rate,
        settings.run_for.as_secs()
    );
    println!();
    println!(
        "Seeding {:.1} s; publishing the bundled plugins and segmenting four slots {:.1} s.",
        preparation.seeding.as_secs_f64(),
        preparation.segmenting.as_secs_f64()
    );
    println!();
    println!(
        "Overall: {} requests, {:.1} req/s, p50 {} ms, p99 {} ms, max {} ms, {} failures.",
        stats.requests(),
        stats.requests() as f64 / seconds,
        quantile_ms(&stats.total, 0.50),
        quantile_ms(&stats.total, 0.99),
        quantile_ms(&stats.total, 1.0),
        stats.failures()
    );
    println!();
    println!("| request | share | requests | p50 ms | p99 ms | max ms | failures |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (kind, per_kind) in &stats.kinds {
        let share = MIX.iter().filter(|&&slot| slot == *kind).count() * 100 / MIX.len();
        println!(
            "| {} | {share} % | {} | {} | {} | {} | {} |",
            kind.label(),
            per_kind.requests,
            quantile_ms(&per_kind.latency, 0.50),
            quantile_ms(&per_kind.latency, 0.99),
            quantile_ms(&per_kind.latency, 1.0),
            per_kind.failures
        );
    }
    println!();
    println!("| window | req/s | p50 ms | p99 ms | failures | server RSS |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (index, window) in stats.windows.iter().enumerate() {
        let from = index as u64 * WINDOW.as_secs();
        println!(
            "| {from}–{} s | {:.1} | {} | {} | {} | {} |",
            from + WINDOW.as_secs(),
            window.requests as f64 / WINDOW.as_secs_f64(),
            quantile_ms(&window.latency, 0.50),
            quantile_ms(&window.latency, 0.99),
            window.failures,
            window.resident_bytes.map_or("-".to_owned(), mebibytes)
        );
    }
    println!();
    println!("| activation at | what | answered in | ok |");
    println!("|---:|---|---:|---|");
    for activation in &stats.activations {
        println!(
            "| {:.0} s | {} | {:.0} ms | {} |",
            activation.at.as_secs_f64(),
            activation.what,
            activation.took.as_secs_f64() * 1000.0,
            if activation.ok { "yes" } else { "no" }
        );
    }
    println!();
    println!("Background re-segmentations of `tier` (newest first):");
    println!();
    println!("| status | customers | changed | started | finished |");
    println!("|---|---:|---:|---|---|");
    for run in runs {
        println!(
            "| {} | {} | {} | {} | {} |",
            run["status"].as_str().unwrap_or("?"),
            run["customers"],
            run["changed"],
            run["startedAt"].as_str().unwrap_or("?"),
            run["finishedAt"].as_str().unwrap_or("-"),
        );
    }
    println!();
    if let Some((settled, end)) = stats.memory_span() {
        println!(
            "Server memory: {} after the {} s warm-up, {} at the end.",
            mebibytes(settled),
            stats.warm_up.as_secs(),
            mebibytes(end)
        );
        println!();
    }
}
