//! Why a plugin build failed.

use std::path::PathBuf;
use std::process::ExitStatus;

/// Why building or componentizing a plugin failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tool (cargo, rustc, rustup) could not be started.
    #[error("could not run `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why it could not start.
        #[source]
        source: std::io::Error,
    },
    /// A tool ran and failed; `stderr` says why (compiler errors included).
    #[error("`{command}` failed ({status}):\n{stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// What it printed on stderr.
        stderr: String,
    },
    /// Cargo succeeded but produced no `.wasm` for a requested package.
    #[error(
        "cargo built no wasm module for package `{0}`: is it in the workspace, with crate-type \"cdylib\"?"
    )]
    NoModule(String),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The core module could not become a component, e.g. it was not built with
    /// wit-bindgen or does not implement a `retain:strategy` world.
    #[error("could not turn {module} into a component: {reason}")]
    Componentize {
        /// The package, or "the module" for [`componentize`](crate::componentize).
        module: String,
        /// The encoder's explanation.
        reason: String,
    },
}
