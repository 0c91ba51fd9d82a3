//! What the load benchmarks (`benches/`) share: the real release binary run as a child process on
//! a throwaway database, driven over real HTTP on loopback.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use hdrhistogram::Histogram;
use reqwest::{Client, StatusCode, Url};
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::{Backend, postgres_admin_url};

/// Startup runs migrations, which take a while on a cold PostgreSQL.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
/// Bounds every request so a hung server cannot hang the benchmark.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Enough of a failing response body to see the error without flooding the output.
const FAILURE_BODY_CHARS: usize = 1_000;
/// Startup output kept to explain a server that never started listening.
const STARTUP_LINES_KEPT: usize = 50;

pub fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// The `main` of a load benchmark named `name`: skipped unless cargo runs it as
/// one (`cargo test --benches` runs bench targets without `--bench`, and a run of
/// minutes must not hide inside a test suite), else `run` on a multi-threaded
/// runtime, its error reported.
pub fn bench_main<F: std::future::Future<Output = Result<()>>>(
    name: &str,
    run: impl FnOnce() -> F,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("{name}: skipped; run it with `cargo bench -p retain-tests --bench {name}`");
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{name}: building the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{name}: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A whole number from the environment, positive.
pub fn env_number(name: &str, default: u64) -> Result<u64> {
    let value: u64 = env_or(name, &default.to_string())
        .parse()
        .with_context(|| format!("{name} must be a whole number"))?;
    ensure!(value > 0, "{name} must be positive");
    Ok(value)
}

/// The release gateway binary: `RETAIN_BIN`, or the workspace's release build, built
/// on demand so a fresh checkout can run a benchmark in one command.
pub fn gateway_binary() -> Result<PathBuf> {
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
        eprintln!("{} is missing, building it", binary.display());
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

/// The database one run works on, and the working directory of its server (keeps
/// `retain.toml` and `retain-data/` of the checkout out of the run).
pub struct BenchDatabase {
    pub workdir: tempfile::TempDir,
    pub url: String,
    /// Absent for SQLite, whose file lives in `workdir`.
    postgres: Option<PostgresDatabase>,
}

impl BenchDatabase {
    pub async fn create(backend: Backend) -> Result<Self> {
        let workdir = tempfile::tempdir().context("creating a temporary directory")?;
        let (url, postgres) = match backend {
            Backend::Sqlite => (
                format!(
                    "sqlite://{}?mode=rwc",
                    workdir.path().join("retain.db").display()
                ),
                None,
            ),
            Backend::Postgres => {
                let database = PostgresDatabase::create(&postgres_admin_url())
                    .await
                    .context("creating the PostgreSQL database")?;
                (database.url.clone(), Some(database))
            }
        };
        Ok(Self {
            workdir,
            url,
            postgres,
        })
    }

    /// Drops the PostgreSQL database; the working directory goes with `self`.
    pub async fn remove(self) -> Result<()> {
        match self.postgres {
            Some(database) => database.remove().await,
            None => Ok(()),
        }
    }

    /// Runs a `retain` command (seeding, installing plugins) to completion and returns
    /// how long it took. Its output goes to stderr, so stdout holds only the report.
    async fn run_cli(&self, binary: &Path, args: &[&str]) -> Result<Duration> {
        let mut command = self.command(binary, args);
        command.stdout(std::io::stderr());
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

    /// Seeds `customers` synthetic customers (`retain seed`, fixed seed) and installs
    /// the bundled plugins, which segments every customer; returns both durations.
    pub async fn prepare(&self, binary: &Path, customers: u64) -> Result<Preparation> {
        eprintln!("seeding {customers} customers");
        let customers = customers.to_string();
        let seeding = self
            .run_cli(binary, &["seed", "--customers", &customers, "--seed", "7"])
            .await?;
        eprintln!("seeded in {seeding:.1?}; installing the bundled plugins");
        let segmenting = self.run_cli(binary, &["plugin", "install-bundled"]).await?;
        eprintln!("bundled plugins installed and four slots segmented in {segmenting:.1?}");
        Ok(Preparation {
            seeding,
            segmenting,
        })
    }

    /// Creates an API key with `role` (`retain keys create`) and returns it: the last
    /// line of the command's output.
    pub async fn create_key(&self, binary: &Path, role: &str, name: &str) -> Result<String> {
        let mut command = self.command(binary, &["keys", "create", "--role", role, "--name", name]);
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

    fn command(&self, binary: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(binary);
        command
            .args(args)
            .env("DATABASE_URL", &self.url)
            .current_dir(self.workdir.path())
            .stdin(Stdio::null());
        command
    }

    /// Starts `retain serve` on a free port with extra environment (settings).
    pub async fn serve(&self, binary: &Path, env: &[(&str, &str)]) -> Result<Server> {
        let mut command = self.command(binary, &["serve", "--bind", "127.0.0.1:0"]);
        command.envs(env.iter().copied()).stdout(Stdio::piped());
        Server::start(command).await
    }
}

/// How long preparing a benchmark database took.
pub struct Preparation {
    pub seeding: Duration,
    /// Publishing the bundled plugins and segmenting four slots.
    pub segmenting: Duration,
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

/// A running `retain serve`; dropping it kills the process.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    async fn start(mut command: Command) -> Result<Self> {
        let mut child = command.spawn().context("starting retain serve")?;
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

    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.base)
    }

    /// Waits until `/readyz` answers 200: listening comes before migrations and pools.
    pub async fn wait_ready(&self, client: &Client) -> Result<()> {
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
    pub async fn sql_statements(&self, client: &Client) -> Result<u64> {
        let url = format!("{}/metrics", self.base);
        let response = client.get(&url).send().await?.error_for_status()?;
        let text = response.text().await?;
        crate::sql_statements_in(&text)
            .with_context(|| format!("{url} has no readable retain_sql_statements_total line"))
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// A process's resident set size in bytes, from `/proc` (Linux).
pub fn resident_bytes(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .with_context(|| format!("{path} has no VmRSS line"))?;
    Ok(kib * 1024)
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

/// An HTTP client that sends `key` with every request.
pub fn client_with_key(key: &str) -> Result<Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {key}")
            .parse()
            .context("the key is a header value")?,
    );
    Client::builder()
        .default_headers(headers)
        // Loopback only: a proxy from the environment must never see this traffic.
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .context("building the HTTP client")
}

/// Only what decides success is deserialised; the rest of the body is skipped.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    errors: Option<Vec<IgnoredAny>>,
}

/// POSTs one GraphQL request; a non-200 status, an `errors` array or a body that is not
/// JSON is a failure, described with the body so the cause is visible.
pub async fn graphql_request(client: &Client, url: &str, body: String) -> Result<String, String> {
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

/// POSTs a GraphQL request body and returns its `data`, or the failure.
pub async fn graphql_data(
    client: &Client,
    url: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Value, String> {
    let text = graphql_request(client, url, body.to_string()).await?;
    let mut reply: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| format!("reading the reply: {error}"))?;
    Ok(reply["data"].take())
}

/// Runs `query` (no variables) and returns its `data`.
pub async fn query_data(client: &Client, url: &str, query: &str) -> Result<serde_json::Value> {
    graphql_data(client, url, &serde_json::json!({ "query": query }))
        .await
        .map_err(|failure| anyhow::anyhow!("{query}: {failure}"))
}

/// The ids of the first `count` (at most 100) nodes of a root connection such as
/// `customers` or `products`.
pub async fn first_ids(
    client: &Client,
    url: &str,
    connection: &str,
    count: u32,
) -> Result<Vec<String>> {
    let query = format!("{{ {connection}(first: {count}) {{ edges {{ node {{ id }} }} }} }}");
    let data = query_data(client, url, &query).await?;
    let ids: Vec<String> = data[connection]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|edge| edge["node"]["id"].as_str().map(str::to_owned))
        .collect();
    ensure!(!ids.is_empty(), "the seeded database has no {connection}");
    Ok(ids)
}

fn shorten(text: &str) -> &str {
    text.char_indices()
        .nth(FAILURE_BODY_CHARS)
        .map_or(text, |(end, _)| &text[..end])
}

/// Microseconds from 1 µs to the request timeout, 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    let high = u64::try_from(REQUEST_TIMEOUT.as_micros()).unwrap_or(u64::MAX);
    Histogram::new_with_bounds(1, high, 3).expect("valid histogram bounds")
}

/// A latency quantile in milliseconds, or `-` when nothing was recorded.
pub fn quantile_ms(latency: &Histogram<u64>, quantile: f64) -> String {
    if latency.is_empty() {
        "-".to_owned()
    } else {
        format!("{:.2}", latency.value_at_quantile(quantile) as f64 / 1000.0)
    }
}
