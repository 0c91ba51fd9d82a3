//! The `retain` command line: serve, migrate, seed, import, demo, schema.

use std::path::PathBuf;

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use retain_schema::customer;
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::app::{AppState, Application, shutdown_signal};
use crate::config::Settings;
use crate::import::{self, ImportKind};
use crate::seed::{self, SeedOptions};
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
    /// Migrate, seed demo data if the database is empty, and serve with GraphiQL.
    Demo {
        #[arg(long, env = "RETAIN_BIND")]
        bind: Option<String>,
        /// Customers to generate when the database is empty.
        #[arg(long, default_value_t = 5_000)]
        customers: u64,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
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
            drop(state);
            serve(settings).await
        }
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
    }
}
