//! Connecting to SQLite or PostgreSQL, running migrations, and counting statements.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use retain_schema::MigratorTrait;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::Settings;
use crate::metrics::Metrics;

/// Bytes of the SQLite file mapped into memory, per connection (address space, not
/// resident memory).
const SQLITE_MMAP_BYTES: u64 = 1 << 30;
/// SQLite's page cache per connection; negative means KiB.
const SQLITE_CACHE_KIB: i64 = -32 * 1024;

/// Opens the configured database. SQLite runs in WAL mode with foreign keys on, so
/// readers never block the writer.
pub async fn connect(
    settings: &Settings,
    metrics: Option<Arc<Metrics>>,
) -> anyhow::Result<DatabaseConnection> {
    let url = settings.effective_database_url();
    if settings.database_url.is_none() {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating data directory {}", settings.data_dir.display()))?;
    }
    let mut options = ConnectOptions::new(url.clone());
    options
        .max_connections(settings.database_pool_size)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // Profile queries over a whole shop read most of the file: map it
                // and keep a larger page cache instead of a pread per B-tree page.
                .pragma("mmap_size", SQLITE_MMAP_BYTES.to_string())
                .pragma("cache_size", SQLITE_CACHE_KIB.to_string())
        });
    let mut db = Database::connect(options)
        .await
        .with_context(|| format!("connecting to {}", redact(&url)))?;
    if let Some(metrics) = metrics {
        db.set_metric_callback(move |_info| {
            metrics.sql_statements.inc();
        });
    }
    Ok(db)
}

/// Begins a transaction that reads before it writes. On SQLite it takes the
/// write lock at `BEGIN` (waiting up to the busy timeout): a deferred
/// transaction that read first fails at once with "database is locked" when
/// another connection committed a write meanwhile. PostgreSQL ignores the mode.
pub async fn begin_write<C: TransactionTrait>(db: &C) -> Result<C::Transaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    retain_schema::Migrator::up(db, None)
        .await
        .context("running migrations")
}

/// Refreshes PostgreSQL's planner statistics of `tables` after a bulk write.
/// Without them a freshly loaded table looks empty to the planner, which then
/// scans a million order lines to find one customer's (measured: 140 ms instead of
/// 0.2 ms); autovacuum catches up only later, or never where it is switched off.
/// SQLite plans well without statistics, so it is left alone.
pub async fn analyze(db: &impl ConnectionTrait, tables: &[&str]) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres && !tables.is_empty() {
        db.execute_unprepared(&format!("ANALYZE {}", tables.join(", ")))
            .await?;
    }
    Ok(())
}

/// `analyze` after loading whole tables, plus PostgreSQL's visibility map: until a
/// vacuum marks the pages all-visible, every index-only scan also reads the rows
/// (a segmentation batch on 100,000 seeded customers: 100 ms before, 30 ms after).
/// Autovacuum would get there eventually; where it is switched off, never.
pub async fn vacuum_analyze(db: &DatabaseConnection, tables: &[&str]) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres && !tables.is_empty() {
        db.execute_unprepared(&format!("VACUUM (ANALYZE) {}", tables.join(", ")))
            .await?;
    }
    Ok(())
}

/// Whether the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

/// Open and idle connections of the pool.
pub fn pool_usage(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
    }
}

/// Human-readable name of the backend, for logs and reports.
pub fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Postgres => "postgres",
        DbBackend::Sqlite => "sqlite",
        _ => "other",
    }
}

/// The URL without its password, safe to log.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// `column`'s calendar month in UTC as `YYYY-MM`, for grouping in raw
/// statements: timestamps are RFC 3339 text on SQLite and `timestamptz` on
/// PostgreSQL.
pub fn month_of(backend: sea_orm::DbBackend, column: &str) -> String {
    match backend {
        sea_orm::DbBackend::Postgres => format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"),
        _ => format!("substr({column}, 1, 7)"),
    }
}

/// `column`'s calendar day in UTC as `YYYY-MM-DD` (see [`month_of`]).
pub fn day_of(backend: sea_orm::DbBackend, column: &str) -> String {
    match backend {
        sea_orm::DbBackend::Postgres => {
            format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
        }
        _ => format!("substr({column}, 1, 10)"),
    }
}

/// A date column's month and day as `MM-DD` (see [`month_of`]; dates are
/// `YYYY-MM-DD` text on SQLite).
pub fn month_day_of(backend: sea_orm::DbBackend, column: &str) -> String {
    match backend {
        sea_orm::DbBackend::Postgres => format!("to_char({column}, 'MM-DD')"),
        _ => format!("substr({column}, 6, 5)"),
    }
}

/// An aggregate giving, as JSON text, an array with one [`json_array`] of
/// `columns` per row it aggregates: many small rows read as one value (see
/// `services::features`). Over no rows it is `[]` on SQLite and NULL on
/// PostgreSQL.
pub fn json_rows(backend: sea_orm::DbBackend, columns: &str) -> String {
    let row = json_array(backend, columns);
    match backend {
        sea_orm::DbBackend::Postgres => format!("CAST(json_agg({row}) AS TEXT)"),
        _ => format!("json_group_array({row})"),
    }
}

/// A JSON array of `columns`; one nested in another stays an array.
pub fn json_array(backend: sea_orm::DbBackend, columns: &str) -> String {
    match backend {
        sea_orm::DbBackend::Postgres => format!("json_build_array({columns})"),
        _ => format!("json_array({columns})"),
    }
}

/// A `FROM` item over the elements of a JSON array bound as its one parameter,
/// each as `e.value`, so `e.value ->> n` is its nth member: many rows written
/// with one parameter (see `services::segmentation`).
pub fn json_elements(backend: sea_orm::DbBackend) -> &'static str {
    match backend {
        sea_orm::DbBackend::Postgres => "json_array_elements(CAST(? AS JSON)) AS e(value)",
        _ => "json_each(?) AS e",
    }
}

/// A raw statement written with `?` placeholders, numbered `$1, $2, …` for
/// PostgreSQL. For the few grouped queries sea-query cannot express portably.
pub fn statement(
    backend: sea_orm::DbBackend,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> sea_orm::Statement {
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            let mut numbered = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    numbered.push_str(&format!("${n}"));
                } else {
                    numbered.push(c);
                }
            }
            numbered
        }
        _ => sql.to_owned(),
    };
    sea_orm::Statement::from_sql_and_values(backend, sql, values)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://retain:s3cret@db:5432/retain"),
            "postgres://retain:***@db:5432/retain"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(
            redact("sqlite://retain-data/retain.db?mode=rwc"),
            "sqlite://retain-data/retain.db?mode=rwc"
        );
    }
}
