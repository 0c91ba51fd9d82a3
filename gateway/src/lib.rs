//! Retain's gateway: the GraphQL server, the services behind it, and the CLI's work.

pub mod app;
pub mod auth;
pub mod callbacks;
pub mod cli;
pub mod config;
pub mod database;
pub mod error;
pub mod graphql;
pub mod http;
pub mod import;
pub mod memory;
pub mod metrics;
pub mod paging;
pub mod persisted;
pub mod plugins;
pub mod seed;
pub mod services;
pub mod telemetry;
