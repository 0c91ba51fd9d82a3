//! A small harness for end-to-end tests: the real gateway on port 0, with a fresh
//! database (a new SQLite file or a new PostgreSQL database), over real HTTP.

use std::sync::atomic::{AtomicU32, Ordering};

use retain_gateway::app::Application;
use retain_gateway::auth::Principal;
use retain_gateway::config::Settings;
use retain_gateway::services::api_keys;
use retain_schema::Role;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub mod load;
pub mod shop;
pub mod webhook;

/// Test plugins, built from `tests/guests/` by the build script.
pub mod guests {
    macro_rules! guest {
        ($package:literal) => {
            include_bytes!(concat!(env!("OUT_DIR"), "/", $package, ".wasm"))
        };
    }

    /// Misbehaves (config `misbehave`: loop, memory, trap) on customers tagged
    /// `hostile`.
    pub const HOSTILE: &[u8] = guest!("retain-guest-hostile");
    /// Returns oversized, out-of-range answers for customers tagged `hostile`.
    pub const BAD_OUTPUT: &[u8] = guest!("retain-guest-bad-output");
    /// A valid component of a world that is not Retain's.
    pub const OTHER_WORLD: &[u8] = guest!("retain-guest-other-world");
    /// A segmenter that also imports `fetch`, beyond the contract.
    pub const GREEDY: &[u8] = guest!("retain-guest-greedy");
    /// Segments `big` / `small` by lifetime spend.
    pub const BIG_SPENDERS: &[u8] = guest!("retain-guest-big-spenders");
}

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `sqlite`, `postgres` or `postgresql`, in any case.
    pub fn parse(name: &str) -> anyhow::Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            other => anyhow::bail!("unknown backend {other:?}"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("RETAIN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn postgres_url_for(database: &str) -> String {
    let admin = postgres_admin_url();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{database}")
}

/// A database that exists for one test and is dropped after it.
struct Scratch {
    url: String,
    postgres_name: Option<String>,
    _dir: tempfile::TempDir,
}

impl Scratch {
    async fn create(backend: Backend) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => Self {
                url: format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("retain.db").display()
                ),
                postgres_name: None,
                _dir: dir,
            },
            Backend::Postgres => {
                let name = format!(
                    "retain_t_{}_{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                );
                let admin = Database::connect(postgres_admin_url())
                    .await
                    .expect("PostgreSQL is reachable (RETAIN_TEST_POSTGRES_URL)");
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .expect("dropping a stale test database");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("creating the test database");
                Self {
                    url: postgres_url_for(&name),
                    postgres_name: Some(name),
                    _dir: dir,
                }
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(postgres_admin_url()).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

/// The real gateway, serving on a free port until the test ends.
pub struct TestGateway {
    pub backend: Backend,
    pub address: String,
    /// Sends the admin key with every request.
    pub client: reqwest::Client,
    /// An admin API key, created for this gateway.
    pub admin_key: String,
    pub database_url: String,
    /// The gateway's services, for tests that call them in process.
    pub context: std::sync::Arc<retain_gateway::app::AppContext>,
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The database this gateway created; replicas share their primary's.
    _scratch: Option<Scratch>,
}

/// An HTTP response: status, content type and JSON body (`Null` if not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
}

impl TestGateway {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts with adjusted settings (limits, …). `RETAIN_TEST_LOG=debug` shows the
    /// gateway's logs.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Self {
        if let Ok(filter) = std::env::var("RETAIN_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
        let scratch = Scratch::create(backend).await;
        let url = scratch.url.clone();
        Self::serve(backend, url, Some(scratch), adjust).await
    }

    /// A gateway on a PostgreSQL database the test owns (and migrates here).
    pub async fn start_on(database_url: String, adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::serve(Backend::Postgres, database_url, None, adjust).await
    }

    /// A second gateway on this one's database, as another replica would be.
    pub async fn replica(&self) -> Self {
        self.replica_with(|_| {}).await
    }

    /// A replica with adjusted settings.
    pub async fn replica_with(&self, adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::serve(self.backend, self.database_url.clone(), None, adjust).await
    }

    async fn serve(
        backend: Backend,
        database_url: String,
        scratch: Option<Scratch>,
        adjust: impl FnOnce(&mut Settings),
    ) -> Self {
        let mut settings = Settings {
            bind: "127.0.0.1:0".into(),
            database_url: Some(database_url.clone()),
            database_pool_size: 4,
            ..Settings::default()
        };
        // Compiled plugins are cached by content, so every test shares one cache.
        settings.plugins.cache_dir = Some(std::env::temp_dir().join("retain-test-plugin-cache"));
        settings.plugins.max_instances = 16;
        adjust(&mut settings);
        let app = Application::build(settings)
            .await
            .expect("the gateway starts");
        let admin_key = api_keys::create(
            &app.state().context.db,
            &format!("test-admin-{}", app.local_addr().port()),
            Role::Admin,
            &Principal::cli(),
            chrono::Utc::now(),
        )
        .await
        .expect("creating the test's admin key")
        .secret;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {admin_key}")
                .parse()
                .expect("a header value"),
        );
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .expect("an HTTP client");
        let address = format!("http://{}", app.local_addr());
        let context = app.state().context.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            backend,
            address,
            client,
            admin_key,
            database_url,
            context,
            stop,
            server,
            _scratch: scratch,
        }
    }

    /// Shuts the gateway down as SIGTERM does and starts it again on the same
    /// database, with `adjust`ed settings: a restart.
    pub async fn restart(self, adjust: impl FnOnce(&mut Settings)) -> Self {
        let _ = self.stop.send(());
        self.server
            .await
            .expect("the server task ends")
            .expect("the server shuts down cleanly");
        Self::serve(self.backend, self.database_url, self._scratch, adjust).await
    }

    /// Shuts the gateway down as SIGTERM does, and returns once it has finished
    /// the requests in flight.
    pub async fn shut_down(self) {
        let _ = self.stop.send(());
        self.server
            .await
            .expect("the server task ends")
            .expect("the server shuts down cleanly");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// POSTs a GraphQL request as admin, accepting
    /// `application/graphql-response+json`.
    pub async fn post(&self, query: &str, variables: Value) -> Reply {
        self.post_as(Some(&self.admin_key), query, variables).await
    }

    /// POSTs a GraphQL request with `key`, or with no key at all.
    pub async fn post_as(&self, key: Option<&str>, query: &str, variables: Value) -> Reply {
        // A client without the admin key, so that `None` really sends none.
        let mut request = reqwest::Client::new()
            .post(self.url("/graphql"))
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        Reply::read(request.send().await.expect("the gateway answers")).await
    }

    /// Creates an API key with `role` (`viewer`, `agent`, …) through the API, and
    /// returns it.
    pub async fn create_key(&self, role: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!("{role}-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let data = self
            .query(
                &format!(
                    r#"mutation {{ createApiKey(name: "{name}", role: {}) {{ key }} }}"#,
                    role.to_uppercase()
                ),
                json!({}),
            )
            .await;
        data["createApiKey"]["key"]
            .as_str()
            .expect("a key")
            .to_owned()
    }

    /// Runs a GraphQL operation that must succeed, and returns its `data`.
    pub async fn query(&self, query: &str, variables: Value) -> Value {
        let reply = self.post(query, variables).await;
        assert_eq!(reply.status, 200, "{:#}", reply.body);
        assert!(
            reply.body.get("errors").is_none(),
            "unexpected errors: {:#}",
            reply.body
        );
        reply.body["data"].clone()
    }

    /// Runs a GraphQL operation that must fail with one error, and returns it.
    pub async fn error(&self, query: &str, variables: Value) -> Value {
        let reply = self.post(query, variables).await;
        let errors = reply.body["errors"].as_array().cloned().unwrap_or_default();
        assert_eq!(errors.len(), 1, "expected one error: {:#}", reply.body);
        errors[0].clone()
    }

    /// Sends a GraphQL multipart request (the upload spec) as admin, with one file
    /// bound to the variable `file_variable`.
    pub async fn upload(
        &self,
        query: &str,
        variables: Value,
        file_variable: &str,
        file: &[u8],
    ) -> Reply {
        self.upload_as(&self.admin_key, query, variables, file_variable, file)
            .await
    }

    /// [`upload`](Self::upload) with `key`.
    pub async fn upload_as(
        &self,
        key: &str,
        query: &str,
        variables: Value,
        file_variable: &str,
        file: &[u8],
    ) -> Reply {
        let operations = json!({ "query": query, "variables": variables });
        let map = json!({ "0": [format!("variables.{file_variable}")] });
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", map.to_string())
            .part(
                "0",
                reqwest::multipart::Part::bytes(file.to_vec()).file_name("plugin.wasm"),
            );
        let response = reqwest::Client::new()
            .post(self.url("/graphql"))
            .header("accept", "application/graphql-response+json")
            .bearer_auth(key)
            .multipart(form)
            .send()
            .await
            .expect("the gateway answers");
        Reply::read(response).await
    }

    /// The Prometheus exposition at `/metrics`.
    pub async fn metrics(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("metrics text")
    }

    /// SQL statements the gateway has run so far (from `/metrics`).
    pub async fn sql_statements(&self) -> u64 {
        sql_statements_in(&self.metrics().await).expect("the statement counter is exported")
    }
}

/// The `retain_sql_statements_total` counter in a Prometheus exposition. Exposition
/// formats may print counters as floats (`12.0`, `1.2e3`).
pub fn sql_statements_in(metrics: &str) -> Option<u64> {
    let value = metrics
        .lines()
        .find_map(|line| line.strip_prefix("retain_sql_statements_total "))?
        .split_whitespace()
        .next()?;
    value.parse::<f64>().ok().map(|count| count as u64)
}

impl Reply {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = response.text().await.expect("a body");
        Self {
            status,
            content_type,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }
}

/// Declares each listed `async fn name(backend: Backend)` as two tests, one per
/// backend, so the whole suite runs on SQLite and PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::Backend::Postgres).await
                }
            }
        )*
    };
}
