//! Typed, layered settings: built-in defaults, then an optional TOML file
//! (`retain.toml`, or the path in `RETAIN_CONFIG`), then `RETAIN_…` environment
//! variables (nested keys with `__`, e.g. `RETAIN_LIMITS__MAX_PAGE_SIZE`), then
//! `DATABASE_URL`. Command-line flags override all of them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything the gateway can be configured with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Address the HTTP server listens on. Port 0 picks a free port.
    pub bind: String,
    /// `sqlite://…` or `postgres://…`. When absent, an embedded SQLite file under
    /// `data_dir` is used so a laptop needs no database server.
    pub database_url: Option<String>,
    /// Where the embedded SQLite database lives.
    pub data_dir: PathBuf,
    /// Largest number of pooled database connections.
    pub database_pool_size: u32,
    /// The shop's currency (ISO 4217). Prices and orders must use it, so that spend
    /// can be summed across orders.
    pub currency: String,
    /// Serve GraphiQL to browsers at `/graphql`. Production configs usually turn
    /// it off together with `introspection`.
    pub graphiql: bool,
    /// Answer introspection queries (`__schema`, `__type`).
    pub introspection: bool,
    /// Require an API key for `/metrics` too (it is open by default, for scrapers
    /// inside the network).
    pub metrics_require_key: bool,
    /// `text` for people, `json` for log collectors.
    pub log_format: LogFormat,
    pub limits: Limits,
    pub plugins: PluginSettings,
    pub persisted_queries: PersistedQuerySettings,
    pub jwt: JwtSettings,
    pub feedback: FeedbackSettings,
    pub delivery: DeliverySettings,
    pub telemetry: TelemetrySettings,
    pub loyalty: LoyaltySettings,
}

/// OpenTelemetry trace export, off unless a collector is named.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TelemetrySettings {
    /// The OTLP/HTTP collector's base URL, e.g. `http://collector:4318`;
    /// spans go to `/v1/traces` under it.
    pub otlp_endpoint: Option<String>,
    /// Headers sent with every export, such as a vendor's API key.
    pub otlp_headers: std::collections::HashMap<String, Secret>,
    /// `service.name` on every span.
    pub service_name: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            otlp_headers: Default::default(),
            service_name: "retain".into(),
        }
    }
}

/// A channel's webhook: where its messages are POSTed, and the secret both
/// directions sign with (HMAC-SHA256).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Webhook {
    pub url: String,
    pub secret: Secret,
}

/// Campaign delivery: channel webhooks, retries, the frequency cap, attribution
/// and the automation clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliverySettings {
    pub email: Option<Webhook>,
    pub sms: Option<Webhook>,
    pub app_push: Option<Webhook>,
    pub social: Option<Webhook>,
    /// Attempts before a message goes to the dead-letter list.
    pub max_attempts: u32,
    /// The first retry waits this long; each later one twice as long as the
    /// one before, up to `retry_max_ms`.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// How long a webhook may take to answer.
    pub timeout_ms: u64,
    /// How often a replica looks for messages due.
    pub poll_interval_ms: u64,
    /// Messages a customer may be sent across all campaigns within
    /// `frequency_window_days`; more are suppressed.
    pub frequency_cap: u32,
    pub frequency_window_days: u32,
    /// The shop's local time as an offset from UTC, for birthday and holiday
    /// sends (fixed: 480 is China Standard Time).
    pub utc_offset_minutes: i32,
    /// How often a replica checks campaign triggers.
    pub automation_interval_ms: u64,
    /// Signed callbacks older than this are refused, so a captured one cannot
    /// be replayed later.
    pub callback_max_age_secs: u64,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            email: None,
            sms: None,
            app_push: None,
            social: None,
            max_attempts: 6,
            retry_base_ms: 1_000,
            retry_max_ms: 10 * 60 * 1000,
            timeout_ms: 10_000,
            poll_interval_ms: 500,
            frequency_cap: 3,
            frequency_window_days: 7,
            utc_offset_minutes: 480,
            automation_interval_ms: 60_000,
            callback_max_age_secs: 300,
        }
    }
}

impl DeliverySettings {
    /// The webhook of `channel`, if one is configured.
    pub fn webhook(&self, channel: retain_schema::MessageChannel) -> Option<&Webhook> {
        use retain_schema::MessageChannel::*;
        match channel {
            Email => self.email.as_ref(),
            Sms => self.sms.as_ref(),
            AppPush => self.app_push.as_ref(),
            Social => self.social.as_ref(),
        }
    }
}

/// Loyalty points and membership levels (see `services::loyalty`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoyaltySettings {
    /// Points a paid order earns per currency unit of its total (after
    /// discounts), before the level multiplier. Fractions are kept to 0.01;
    /// earned points are rounded down.
    pub points_per_unit: f64,
    /// The segmenter slot whose segment is the customer's membership level.
    pub level_slot: String,
    /// The levels from lowest to highest, as the level slot's segment keys:
    /// retention keeps a customer at the higher of two.
    pub levels: Vec<String>,
    /// Earn multiplier per level; a level not listed earns ×1.
    pub level_multipliers: BTreeMap<String, f64>,
    /// Points redeemed per step: redemptions are whole multiples of it…
    pub redeem_points: i64,
    /// …and each step is worth this much, in minor units (100 points = 10.00).
    pub redeem_value_minor: i64,
    /// Months after which unspent points expire, oldest first; 0: never.
    pub expiry_months: u32,
    /// How often a replica expires due points in the background, in seconds;
    /// 0 leaves it to `retain points expire`. Debits expire a customer's due
    /// points first either way, so expired points are never spent.
    pub expiry_interval_secs: u64,
    /// Per level: who keeps it for a while after the level plugin demotes them.
    pub retention: BTreeMap<String, RetentionRule>,
}

/// A level's retention rule: a customer demoted from the level who made at
/// least `min_repurchases` repurchases (orders beyond the first) in the last
/// 365 days keeps it for `extra_months` more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionRule {
    pub min_repurchases: u32,
    pub extra_months: u32,
}

impl Default for LoyaltySettings {
    fn default() -> Self {
        let rule = |min_repurchases, extra_months| RetentionRule {
            min_repurchases,
            extra_months,
        };
        Self {
            points_per_unit: 1.0,
            level_slot: "level".into(),
            levels: ["ordinary", "silver", "gold", "diamond"]
                .map(String::from)
                .to_vec(),
            level_multipliers: [("silver", 1.2), ("gold", 1.5), ("diamond", 2.0)]
                .into_iter()
                .map(|(level, m)| (level.to_owned(), m))
                .collect(),
            redeem_points: 100,
            redeem_value_minor: 1_000,
            expiry_months: 12,
            expiry_interval_secs: 3_600,
            retention: [("gold", rule(6, 12)), ("diamond", rule(10, 12))]
                .into_iter()
                .map(|(level, r)| (level.to_owned(), r))
                .collect(),
        }
    }
}

impl LoyaltySettings {
    /// Refuses settings that would earn or redeem nonsense.
    pub fn check(&self) -> anyhow::Result<()> {
        let rate = |name: &str, value: f64| {
            anyhow::ensure!(
                value.is_finite() && (0.0..=1_000.0).contains(&value),
                "loyalty.{name} must be between 0 and 1000, not {value}"
            );
            Ok(())
        };
        rate("points_per_unit", self.points_per_unit)?;
        for (level, multiplier) in &self.level_multipliers {
            rate(&format!("level_multipliers.{level}"), *multiplier)?;
        }
        anyhow::ensure!(
            self.redeem_points > 0,
            "loyalty.redeem_points must be positive"
        );
        anyhow::ensure!(
            self.redeem_value_minor >= 0,
            "loyalty.redeem_value_minor must not be negative"
        );
        for level in self.level_multipliers.keys().chain(self.retention.keys()) {
            anyhow::ensure!(
                self.levels.contains(level),
                "loyalty: level {level} is not in loyalty.levels"
            );
        }
        Ok(())
    }
}

/// The complaint workflow's targets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeedbackSettings {
    /// Minutes within which a complaint must be acknowledged (its first
    /// response); later ones are listed as overdue. Fixed per complaint when it
    /// arrives.
    pub first_response_minutes: u32,
    /// A complaint within this many days of the same customer's previous one is
    /// flagged as a repeat.
    pub repeat_window_days: u32,
}

impl Default for FeedbackSettings {
    fn default() -> Self {
        Self {
            first_response_minutes: 60,
            repeat_window_days: 90,
        }
    }
}

/// A secret setting: readable by the code that needs it, shown as `***` in
/// every `Debug` output, so settings can be logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// JWTs from the shop's identity provider, accepted besides API keys (see the
/// `auth::jwt` module). Off unless a key is configured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JwtSettings {
    /// Shared secret for HS256 tokens, at least 32 bytes.
    pub hs256_secret: Option<Secret>,
    /// PEM file with the provider's RSA public key, for RS256 tokens.
    pub rs256_public_key: Option<PathBuf>,
    /// The `iss` every token must carry; required with a key.
    pub issuer: Option<String>,
    /// The `aud` every token must carry; required with a key.
    pub audience: Option<String>,
    /// The claim that names the caller's role (`viewer` … `admin`).
    pub role_claim: String,
    /// Clock difference tolerated on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
}

impl Default for JwtSettings {
    fn default() -> Self {
        Self {
            hs256_secret: None,
            rs256_public_key: None,
            issuer: None,
            audience: None,
            role_claim: "retain_role".into(),
            leeway_secs: 30,
        }
    }
}

/// Operations registered ahead of time (see the `persisted` module).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PersistedQuerySettings {
    /// An Apollo persisted-query manifest (JSON) whose operations clients may send
    /// by id.
    pub manifest: Option<PathBuf>,
    /// Run registered operations only (admin keys excepted); needs `manifest`.
    pub allow_list: bool,
}

/// Request limits that keep one client from starving the others.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Limits {
    /// Page size when a connection is asked for without `first`/`last`.
    pub default_page_size: u32,
    /// Largest `first`/`last` a connection accepts; bounds the rows one field loads.
    pub max_page_size: u32,
    /// Deepest selection set accepted; the nested customer → orders → items →
    /// product query needs about 10.
    pub max_depth: usize,
    /// Largest query complexity: each field costs 1, connections multiply their
    /// children by the page size asked for.
    pub max_complexity: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// How long a DataLoader waits, in milliseconds, for sibling fields to ask for
    /// more keys before it runs its batch. Too short splits a page's lookups into
    /// several statements; every nesting level waits this long once.
    pub batch_window_ms: u64,
    /// Requests per second each API key may make on average; 0 switches rate
    /// limits off.
    pub rate_per_second: u32,
    /// Requests a key may make at once after being idle (the bucket's size).
    pub rate_burst: u32,
    /// Database lookups per second, per replica, of API keys it has not verified
    /// yet; bounds what a flood of made-up keys costs. 0 switches the bound off.
    pub key_lookups_per_second: u32,
    /// Most aliased fields in one operation: aliases let one request ask for the
    /// same expensive field many times, which depth and complexity alone miss.
    pub max_aliases: usize,
    /// Longest a GraphQL request may run, in milliseconds; a mutation cut short
    /// is rolled back.
    pub request_timeout_ms: u64,
}

/// How strategy plugins run: the limits every call runs under, and how replicas
/// notice activations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginSettings {
    /// Wall-clock budget of one plugin call, in milliseconds. A batch of thousands
    /// of profiles takes well under a millisecond, so this only stops runaway code.
    pub deadline_ms: u64,
    /// Linear memory one plugin instance may grow to, in MiB.
    pub memory_mib: u64,
    /// Largest component accepted at publish, in bytes.
    pub max_component_bytes: usize,
    /// Profiles classified per plugin call during a segmentation run; also the
    /// number of customers read from the database at a time, which bounds memory.
    /// Each call pays a fixed cost (a fresh instance, the config parsed), so
    /// bigger batches classify faster up to about 16,384; at most
    /// [`MAX_BATCH_SIZE`].
    pub batch_size: usize,
    /// How often each replica looks for slot changes made elsewhere, in
    /// milliseconds.
    pub poll_interval_ms: u64,
    /// Failed calls in a row after which a version is quarantined.
    pub quarantine_after: u32,
    /// Plugin instances alive at once; the pooling allocator reserves address
    /// space for each.
    pub max_instances: u32,
    /// The segmenter slot whose segment recommenders receive as context.
    pub recommendation_context_slot: String,
    /// How long the catalogue facts recommenders read (co-purchases,
    /// popularity) are reused before being recomputed, in seconds.
    pub catalog_refresh_secs: u64,
    /// Where compiled components are cached; `<data_dir>/plugin-cache` when unset.
    pub cache_dir: Option<PathBuf>,
    /// How long experiment exposures may wait in memory before they are written
    /// in one batch, in milliseconds; shutdown writes whatever is left.
    pub exposure_flush_ms: u64,
}

impl Default for PluginSettings {
    fn default() -> Self {
        Self {
            deadline_ms: 100,
            memory_mib: 64,
            max_component_bytes: 10 * 1024 * 1024,
            batch_size: 16_384,
            poll_interval_ms: 250,
            quarantine_after: 3,
            max_instances: 64,
            recommendation_context_slot: "tier".into(),
            catalog_refresh_secs: 300,
            cache_dir: None,
            exposure_flush_ms: 200,
        }
    }
}

/// The largest `plugins.batch_size`: a batch's customer ids reach the database
/// as one `IN` list, and SQLite binds at most 32,766 parameters per statement.
pub const MAX_BATCH_SIZE: usize = 32_000;

impl PluginSettings {
    /// Refuses a batch size the database cannot take.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=MAX_BATCH_SIZE).contains(&self.batch_size),
            "plugins.batch_size must be between 1 and {MAX_BATCH_SIZE}, not {}",
            self.batch_size
        );
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            database_url: None,
            data_dir: PathBuf::from("retain-data"),
            database_pool_size: 16,
            currency: "CNY".into(),
            graphiql: true,
            introspection: true,
            metrics_require_key: false,
            log_format: LogFormat::Text,
            limits: Limits::default(),
            plugins: PluginSettings::default(),
            persisted_queries: PersistedQuerySettings::default(),
            jwt: JwtSettings::default(),
            feedback: FeedbackSettings::default(),
            delivery: DeliverySettings::default(),
            telemetry: TelemetrySettings::default(),
            loyalty: LoyaltySettings::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            default_page_size: 20,
            max_page_size: 100,
            max_depth: 16,
            max_complexity: 20_000,
            max_body_bytes: 1024 * 1024,
            batch_window_ms: 2,
            rate_per_second: 1_000,
            rate_burst: 2_000,
            key_lookups_per_second: 100,
            max_aliases: 30,
            request_timeout_ms: 30_000,
        }
    }
}

impl Settings {
    /// Reads defaults, the config file and the environment.
    pub fn load() -> Result<Self, Box<figment::Error>> {
        let file = std::env::var("RETAIN_CONFIG").unwrap_or_else(|_| "retain.toml".into());
        let mut figment = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("RETAIN_").split("__"));
        if let Ok(url) = std::env::var("DATABASE_URL") {
            figment = figment.merge(Serialized::default("database_url", url));
        }
        figment.extract().map_err(Box::new)
    }

    /// Where compiled plugin components are cached, as an absolute path (wasmtime's
    /// cache refuses relative ones).
    pub fn plugin_cache_dir(&self) -> std::io::Result<PathBuf> {
        let dir = self
            .plugins
            .cache_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("plugin-cache"));
        std::path::absolute(dir)
    }

    /// The database URL in effect: the configured one, or the embedded SQLite file.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("retain.db").display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sizes_the_database_cannot_take_are_refused() {
        let sized = |batch_size| PluginSettings {
            batch_size,
            ..PluginSettings::default()
        };
        assert!(PluginSettings::default().check().is_ok());
        assert!(sized(MAX_BATCH_SIZE).check().is_ok());
        for refused in [0, MAX_BATCH_SIZE + 1] {
            let err = sized(refused).check().unwrap_err().to_string();
            assert_eq!(
                err,
                format!("plugins.batch_size must be between 1 and 32000, not {refused}")
            );
        }
    }
}
