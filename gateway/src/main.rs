//! The `retain` binary: parse the command line, set up logging, run.

use clap::Parser;
use retain_gateway::cli::{self, Cli};
use retain_gateway::config::Settings;
use retain_gateway::telemetry;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // A broken config is reported by the command that loads it; logging starts
    // with the defaults meanwhile.
    let settings = Settings::load().unwrap_or_default();
    let _telemetry = telemetry::init(settings.log_format, &settings.telemetry)?;
    cli::run(cli).await
}
