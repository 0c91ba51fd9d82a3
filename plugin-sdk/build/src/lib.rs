//! Build Retain plugin crates into WebAssembly components, from a build script.
//!
//! The gateway's `build.rs` builds the bundled plugins and the tests' `build.rs`
//! builds hostile test guests with [`build_components`]; the gateway's publish
//! path turns uploaded core modules into components with [`componentize`].
//!
//! ```no_run
//! use retain_plugin_build::{BuildOptions, build_components};
//!
//! let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
//! let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
//! let options = BuildOptions::new(workspace.join("Cargo.toml"), out_dir)
//!     .package("retain-plugin-rfm-tiers");
//! for component in build_components(&options).unwrap() {
//!     for dir in &component.source_dirs {
//!         println!("cargo:rerun-if-changed={}", dir.display());
//!     }
//! }
//! ```

mod cargo;
mod componentize;
mod error;

use std::path::{Path, PathBuf};

pub use componentize::componentize;
pub use error::Error;

/// The target plugins are built for: a guest built for it has no WASI imports.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// What to build, from which workspace, and where the components go.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    manifest_path: PathBuf,
    packages: Vec<String>,
    out_dir: PathBuf,
    target_dir: Option<PathBuf>,
}

impl BuildOptions {
    /// Builds packages of the workspace (or package) at `manifest_path` and
    /// writes `<package>.wasm` components into `out_dir`.
    pub fn new(manifest_path: impl Into<PathBuf>, out_dir: impl Into<PathBuf>) -> Self {
        Self {
            manifest_path: manifest_path.into(),
            packages: Vec::new(),
            out_dir: out_dir.into(),
            target_dir: None,
        }
    }

    /// Adds a package to build; its library must have crate-type `cdylib`.
    pub fn package(mut self, name: impl Into<String>) -> Self {
        self.packages.push(name.into());
        self
    }

    /// Cargo's target directory for the wasm build. Defaults to
    /// `target/wasm-plugins` next to the manifest: separate from the outer
    /// build's, whose lock the outer cargo holds while build scripts run.
    pub fn target_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.target_dir = Some(dir.into());
        self
    }

    fn resolved_target_dir(&self) -> PathBuf {
        self.target_dir.clone().unwrap_or_else(|| {
            let root = self.manifest_path.parent().unwrap_or(Path::new("."));
            root.join("target").join("wasm-plugins")
        })
    }
}

/// A component written by [`build_components`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltComponent {
    /// The package it was built from.
    pub package: String,
    /// `<out_dir>/<package>.wasm`.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Directories of the local packages the build compiled (the plugin and path
    /// dependencies such as the SDK), for `cargo:rerun-if-changed`. WIT files
    /// outside them (the SDK reads `schema/wit`) need their own line.
    pub source_dirs: Vec<PathBuf>,
}

/// Builds `options`' packages for [`WASM_TARGET`] in release mode with one
/// cargo invocation, turns each core module into a validated component and
/// writes it to the output directory.
///
/// Installs the target with `rustup` if it is missing. Environment variables a
/// build script inherits from the outer cargo (target, flags, features, jobserver,
/// wrappers) are not passed on.
pub fn build_components(options: &BuildOptions) -> Result<Vec<BuiltComponent>, Error> {
    if options.packages.is_empty() {
        // Without `--package`, cargo would build every default member.
        return Ok(Vec::new());
    }
    cargo::ensure_wasm_target()?;
    let build = cargo::build(options)?;
    std::fs::create_dir_all(&options.out_dir).map_err(|source| Error::Io {
        path: options.out_dir.clone(),
        source,
    })?;
    options
        .packages
        .iter()
        .map(|package| write_component(&build, package, &options.out_dir))
        .collect()
}

/// Turns `package`'s core module into `<out_dir>/<package>.wasm`.
fn write_component(
    build: &cargo::Build,
    package: &str,
    out_dir: &Path,
) -> Result<BuiltComponent, Error> {
    let module_path = build.module(package)?;
    let module = std::fs::read(module_path).map_err(|source| Error::Io {
        path: module_path.to_owned(),
        source,
    })?;
    let component = componentize::encode(&module).map_err(|reason| Error::Componentize {
        module: package.to_owned(),
        reason,
    })?;
    let path = out_dir.join(format!("{package}.wasm"));
    std::fs::write(&path, &component).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    Ok(BuiltComponent {
        package: package.to_owned(),
        path,
        size: component.len() as u64,
        source_dirs: build.source_dirs.clone(),
    })
}
