//! Building the application: connect, migrate, assemble the schema and router, bind.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use retain_schema::PluginKind;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::auth::jwt::JwtVerifier;
use crate::auth::key_ring::KeyRing;
use crate::auth::rate_limit::RateLimits;
use crate::config::Settings;
use crate::database;
use crate::graphql::{self, RetainSchema};
use crate::http;
use crate::metrics::Metrics;
use crate::persisted::PersistedQueries;
use crate::plugins::{PluginEngine, SlotTable};
use crate::services::campaigns::automation::Scheduler;
use crate::services::campaigns::delivery::Dispatcher;
use crate::services::events::EventBus;
use crate::services::experiments::exposures::ExposureLog;
use crate::services::loyalty::expiry;
use crate::services::recommendations::CatalogCache;

/// What every resolver and handler shares.
pub struct AppContext {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub events: EventBus,
    pub slots: Arc<SlotTable>,
    pub catalog: CatalogCache,
    pub keys: Arc<KeyRing>,
    pub rate_limits: RateLimits,
    pub persisted: Arc<PersistedQueries>,
    pub exposures: ExposureLog,
    /// Identity-provider tokens, when configured.
    pub jwt: Option<JwtVerifier>,
}

/// The router's state: cheap to clone, every part shared.
#[derive(Clone)]
pub struct AppState {
    pub context: Arc<AppContext>,
    pub schema: RetainSchema,
}

impl AppState {
    /// Connects to the database, applies migrations and builds the schema.
    pub async fn new(settings: Settings) -> anyhow::Result<Self> {
        // A broken manifest is a deploy mistake: refuse to start rather than serve
        // without the allow-list.
        let persisted = Arc::new(PersistedQueries::load(&settings.persisted_queries)?);
        let jwt = JwtVerifier::from_settings(&settings.jwt)?;
        settings.loyalty.check()?;
        settings.plugins.check()?;
        let metrics = Arc::new(Metrics::default());
        let db = database::connect(&settings, Some(metrics.clone())).await?;
        database::migrate(&db).await?;
        let engine = PluginEngine::new(&settings.plugins, &settings.plugin_cache_dir()?)?;
        let slots = SlotTable::new(
            engine,
            db.clone(),
            metrics.clone(),
            settings.plugins.quarantine_after,
        )
        .await?;
        let poll = Duration::from_millis(settings.plugins.poll_interval_ms);
        slots.watch(poll);
        let keys = Arc::new(KeyRing::new(&settings.limits));
        keys.watch(db.clone(), poll);
        let rate_limits = RateLimits::new(&settings.limits);
        let exposures = ExposureLog::start(
            db.clone(),
            Duration::from_millis(settings.plugins.exposure_flush_ms),
        );
        let context = Arc::new(AppContext {
            db,
            settings: Arc::new(settings),
            metrics,
            events: EventBus::default(),
            slots,
            catalog: CatalogCache::default(),
            keys,
            rate_limits,
            persisted: persisted.clone(),
            exposures,
            jwt,
        });
        let mut schema = graphql::schema_builder(&context.settings).data(context.clone());
        if let Some(allow_list) = persisted.allow_list() {
            schema = schema.extension(allow_list);
        }
        let schema = schema.finish();
        Ok(Self { context, schema })
    }
}

/// A bound, ready-to-run gateway. Binding happens in `build`, so callers (tests) can
/// ask for port 0 and read the port before serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    workers: Workers,
}

/// The background work a serving replica does besides answering requests:
/// dispatching the campaign outbox, firing campaign triggers and expiring
/// points.
struct Workers {
    stop: tokio::sync::watch::Sender<bool>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Workers {
    fn start(context: &AppContext) -> Self {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let delivery = &context.settings.delivery;
        let mut handles = vec![
            Dispatcher::new(
                context.db.clone(),
                delivery.clone(),
                context.metrics.clone(),
            )
            .spawn(stopped.clone()),
            Scheduler::new(context.db.clone(), delivery.clone()).spawn(stopped.clone()),
        ];
        let expiry_every = context.settings.loyalty.expiry_interval_secs;
        if expiry_every > 0 {
            handles.push(expiry::spawn(
                context.db.clone(),
                Duration::from_secs(expiry_every),
                stopped,
            ));
        }
        Self { stop, handles }
    }

    /// Lets the rounds in progress finish, then stops.
    async fn stop(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let bind = settings.bind.clone();
        let state = AppState::new(settings).await?;
        let listener = TcpListener::bind(&bind)
            .await
            .with_context(|| format!("binding {bind}"))?;
        let router = http::router(state.clone());
        let workers = Workers::start(&state.context);
        // A replica that serves recommenders computes the catalogue facts now,
        // so its first recommendations do not wait for them.
        let serves_recommenders = (state.context.slots.bindings().values())
            .any(|binding| binding.kind == PluginKind::Recommender);
        if serves_recommenders {
            state.context.catalog.warm_up(state.context.clone());
        }
        Ok(Self {
            listener,
            router,
            state,
            workers,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests and
    /// deliveries and writes what they left buffered (exposures).
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        self.workers.stop().await;
        self.state.context.exposures.flush().await;
        served
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// The authenticated caller, from inside a resolver.
pub fn caller<'c>(
    ctx: &async_graphql::Context<'c>,
) -> async_graphql::Result<&'c crate::auth::Principal> {
    ctx.data::<crate::auth::Principal>()
}

/// The shared context, from inside a resolver.
pub fn app_context<'c>(ctx: &async_graphql::Context<'c>) -> &'c AppContext {
    ctx.data_unchecked::<Arc<AppContext>>()
}
