//! Builds the bundled strategy plugins (`plugins/*`) for wasm32 and turns them into
//! components, which `plugins::bundled` embeds: the binary carries its default
//! strategies, and they are always built from source.

use std::path::PathBuf;

use retain_plugin_build::{BuildOptions, build_components};

const BUNDLED: [&str; 6] = [
    "retain-plugin-rfm-tiers",
    "retain-plugin-lifecycle",
    "retain-plugin-membership-level",
    "retain-plugin-churn-risk",
    "retain-plugin-copurchase-recs",
    "retain-plugin-popular-in-segment",
];

fn main() {
    let gateway = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = gateway
        .parent()
        .expect("the gateway lives in the workspace");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    let options = BUNDLED.iter().fold(
        BuildOptions::new(workspace.join("Cargo.toml"), &out_dir),
        |o, p| o.package(*p),
    );
    let built = build_components(&options).unwrap_or_else(|err| panic!("{err}"));
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("schema/wit").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("Cargo.lock").display()
    );
    for component in built {
        for dir in &component.source_dirs {
            println!("cargo:rerun-if-changed={}", dir.display());
        }
    }
}
