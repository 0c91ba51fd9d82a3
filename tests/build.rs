//! Builds the test guests (`tests/guests/*`) for wasm32 and turns them into
//! components, which `retain_tests::guests` embeds: test plugins are built from
//! source like the bundled ones, never checked in.

use std::path::PathBuf;

use retain_plugin_build::{BuildOptions, build_components};

const GUESTS: [&str; 5] = [
    "retain-guest-hostile",
    "retain-guest-bad-output",
    "retain-guest-other-world",
    "retain-guest-greedy",
    "retain-guest-big-spenders",
];

fn main() {
    let tests = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = tests.parent().expect("the tests live in the workspace");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    let options = GUESTS.iter().fold(
        BuildOptions::new(workspace.join("Cargo.toml"), &out_dir),
        |o, g| o.package(*g),
    );
    let built = build_components(&options).unwrap_or_else(|err| panic!("{err}"));
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("schema/wit").display()
    );
    for component in built {
        for dir in &component.source_dirs {
            println!("cargo:rerun-if-changed={}", dir.display());
        }
    }
}
