//! Load benchmark for the GraphQL API: the real release binary, a seeded database and
//! real HTTP over loopback, so the numbers include everything a client would pay for.
//!
//! For each backend it seeds a fresh database with `retain seed`, installs the
//! bundled plugins (`retain plugin install-bundled`, which segments every customer),
//! starts `retain serve` on a free port, drives four query shapes at concurrency 1
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

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use hdrhistogram::Histogram;
use reqwest::{Client, StatusCode, Url};
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection};
use serde::Deserialize;
use serde::de::IgnoredAny;

/// Long enough for connection pools, caches and the allocator to settle before measuring.
const WARM_UP: Duration = Duration::from_secs(2);
/// One client shows per-request latency; 32 show how the gateway and pool scale.
const CONCURRENCY: [usize; 2] = [1, 32];
/// Startup runs migrations, which take a while on a cold PostgreSQL.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
/// Bounds every request so a hung server cannot hang the benchmark.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Enough of a failing response body to see the error without flooding the output.
const FAILURE_BODY_CHARS: usize = 1_000;
/// Startup output kept to explain a server that never started listening.
const STARTUP_LINES_KEPT: usize = 50;

const CUSTOMER_IDS: &str = "{ customers(first: 100) { edges { node { id } } } }";
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

fn main() -> ExitCode {
    // `cargo test --benches` (and `--all-targets`) runs bench targets without `--bench`;
    // a minutes-long load run must not hide inside a test suite.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("api_load: skipped; run it with `cargo bench -p retain-tests --bench api_load`");
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("api_load: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let settings = Settings::from_env()?;
    let binary = gateway_binary()?;
    eprintln!("api_load: using {}", binary.display());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    // One backend failing (say, no PostgreSQL running) should not hide the others' numbers.
    let mut failed = Vec::new();
    for &backend in &settings.backends {
        if let Err(error) = runtime.block_on(bench_backend(backend, &binary, &settings)) {
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
    postgres_url: String,
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
        let customers = env_or("RETAIN_BENCH_CUSTOMERS", "100000")
            .parse()
            .context("RETAIN_BENCH_CUSTOMERS must be a whole number")?;
        ensure!(customers > 0, "RETAIN_BENCH_CUSTOMERS must be positive");
        let seconds: u64 = env_or("RETAIN_BENCH_SECONDS", "10")
            .parse()
            .context("RETAIN_BENCH_SECONDS must be a whole number")?;
        ensure!(seconds > 0, "RETAIN_BENCH_SECONDS must be positive");
        Ok(Self {
            backends,
            customers,
            run_for: Duration::from_secs(seconds),
            postgres_url: env_or(
                "RETAIN_TEST_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/test",
            ),
        })
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            other => bail!("unknown backend {other:?} in RETAIN_BENCH_BACKENDS"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// The release gateway binary: `RETAIN_BIN`, or the workspace's release build, built
/// on demand so a fresh checkout can run the benchmark in one command.
fn gateway_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("RETAIN_BIN") {
        let path = PathBuf::from(path);
        ensure!(
            path.is_file(),
            "RETAIN_BIN={} does not exist",
            path.display()
        );
        return Ok(path);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the tests crate sits inside the workspace")?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), PathBuf::from);
    let binary = target.join("release").join("retain");
    if !binary.is_file() {
        eprintln!("api_load: {} is missing, building it", binary.display());
        // Cargo tells the programs it runs where it lives; fall back to PATH.
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "-p",
                "retain-gateway",
                "--bin",
                "retain",
            ])
            .current_dir(workspace)
            .status()
            .context("running cargo build")?;
        ensure!(status.success(), "cargo build --release failed: {status}");
        ensure!(
            binary.is_file(),
            "cargo build did not produce {}",
            binary.display()
        );
    }
    Ok(binary)
}

/// Seeds, serves and measures one backend, and always cleans its database up.
async fn bench_backend(backend: Backend, binary: &Path, settings: &Settings) -> Result<()> {
    // The server's working directory: keeps `retain.toml` and `retain-data/` of the
    // checkout out of the run, and holds the SQLite file.
    let workdir = tempfile::tempdir().context("creating a temporary directory")?;
    let database = match backend {
        Backend::Sqlite => BenchDatabase::Sqlite(format!(
            "sqlite://{}?mode=rwc",
            workdir.path().join("retain.db").display()
        )),
        Backend::Postgres => BenchDatabase::Postgres(
            PostgresDatabase::create(&settings.postgres_url)
                .await
                .context("creating the PostgreSQL database")?,
        ),
    };
    let result = measure(backend, binary, settings, workdir.path(), database.url()).await;
    if let Err(error) = database.remove().await {
        eprintln!(
            "api_load: could not remove the {} database: {error:#}",
            backend.name()
        );
    }
    result
}

enum BenchDatabase {
    /// Lives in the temporary working directory, which removes it.
    Sqlite(String),
    Postgres(PostgresDatabase),
}

impl BenchDatabase {
    fn url(&self) -> &str {
        match self {
            Self::Sqlite(url) => url,
            Self::Postgres(database) => &database.url,
        }
    }

    async fn remove(self) -> Result<()> {
        match self {
            Self::Sqlite(_) => Ok(()),
            Self::Postgres(database) => database.remove().await,
        }
    }
}

/// A throwaway database on the PostgreSQL server, so runs never see each other's rows.
struct PostgresDatabase {
    admin: DatabaseConnection,
    name: String,
    url: String,
}

impl PostgresDatabase {
    async fn create(admin_url: &str) -> Result<Self> {
        let mut options = ConnectOptions::new(admin_url);
        options
            .max_connections(1)
            .connect_timeout(Duration::from_secs(10))
            .sqlx_logging(false);
        let admin = sea_orm::Database::connect(options)
            .await
            .with_context(|| format!("connecting to {admin_url}"))?;
        // The process id keeps concurrent runs apart; a leftover from a crashed run with
        // a recycled id is dropped first.
        let name = format!("retain_bench_{}", std::process::id());
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        let mut url = Url::parse(admin_url).context("RETAIN_TEST_POSTGRES_URL is not a URL")?;
        url.set_path(&name);
        Ok(Self {
            admin,
            name,
            url: url.into(),
        })
    }

    async fn remove(self) -> Result<()> {
        // FORCE ends any connection the killed server's pool may have left behind.
        self.admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await?;
        self.admin.close().await?;
        Ok(())
    }
}

async fn measure(
    backend: Backend,
    binary: &Path,
    settings: &Settings,
    workdir: &Path,
    database_url: &str,
) -> Result<()> {
    eprintln!(
        "api_load: {}: seeding {} customers",
        backend.name(),
        settings.customers
    );
    let customers = settings.customers.to_string();
    let seed_args = ["seed", "--customers", customers.as_str(), "--seed", "7"];
    let seeding = run_cli(binary, workdir, database_url, &seed_args).await?;
    eprintln!("api_load: {}: seeded in {seeding:.1?}", backend.name());
    let install = ["plugin", "install-bundled"];
    let segmenting = run_cli(binary, workdir, database_url, &install).await?;
    eprintln!(
        "api_load: {}: bundled plugins installed and four slots segmented in {segmenting:.1?}",
        backend.name()
    );

    let key = create_key(binary, workdir, database_url).await?;
    let server = Server::start(binary, workdir, database_url).await?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {key}")
            .parse()
            .context("the key is a header value")?,
    );
    let client = Client::builder()
        .default_headers(headers)
        // Loopback only: a proxy from the environment must never see this traffic.
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .context("building the HTTP client")?;
    server.wait_ready(&client).await?;

    let graphql: Arc<str> = format!("{}/graphql", server.base).into();
    let shapes = [
        Shape {
            name: "Q1 customer by id with profile",
            bodies: customer_by_id_bodies(&client, &graphql, Q1, "Q1").await?,
        },
        Shape::fixed("Q2 customers page of 100", Q2),
        Shape::fixed("Q3 50 customers → 10 orders → items", Q3),
        Shape {
            name: "Q4 customer segments + 5 recommendations",
            bodies: customer_by_id_bodies(&client, &graphql, Q4, "Q4").await?,
        },
    ];

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
    print_report(backend, settings.customers, seeding, segmenting, &rows);
    Ok(())
}

/// Runs a `retain` command (seeding, installing plugins) to completion and returns
/// how long it took.
async fn run_cli(
    binary: &Path,
    workdir: &Path,
    database_url: &str,
    args: &[&str],
) -> Result<Duration> {
    let mut command = Command::new(binary);
    command
        .args(args)
        .env("DATABASE_URL", database_url)
        .current_dir(workdir)
        .stdin(Stdio::null())
        // Progress goes to stderr so stdout holds only the Markdown report.
        .stdout(std::io::stderr());
    let started = Instant::now();
    // Seeding 100 000 customers takes a while; keep it off the async workers.
    let status = tokio::task::spawn_blocking(move || command.status())
        .await?
        .with_context(|| format!("running retain {}", args.join(" ")))?;
    let elapsed = started.elapsed();
    ensure!(
        status.success(),
        "retain {} failed: {status}",
        args.join(" ")
    );
    Ok(elapsed)
}

/// Creates the viewer key the load generator sends (`retain keys create`) and
/// returns it: the last line of the command's output.
async fn create_key(binary: &Path, workdir: &Path, database_url: &str) -> Result<String> {
    let mut command = Command::new(binary);
    command
        .args(["keys", "create", "--role", "viewer", "--name", "api-load"])
        .env("DATABASE_URL", database_url)
        .current_dir(workdir)
        .stdin(Stdio::null());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await?
        .context("running retain keys create")?;
    ensure!(
        output.status.success(),
        "retain keys create failed: {}",
        output.status
    );
    let stdout = String::from_utf8(output.stdout).context("the key is UTF-8")?;
    stdout
        .lines()
        .last()
        .map(str::to_owned)
        .context("retain keys create printed no key")
}

/// A running `retain serve`; dropping it kills the process.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(binary: &Path, workdir: &Path, database_url: &str) -> Result<Self> {
        let mut child = Command::new(binary)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("DATABASE_URL", database_url)
            // The generator's one key would exhaust any per-key limit: this
            // measures the gateway, not the limiter.
            .env("RETAIN_LIMITS__RATE_PER_SECOND", "0")
            .current_dir(workdir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting retain serve")?;
        let stdout = child.stdout.take().context("stdout is piped")?;
        // From here on `server` owns the child, so an early return still kills it.
        let mut server = Self {
            child,
            base: String::new(),
        };
        let (sender, receiver) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || read_stdout(stdout, sender));
        let port = match tokio::time::timeout(STARTUP_TIMEOUT, receiver).await {
            Err(_) => bail!("retain serve printed no `listening on` line in {STARTUP_TIMEOUT:?}"),
            Ok(Err(_)) => bail!("the stdout reader thread ended unexpectedly"),
            Ok(Ok(Err(startup))) => {
                bail!("retain serve exited before listening; its output:\n{startup}")
            }
            Ok(Ok(Ok(port))) => port,
        };
        server.base = format!("http://127.0.0.1:{port}");
        Ok(server)
    }

    /// Waits until `/readyz` answers 200: listening comes before migrations and pools.
    async fn wait_ready(&self, client: &Client) -> Result<()> {
        let url = format!("{}/readyz", self.base);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            match client.get(&url).send().await {
                Ok(response) if response.status() == StatusCode::OK => return Ok(()),
                Ok(response) => last = format!("status {}", response.status()),
                Err(error) => last = error.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("{url} not ready after {STARTUP_TIMEOUT:?} ({last})")
    }

    /// The `retain_sql_statements_total` counter from the Prometheus endpoint.
    async fn sql_statements(&self, client: &Client) -> Result<u64> {
        let url = format!("{}/metrics", self.base);
        let response = client.get(&url).send().await?.error_for_status()?;
        let text = response.text().await?;
        let value = text
            .lines()
            .find_map(|line| line.strip_prefix("retain_sql_statements_total "))
            .and_then(|rest| rest.split_whitespace().next())
            .with_context(|| format!("{url} has no retain_sql_statements_total line"))?;
        // Exposition formats may print counters as floats (`12.0`, `1.2e3`).
        let value: f64 = value
            .parse()
            .with_context(|| format!("retain_sql_statements_total {value:?} is not a number"))?;
        Ok(value as u64)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Killing is enough: the database is thrown away right after.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the server's stdout: reports the port from the first `listening on ` line (or
/// the startup output when the server exits first), then drains the rest so the server
/// never blocks on a full pipe. Ends when the server exits and closes the pipe.
fn read_stdout(
    stdout: std::process::ChildStdout,
    sender: tokio::sync::oneshot::Sender<Result<u16, String>>,
) {
    let mut sender = Some(sender);
    let mut startup = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let Some(waiting) = sender.take() else {
            continue;
        };
        match line
            .split_once("listening on ")
            .map(|(_, rest)| parse_port(rest))
        {
            Some(Some(port)) => {
                let _ = waiting.send(Ok(port));
            }
            Some(None) => {
                let _ = waiting.send(Err(format!("cannot read a port from {line:?}")));
            }
            None => {
                if startup.len() < STARTUP_LINES_KEPT {
                    startup.push(line);
                }
                sender = Some(waiting);
            }
        }
    }
    if let Some(waiting) = sender {
        let _ = waiting.send(Err(startup.join("\n")));
    }
}

/// The port of `http://127.0.0.1:PORT…` at the start of `text`.
fn parse_port(text: &str) -> Option<u16> {
    let address = text.split_whitespace().next()?;
    Url::parse(address).ok()?.port()
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
            bodies: Arc::new([serde_json::json!({ "query": query }).to_string()]),
        }
    }
}

/// Bodies of a per-customer query, one per customer of the first page, so requests
/// do not all hit one row.
async fn customer_by_id_bodies(
    client: &Client,
    url: &str,
    query: &str,
    operation: &str,
) -> Result<Arc<[String]>> {
    #[derive(Deserialize)]
    struct Page {
        data: Data,
    }
    #[derive(Deserialize)]
    struct Data {
        customers: Connection,
    }
    #[derive(Deserialize)]
    struct Connection {
        edges: Vec<Edge>,
    }
    #[derive(Deserialize)]
    struct Edge {
        node: Node,
    }
    #[derive(Deserialize)]
    struct Node {
        id: String,
    }

    let body = serde_json::json!({ "query": CUSTOMER_IDS }).to_string();
    let text = graphql_request(client, url, body)
        .await
        .map_err(|failure| anyhow::anyhow!("fetching customer ids: {failure}"))?;
    let page: Page = serde_json::from_str(&text).context("reading customer ids")?;
    let bodies: Vec<String> = page
        .data
        .customers
        .edges
        .into_iter()
        .map(|edge| {
            serde_json::json!({
                "query": query,
                "operationName": operation,
                "variables": { "id": edge.node.id },
            })
            .to_string()
        })
        .collect();
    ensure!(!bodies.is_empty(), "the seeded database has no customers");
    Ok(bodies.into())
}

/// Only what decides success is deserialised; the rest of the body is skipped.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    errors: Option<Vec<IgnoredAny>>,
}

/// POSTs one GraphQL request; a non-200 status, an `errors` array or a body that is not
/// JSON is a failure, described with the body so the cause is visible.
async fn graphql_request(client: &Client, url: &str, body: String) -> Result<String, String> {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/graphql-response+json")
        .body(body)
        .send()
        .await
        .map_err(|error| format!("request failed: {error}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|error| format!("status {status}, body unreadable: {error}"))?;
    let failure = |why: &str| format!("{why}; status {status}, body: {}", shorten(&text));
    if status != StatusCode::OK {
        return Err(failure("status is not 200"));
    }
    match serde_json::from_str::<Envelope>(&text) {
        Ok(Envelope { errors: None }) => Ok(text),
        Ok(Envelope { errors: Some(_) }) => Err(failure("response has errors")),
        Err(error) => Err(failure(&format!("body is not GraphQL JSON ({error})"))),
    }
}

fn shorten(text: &str) -> &str {
    text.char_indices()
        .nth(FAILURE_BODY_CHARS)
        .map_or(text, |(end, _)| &text[..end])
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

/// Microseconds from 1 µs to the request timeout, 3 significant digits.
fn latency_histogram() -> Histogram<u64> {
    let high = u64::try_from(REQUEST_TIMEOUT.as_micros()).unwrap_or(u64::MAX);
    Histogram::new_with_bounds(1, high, 3).expect("valid histogram bounds")
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

fn print_report(
    backend: Backend,
    customers: u64,
    seeding: Duration,
    segmenting: Duration,
    rows: &[Row],
) {
    println!();
    println!("### {} — {customers} customers", backend.name());
    println!();
    println!("Seeding: {:.1} s", seeding.as_secs_f64());
    println!(
        "Publishing the bundled plugins and segmenting four slots: {:.1} s",
        segmenting.as_secs_f64()
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
        let percentile = |quantile: f64| {
            if outcome.latency.is_empty() {
                "-".to_owned()
            } else {
                format!(
                    "{:.2}",
                    outcome.latency.value_at_quantile(quantile) as f64 / 1000.0
                )
            }
        };
        let statements = if requests == 0 {
            "-".to_owned()
        } else {
            format!("{:.2}", row.sql_statements as f64 / requests as f64)
        };
        println!(
            "| {} | {} | {requests} | {rate:.1} | {} | {} | {statements} | {} |",
            row.query,
            row.concurrency,
            percentile(0.50),
            percentile(0.99),
            outcome.failures,
        );
    }
    println!();
}
