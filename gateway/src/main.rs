//! The `retain` binary: parse the command line, set up logging, run.

use std::io::IsTerminal;

use clap::Parser;
use retain_gateway::cli::{self, Cli};
use retain_gateway::config::{LogFormat, Settings};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let format = Settings::load()
        .map(|s| s.log_format)
        .unwrap_or(LogFormat::Text);
    let filter =
        EnvFilter::try_from_env("RETAIN_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.init(),
    }
    cli::run(cli).await
}
