//! The `retain` command line: serve, migrate, seed, import, demo, plugin, rules,
//! segment, experiment, report, points, keys, schema.

mod experiment;
mod report;
mod rules;

use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use retain_schema::{PluginKind, Role, customer};
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::app::{AppState, Application, shutdown_signal};
use crate::auth::{Principal, role_name};
use crate::config::Settings;
use crate::import::{self, ImportKind};
use crate::plugins::batch::{BatchBuilder, ProfileFeatures};
use crate::plugins::{LoadedPlugin, PluginEngine, bundled, registry, slots};
use crate::seed::{self, SeedOptions};
use crate::services::{api_keys, loyalty, segmentation};
use crate::{database, graphql};

/// Retain: a GraphQL gateway for customer-retention teams.
#[derive(Debug, Parser)]
#[command(name = "retain", version, about)]
pub struct Cli {
    /// Database URL (`sqlite://…` or `postgres://…`); defaults to an embedded SQLite
    /// file under ./retain-data/.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the GraphQL server (migrations run first).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free one).
        #[arg(long, env = "RETAIN_BIND")]
        bind: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Generate deterministic synthetic customers, orders, interactions and feedback.
    Seed {
        #[arg(long)]
        customers: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The day the data ends at; defaults to today (UTC).
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
    /// Import another system's CSV export. Nothing is imported if any row is invalid,
    /// unless --skip-invalid.
    Import {
        #[arg(value_enum)]
        kind: ImportKind,
        file: PathBuf,
        /// Import the valid rows and report the others.
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Migrate, seed demo data if the database is empty, publish and activate the
    /// bundled plugins in free slots, segment, and serve with GraphiQL.
    Demo {
        #[arg(long, env = "RETAIN_BIND")]
        bind: Option<String>,
        /// Customers to generate when the database is empty.
        #[arg(long, default_value_t = 5_000)]
        customers: u64,
    },
    /// Publish, list, activate and roll back strategy plugins.
    Plugin {
        #[command(subcommand)]
        action: PluginCommand,
    },
    /// Check, compile and preview rule files (see docs/rules.md).
    Rules {
        #[command(subcommand)]
        action: rules::RulesCommand,
    },
    /// Segmentation runs.
    Segment {
        #[command(subcommand)]
        action: SegmentCommand,
    },
    /// A/B experiments between plugin versions on a slot.
    Experiment {
        #[command(subcommand)]
        action: experiment::ExperimentCommand,
    },
    /// Retention analytics as tables: KPIs, cohorts, segments over time, CLV.
    Report {
        #[command(subcommand)]
        action: report::ReportCommand,
    },
    /// Loyalty points.
    Points {
        #[command(subcommand)]
        action: PointsCommand,
    },
    /// Create, list and revoke API keys.
    Keys {
        #[command(subcommand)]
        action: KeyCommand,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
}

#[derive(Debug, Subcommand)]
pub enum PointsCommand {
    /// Expire every customer's unspent points that are past their expiry,
    /// oldest first. Safe to run again: expired points are gone.
    Expire {
        /// Expire as of this moment (RFC 3339) instead of now.
        #[arg(long)]
        as_of: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a key. It is printed once and stored only as a hash.
    Create {
        /// viewer, agent, operator, strategist or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Who holds the key, e.g. `storefront`; unique.
        #[arg(long)]
        name: String,
    },
    /// List keys, newest first.
    List,
    /// Revoke a key by its name or prefix; requests with it are refused from then on.
    Revoke { key: String },
}

fn parse_role(text: &str) -> Result<Role, String> {
    use sea_orm::Iterable;
    Role::iter()
        .find(|role| role_name(*role) == text)
        .ok_or_else(|| {
            let names: Vec<String> = Role::iter().map(role_name).collect();
            format!("unknown role {text}; one of {}", names.join(", "))
        })
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Validate and store a plugin version (a component, or a core module built
    /// with wit-bindgen). Nothing is activated.
    Publish { file: PathBuf },
    /// List published versions, newest first.
    List,
    /// Publish the plugins that ship with Retain, activate each in its slot if the
    /// slot is free, and segment the slots activated.
    InstallBundled,
    /// Bind a slot to a published version (`name@version`, id or SHA-256 prefix).
    /// A segmenter slot is then re-segmented.
    Activate {
        slot: String,
        plugin: String,
        /// The plugin's configuration for this slot, as a JSON object.
        #[arg(long)]
        config: Option<String>,
    },
    /// Restore the version that was active before the current one.
    Rollback { slot: String },
    /// Classify every customer with the slot's active version and with a
    /// candidate, and print how often they agree and where customers would move.
    /// Nothing is served or stored.
    Shadow {
        #[arg(long)]
        slot: String,
        /// The candidate version: `name@version`, id or SHA-256 prefix.
        #[arg(long)]
        candidate: String,
        #[arg(long)]
        config: Option<String>,
    },
    /// Run a segmenter locally over profiles from a CSV file and print the
    /// segment distribution and timing. Touches no database.
    Run {
        file: PathBuf,
        /// CSV with a header of profile features: days_since_last_order,
        /// orders_365d, spend_365d (minor units), lifetime_orders, lifetime_spend,
        /// average_order_value, interactions_30d, days_since_signup,
        /// points_balance, days_between_orders, birthday_month, tags (`a;b`).
        /// Missing columns are zero; empty day cells mean "never".
        #[arg(long)]
        profiles: PathBuf,
        #[arg(long)]
        config: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SegmentCommand {
    /// Classify every customer with the slot's active plugin.
    Run {
        #[arg(long)]
        slot: String,
    },
}

fn settings(cli_database: Option<String>, bind: Option<String>) -> anyhow::Result<Settings> {
    let mut settings = Settings::load().context("reading configuration")?;
    if cli_database.is_some() {
        settings.database_url = cli_database;
    }
    if let Some(bind) = bind {
        settings.bind = bind;
    }
    Ok(settings)
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} customers ({per_sec}, eta {eta})",
        )
        .expect("valid progress template"),
    );
    bar
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let graphiql = settings.graphiql;
    let app = Application::build(settings).await?;
    let addr = app.local_addr();
    println!("listening on http://{addr}");
    if graphiql {
        println!("GraphiQL: http://{addr}/graphql");
    }
    tracing::info!(%addr, "serving");
    app.run_until(shutdown_signal()).await?;
    Ok(())
}

async fn segment_with_progress(
    state: &AppState,
    slot: &str,
) -> anyhow::Result<retain_schema::segment_run::Model> {
    let bar = progress_bar();
    bar.set_message(format!("segmenting {slot}"));
    let run = segmentation::run(&state.context, slot, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await?;
    bar.finish_and_clear();
    Ok(run)
}

/// Publishes the bundled plugins, activates them in free slots and segments
/// those slots.
async fn install_bundled(state: &AppState) -> anyhow::Result<()> {
    let installed = bundled::install(&state.context, &Principal::cli()).await?;
    for (slot, plugin) in &installed {
        println!(
            "activated {}@{} in slot {slot}",
            plugin.name, plugin.version
        );
    }
    for (slot, plugin) in &installed {
        if plugin.kind == PluginKind::Segmenter {
            let started = std::time::Instant::now();
            let run = segment_with_progress(state, slot).await?;
            println!(
                "segmented {} customers in slot {slot} in {:.1}s",
                run.customers,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

fn parse_config(config: Option<String>) -> anyhow::Result<Option<serde_json::Value>> {
    config
        .map(|c| serde_json::from_str(&c).context("--config is not valid JSON"))
        .transpose()
}

async fn plugin_command(settings: Settings, action: PluginCommand) -> anyhow::Result<()> {
    if let PluginCommand::Run {
        file,
        profiles,
        config,
    } = action
    {
        return run_locally(&settings, &file, &profiles, config);
    }
    let state = AppState::new(settings).await?;
    let ctx = &state.context;
    match action {
        PluginCommand::Publish { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let published = registry::publish(
                &ctx.db,
                ctx.slots.engine(),
                &bytes,
                ctx.settings.plugins.max_component_bytes,
                &Principal::cli(),
                Utc::now(),
            )
            .await?;
            let p = &published.plugin;
            let verb = if published.already_published {
                "already published"
            } else {
                "published"
            };
            println!(
                "{verb} {}@{} ({:?}, sha256 {}, {} bytes)",
                p.name, p.version, p.kind, p.sha256, p.size_bytes
            );
        }
        PluginCommand::List => {
            println!(
                "{:<24} {:<10} {:<12} {:<14} published",
                "name", "version", "kind", "sha256"
            );
            for p in registry::list(&ctx.db, None).await? {
                let quarantined = if p.quarantined_at.is_some() {
                    "  QUARANTINED"
                } else {
                    ""
                };
                println!(
                    "{:<24} {:<10} {:<12} {:<14} {}{quarantined}",
                    p.name,
                    p.version,
                    format!("{:?}", p.kind).to_lowercase(),
                    &p.sha256[..12],
                    p.published_at.format("%Y-%m-%d %H:%M")
                );
            }
        }
        PluginCommand::Activate {
            slot,
            plugin,
            config,
        } => {
            let bound = slots::activate(
                &ctx.slots,
                &slot,
                &plugin,
                parse_config(config)?,
                &Principal::cli(),
                Utc::now(),
            )
            .await?;
            println!("slot {slot} now serves {plugin}");
            if bound.kind == PluginKind::Segmenter {
                segment_with_progress(&state, &slot).await?;
            }
        }
        PluginCommand::Rollback { slot } => {
            let bound = slots::rollback(&ctx.slots, &slot, &Principal::cli(), Utc::now()).await?;
            let plugin = registry::find(&ctx.db, &bound.plugin_id.to_string()).await?;
            println!(
                "slot {slot} rolled back to {}@{}",
                plugin.name, plugin.version
            );
            if bound.kind == PluginKind::Segmenter {
                segment_with_progress(&state, &slot).await?;
            }
        }
        PluginCommand::InstallBundled => install_bundled(&state).await?,
        PluginCommand::Shadow {
            slot,
            candidate,
            config,
        } => experiment::shadow(&state, &slot, &candidate, config).await?,
        PluginCommand::Run { .. } => unreachable!("handled above"),
    }
    Ok(())
}

async fn key_command(db: &sea_orm::DatabaseConnection, action: KeyCommand) -> anyhow::Result<()> {
    match action {
        KeyCommand::Create { role, name } => {
            let created = api_keys::create(db, &name, role, &Principal::cli(), Utc::now()).await?;
            println!(
                "created {} key {} (store it now, it is not shown again):\n{}",
                role_name(role),
                created.key.name,
                created.secret
            );
        }
        KeyCommand::List => {
            println!(
                "{:<24} {:<11} {:<16} {:<17} revoked",
                "name", "role", "prefix", "created"
            );
            for key in api_keys::list(db).await? {
                println!(
                    "{:<24} {:<11} {:<16} {:<17} {}",
                    key.name,
                    role_name(key.role),
                    key.prefix,
                    key.created_at.format("%Y-%m-%d %H:%M"),
                    key.revoked_at
                        .map(|at| at.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default()
                );
            }
        }
        KeyCommand::Revoke { key } => {
            let revoked = api_keys::revoke(db, &key, &Principal::cli(), Utc::now()).await?;
            println!("revoked key {} ({})", revoked.name, revoked.prefix);
        }
    }
    Ok(())
}

/// `retain plugin run`: a segmenter over CSV profiles, with no database.
fn run_locally(
    settings: &Settings,
    file: &std::path::Path,
    profiles: &std::path::Path,
    config: Option<String>,
) -> anyhow::Result<()> {
    let config = parse_config(config)?
        .unwrap_or_else(|| serde_json::json!({}))
        .to_string();
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let engine = PluginEngine::new(&settings.plugins, &settings.plugin_cache_dir()?)?;
    let plugin = LoadedPlugin::load(&engine, &registry::componentize(&bytes)?)?;
    let mut reader = csv::Reader::from_path(profiles)
        .with_context(|| format!("reading {}", profiles.display()))?;
    let mut counts = vec![0_u64; plugin.info.segments.len()];
    let mut customers = 0_u64;
    let mut in_plugin = std::time::Duration::ZERO;
    let mut rows = reader.deserialize::<ProfileFeatures>();
    loop {
        let mut batch = BatchBuilder::new(settings.plugins.batch_size, plugin.columns);
        for row in rows.by_ref().take(settings.plugins.batch_size) {
            let line = customers + batch.len() as u64 + 2;
            batch.push(&row.with_context(|| format!("{}: line {line}", profiles.display()))?);
        }
        if batch.is_empty() {
            break;
        }
        customers += batch.len() as u64;
        let batch = batch.finish();
        let started = std::time::Instant::now();
        let answer = plugin
            .classify(&config, &batch)
            .map_err(|err| anyhow::anyhow!("the plugin {err}"))?;
        in_plugin += started.elapsed();
        for segment in answer.segments {
            counts[usize::from(segment)] += 1;
        }
    }
    println!(
        "{} {} over {customers} profiles:",
        plugin.name, plugin.version
    );
    for (segment, count) in plugin.info.segments.iter().zip(&counts) {
        let share = if customers == 0 {
            0.0
        } else {
            *count as f64 * 100.0 / customers as f64
        };
        println!("  {:<20} {count:>10} {share:>6.1}%", segment.key);
    }
    let seconds = in_plugin.as_secs_f64();
    println!(
        "classified in {:.3} ms ({:.1} million profiles/s)",
        seconds * 1000.0,
        if seconds > 0.0 {
            customers as f64 / seconds / 1e6
        } else {
            0.0
        }
    );
    Ok(())
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { bind } => serve(settings(cli.database, bind)?).await,
        Command::Migrate => {
            let settings = settings(cli.database, None)?;
            let db = database::connect(&settings, None).await?;
            database::migrate(&db).await?;
            println!("migrations applied ({})", database::backend_name(&db));
            Ok(())
        }
        Command::Seed {
            customers,
            seed,
            as_of,
        } => {
            let settings = settings(cli.database, None)?;
            let db = database::connect(&settings, None).await?;
            database::migrate(&db).await?;
            let as_of = match as_of {
                Some(day) => day.and_hms_opt(23, 59, 59).expect("valid time").and_utc(),
                None => Utc::now(),
            };
            let options = SeedOptions {
                customers,
                seed,
                currency: settings.currency.clone(),
                as_of,
            };
            let started = std::time::Instant::now();
            let bar = progress_bar();
            let report = seed::seed(&db, &options, &bar).await?;
            bar.finish();
            println!(
                "seeded {} customers, {} products, {} orders ({} items), {} interactions, {} feedback in {:.1}s",
                report.customers,
                report.products,
                report.orders,
                report.order_items,
                report.interactions,
                report.feedback,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Import {
            kind,
            file,
            skip_invalid,
        } => {
            let settings = settings(cli.database, None)?;
            let db = database::connect(&settings, None).await?;
            database::migrate(&db).await?;
            let reader = std::fs::File::open(&file)
                .with_context(|| format!("opening {}", file.display()))?;
            let report = import::import(&db, &settings, kind, reader, skip_invalid).await?;
            for error in &report.rejected {
                eprintln!(
                    "row {}, column {}: {}",
                    error.row, error.column, error.reason
                );
            }
            println!("{}", report.summary());
            if !report.rejected.is_empty() && !skip_invalid {
                anyhow::bail!("nothing imported: fix the rows above or pass --skip-invalid");
            }
            Ok(())
        }
        Command::Demo { bind, customers } => {
            let settings = settings(cli.database, bind)?;
            let state = AppState::new(settings.clone()).await?;
            let db = &state.context.db;
            if customer::Entity::find().count(db).await? == 0 {
                println!("seeding {customers} demo customers…");
                let options = SeedOptions {
                    customers,
                    seed: 42,
                    currency: settings.currency.clone(),
                    as_of: Utc::now(),
                };
                let bar = progress_bar();
                seed::seed(db, &options, &bar).await?;
                bar.finish();
            }
            let installed = bundled::install(&state.context, &Principal::cli()).await?;
            for (slot, plugin) in &installed {
                println!(
                    "activated {}@{} in slot {slot}",
                    plugin.name, plugin.version
                );
            }
            for (slot, plugin) in &installed {
                if plugin.kind == PluginKind::Segmenter {
                    segment_with_progress(&state, slot).await?;
                }
            }
            let name = format!("demo-admin-{}", Utc::now().format("%Y%m%d-%H%M%S"));
            let key =
                api_keys::create(db, &name, Role::Admin, &Principal::cli(), Utc::now()).await?;
            println!(
                "admin API key {name} (send it as `Authorization: Bearer <key>`; in GraphiQL, under Headers):\n{}",
                key.secret
            );
            drop(state);
            serve(settings).await
        }
        Command::Plugin { action } => plugin_command(settings(cli.database, None)?, action).await,
        Command::Rules { action } => rules::run(settings(cli.database, None)?, action).await,
        Command::Segment {
            action: SegmentCommand::Run { slot },
        } => {
            let state = AppState::new(settings(cli.database, None)?).await?;
            let started = std::time::Instant::now();
            let run = segment_with_progress(&state, &slot).await?;
            println!(
                "run {} of slot {slot}: {} customers classified, {} changed segment, in {:.1}s",
                run.id,
                run.customers,
                run.changed,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Experiment { action } => {
            let state = AppState::new(settings(cli.database, None)?).await?;
            experiment::run(&state, action).await
        }
        Command::Report { action } => {
            let settings = settings(cli.database, None)?;
            let db = database::connect(&settings, None).await?;
            database::migrate(&db).await?;
            report::run(&db, action).await
        }
        Command::Points {
            action: PointsCommand::Expire { as_of },
        } => {
            let settings = settings(cli.database, None)?;
            let db = database::connect(&settings, None).await?;
            database::migrate(&db).await?;
            let as_of = as_of.unwrap_or_else(Utc::now);
            let expired = loyalty::expiry::expire_due(&db, as_of).await?;
            println!(
                "expired {} points in {} lots of {} customers as of {}",
                expired.points,
                expired.lots,
                expired.customers,
                as_of.to_rfc3339()
            );
            Ok(())
        }
        Command::Keys { action } => {
            let settings = settings(cli.database, None)?;
            let db = database::connect(&settings, None).await?;
            database::migrate(&db).await?;
            key_command(&db, action).await
        }
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
    }
}
