//! Running the inner `cargo build` (and `rustup`) from inside a build script.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

use crate::{BuildOptions, Error, WASM_TARGET};

/// Variables the outer cargo sets for a build script that describe the outer
/// build, not ours: host flags break or bloat wasm (`-C target-cpu=native`,
/// coverage), the target directory and target would point at the outer build,
/// the jobserver's descriptors are not inherited, and the workspace wrapper is
/// `clippy-driver` under `cargo clippy`. `RUSTC` and `RUSTC_WRAPPER` stay: the
/// same compiler, and caches like sccache work for wasm too.
const OUTER_BUILD_VARS: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "CARGO_PRIMARY_PACKAGE",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "OUT_DIR",
    "TARGET",
    "HOST",
    "NUM_JOBS",
    "OPT_LEVEL",
    "DEBUG",
    "PROFILE",
];

/// Prefixes of the same kind: the outer package's cfg, features, metadata and
/// `links` values.
const OUTER_BUILD_PREFIXES: &[&str] = &["CARGO_CFG_", "CARGO_FEATURE_", "CARGO_PKG_", "DEP_"];

/// What one `cargo build` produced.
pub(crate) struct Build {
    modules: HashMap<String, PathBuf>,
    pub(crate) source_dirs: Vec<PathBuf>,
}

impl Build {
    /// The core module of `package`.
    pub(crate) fn module(&self, package: &str) -> Result<&Path, Error> {
        self.modules
            .get(package)
            .map(PathBuf::as_path)
            .ok_or_else(|| Error::NoModule(package.to_owned()))
    }
}

/// Installs the wasm target into the active toolchain unless it is there.
pub(crate) fn ensure_wasm_target() -> Result<(), Error> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut print_sysroot = Command::new(rustc);
    print_sysroot.args(["--print", "sysroot"]);
    let sysroot = run(print_sysroot)?.stdout;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot).trim());
    if sysroot
        .join("lib")
        .join("rustlib")
        .join(WASM_TARGET)
        .is_dir()
    {
        return Ok(());
    }
    let mut add_target = Command::new("rustup");
    add_target.args(["target", "add", WASM_TARGET]);
    run(add_target).map(drop)
}

/// Builds every package of `options` in release mode for the wasm target.
pub(crate) fn build(options: &BuildOptions) -> Result<Build, Error> {
    let target_dir = options.resolved_target_dir();
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .args(["build", "--release", "--target", WASM_TARGET])
        .arg("--message-format=json-render-diagnostics")
        .arg("--manifest-path")
        .arg(&options.manifest_path)
        .arg("--target-dir")
        .arg(&target_dir)
        // A configured `build.build-dir` would be shared with the outer build.
        .env("CARGO_BUILD_BUILD_DIR", &target_dir)
        // Components are stored in the database and loaded by every replica;
        // DWARF is most of a module's size and the host does not read it.
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        // One optimisation unit across the plugin, the SDK and serde: the SDK's
        // batch loop is generic over the plugin's rules, and cross-crate inlining
        // of the per-customer path is most of a plugin's speed.
        .env("CARGO_PROFILE_RELEASE_LTO", "fat")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1");
    for package in &options.packages {
        command.arg("--package").arg(package);
    }
    for (name, _) in std::env::vars_os() {
        if is_outer_build_var(&name) {
            command.env_remove(name);
        }
    }
    let output = run(command)?;
    Ok(read_messages(&output.stdout))
}

fn is_outer_build_var(name: &OsString) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    OUTER_BUILD_VARS.contains(&name)
        || OUTER_BUILD_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

/// The fields of cargo's JSON messages used here.
#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    package_id: String,
    #[serde(default)]
    manifest_path: Option<PathBuf>,
    #[serde(default)]
    filenames: Vec<PathBuf>,
}

/// Collects each package's `.wasm` and the directories of local packages from
/// cargo's `compiler-artifact` messages (fresh artifacts are reported too).
fn read_messages(stdout: &[u8]) -> Build {
    let mut build = Build {
        modules: HashMap::new(),
        source_dirs: Vec::new(),
    };
    let messages = stdout
        .split(|&byte| byte == b'\n')
        .filter_map(|line| serde_json::from_slice::<Message>(line).ok())
        .filter(|message| message.reason == "compiler-artifact");
    for message in messages {
        if message.package_id.starts_with("path+")
            && let Some(dir) = message.manifest_path.as_deref().and_then(Path::parent)
            && !build.source_dirs.iter().any(|known| known == dir)
        {
            build.source_dirs.push(dir.to_owned());
        }
        let wasm = message
            .filenames
            .iter()
            .find(|file| file.extension() == Some("wasm".as_ref()));
        if let (Some(wasm), Some(package)) = (wasm, package_name(&message.package_id)) {
            build.modules.insert(package.to_owned(), wasm.clone());
        }
    }
    build
}

/// The package name in a package ID spec: `path+file:///w/plugins/x#retain-x@0.1.0`
/// gives `retain-x`; cargo writes just `#0.1.0` when the name is the directory's.
fn package_name(id: &str) -> Option<&str> {
    let (url, fragment) = id.rsplit_once('#')?;
    match fragment.split_once('@') {
        Some((name, _version)) => Some(name),
        None if fragment.starts_with(|c: char| c.is_ascii_digit()) => url.rsplit('/').next(),
        None => Some(fragment),
    }
}

/// Runs `command` to completion, capturing its output; a failure carries stderr.
fn run(mut command: Command) -> Result<Output, Error> {
    let line = command_line(&command);
    let output = command.output().map_err(|source| Error::Spawn {
        command: line.clone(),
        source,
    })?;
    if !output.status.success() {
        return Err(Error::Failed {
            command: line,
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(output)
}

fn command_line(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_from_package_id_specs() {
        let named = "path+file:///w/plugins/rfm-tiers#retain-plugin-rfm-tiers@0.1.0";
        assert_eq!(package_name(named), Some("retain-plugin-rfm-tiers"));
        assert_eq!(
            package_name("path+file:///w/plugins/lifecycle#0.1.0"),
            Some("lifecycle")
        );
        assert_eq!(
            package_name("registry+https://x#serde@1.0.228"),
            Some("serde")
        );
        assert_eq!(package_name("no-fragment"), None);
    }

    #[test]
    fn outer_build_variables_are_recognised() {
        for name in [
            "RUSTFLAGS",
            "CARGO_CFG_TARGET_OS",
            "CARGO_FEATURE_STD",
            "DEP_Z_INCLUDE",
        ] {
            assert!(is_outer_build_var(&name.into()), "{name}");
        }
        for name in ["PATH", "HOME", "RUSTUP_TOOLCHAIN", "CARGO_HOME", "RUSTC"] {
            assert!(!is_outer_build_var(&name.into()), "{name}");
        }
    }

    #[test]
    fn messages_give_modules_and_local_source_dirs() {
        let stdout = br#"{"reason":"compiler-artifact","package_id":"registry+https://x#serde@1.0.0","manifest_path":"/reg/serde/Cargo.toml","filenames":["/t/libserde.rlib"]}
{"reason":"compiler-artifact","package_id":"path+file:///w/plugin-sdk#retain-plugin-sdk@0.1.0","manifest_path":"/w/plugin-sdk/Cargo.toml","filenames":["/t/libretain_plugin_sdk.rlib"]}
not json
{"reason":"compiler-artifact","package_id":"path+file:///w/plugins/x#retain-plugin-x@0.1.0","manifest_path":"/w/plugins/x/Cargo.toml","filenames":["/t/retain_plugin_x.wasm","/t/libretain_plugin_x.rlib"]}
{"reason":"build-finished","success":true}"#;
        let build = read_messages(stdout);
        assert_eq!(
            build.module("retain-plugin-x").unwrap(),
            Path::new("/t/retain_plugin_x.wasm")
        );
        assert!(matches!(
            build.module("retain-plugin-sdk"),
            Err(Error::NoModule(_))
        ));
        assert_eq!(
            build.source_dirs,
            [Path::new("/w/plugin-sdk"), Path::new("/w/plugins/x")]
        );
    }
}
