//! Retain's storage contract: the sea-orm entities every service reads and writes,
//! and the migrations that create them on SQLite and PostgreSQL alike.
//!
//! Conventions: money is an integer amount of minor units plus an ISO 4217 currency
//! code; timestamps are UTC; every filter the GraphQL API offers has an index.

pub mod entities;
pub mod migration;

pub use entities::*;
pub use migration::Migrator;

pub use sea_orm_migration::MigratorTrait;
