//! `retain rules …`: check, compile and preview rule files. Checking and
//! compiling touch no database.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use retain_rules::RuleSet;

use super::experiment::shadow_table;
use super::progress_bar;
use crate::app::AppState;
use crate::config::Settings;
use crate::error::ServiceError;
use crate::services::rules;

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Parse and check a rule file; print every error with its line and column.
    Check { file: PathBuf },
    /// Compile a rule file into a segmenter component, ready for
    /// `retain plugin publish`.
    Compile {
        file: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Classify every customer with the rules and with the slot's active
    /// version: both segment distributions and the transition matrix. Nothing is
    /// published or stored.
    Preview {
        file: PathBuf,
        #[arg(long)]
        slot: String,
    },
}

pub async fn run(settings: Settings, action: RulesCommand) -> anyhow::Result<()> {
    match action {
        RulesCommand::Check { file } => check(&file),
        RulesCommand::Compile { file, output } => compile(&file, &output),
        RulesCommand::Preview { file, slot } => {
            let source = read(&file)?;
            let state = AppState::new(settings).await?;
            let bar = progress_bar();
            let report = rules::preview(&state.context, &slot, &source, &|done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })
            .await
            .map_err(|err| located(&file, err))?;
            bar.finish_and_clear();
            print!("{}", shadow_table(&report));
            Ok(())
        }
    }
}

fn read(file: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
}

/// Parses `file`, or fails with every error as `FILE:LINE:COLUMN: message`.
fn parse(file: &Path) -> anyhow::Result<RuleSet> {
    let source = read(file)?;
    RuleSet::parse(&source).map_err(|errors| located(file, ServiceError::Rules(errors)))
}

/// Rule errors in the form editors jump to; other errors as they are.
fn located(file: &Path, err: ServiceError) -> anyhow::Error {
    let ServiceError::Rules(errors) = err else {
        return err.into();
    };
    let lines: Vec<String> = errors
        .0
        .iter()
        .map(|e| {
            let hint = e
                .hint
                .as_ref()
                .map(|h| format!(" (hint: {h})"))
                .unwrap_or_default();
            format!(
                "{}:{}:{}: {}{hint}",
                file.display(),
                e.line,
                e.column,
                e.message
            )
        })
        .collect();
    anyhow::anyhow!(
        "{} error(s) in {}:\n{}",
        lines.len(),
        file.display(),
        lines.join("\n")
    )
}

fn check(file: &Path) -> anyhow::Result<()> {
    let rules = parse(file)?;
    let keys: Vec<&str> = rules.segments.iter().map(|s| s.key.as_str()).collect();
    let features: Vec<&str> = rules.features().into_iter().map(|f| f.name()).collect();
    println!(
        "{}: {} {} — {} segments ({}), reads {}{}",
        file.display(),
        rules.name,
        rules.version,
        keys.len(),
        keys.join(", "),
        if features.is_empty() {
            "no features".into()
        } else {
            features.join(", ")
        },
        if rules.tags().is_empty() {
            String::new()
        } else {
            format!(" and tags {}", rules.tags().join(", "))
        },
    );
    Ok(())
}

fn compile(file: &Path, output: &Path) -> anyhow::Result<()> {
    let rules = parse(file)?;
    let component = rules.compile()?;
    std::fs::write(output, &component).with_context(|| format!("writing {}", output.display()))?;
    println!(
        "compiled {} {} into {} ({} bytes)",
        rules.name,
        rules.version,
        output.display(),
        component.len()
    );
    Ok(())
}
