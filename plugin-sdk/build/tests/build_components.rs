//! Builds real bundled plugins with `build_components` and checks the result is a
//! valid component importing nothing but the `retain:strategy` interfaces.
//!
//! The wasm build shares `target/wasm-plugins` with the gateway's build script,
//! so it is quick once the gateway has been built; a cold build takes a minute
//! or two on two cores.

use std::path::{Path, PathBuf};

use retain_plugin_build::{BuildOptions, BuiltComponent, build_components, componentize};
use wasmparser::{ComponentTypeRef, Parser, Payload, Validator};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The component's top-level imports the host must supply (instances and
/// functions; type imports are only names for types) and its exports.
fn interface(component: &BuiltComponent) -> (Vec<String>, Vec<String>) {
    let bytes = std::fs::read(&component.path).unwrap();
    assert_eq!(bytes.len() as u64, component.size);
    assert!(Parser::is_component(&bytes));
    Validator::new().validate_all(&bytes).unwrap();
    let (mut imports, mut exports, mut depth) = (Vec::new(), Vec::new(), 0);
    for payload in Parser::new(0).parse_all(&bytes) {
        match payload.unwrap() {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) if depth > 0 => depth -= 1,
            Payload::ComponentImportSection(section) if depth == 0 => {
                for import in section {
                    let import = import.unwrap();
                    if !matches!(import.ty, ComponentTypeRef::Type(_)) {
                        imports.push(import.name.name.to_owned());
                    }
                }
            }
            Payload::ComponentExportSection(section) if depth == 0 => {
                for export in section {
                    exports.push(export.unwrap().name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    (imports, exports)
}

const SEGMENTERS: [&str; 4] = ["rfm-tiers", "lifecycle", "membership-level", "churn-risk"];
const RECOMMENDERS: [&str; 2] = ["copurchase-recs", "popular-in-segment"];

#[test]
fn bundled_plugins_become_components_that_import_only_retain_interfaces() {
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("components");
    let packages = SEGMENTERS
        .iter()
        .chain(&RECOMMENDERS)
        .map(|name| format!("retain-plugin-{name}"));
    let options = packages.fold(
        BuildOptions::new(workspace().join("Cargo.toml"), &out_dir),
        BuildOptions::package,
    );
    let built = build_components(&options).unwrap();
    assert_eq!(built.len(), 6);

    let rfm = &built[0];
    assert_eq!(rfm.path, out_dir.join("retain-plugin-rfm-tiers.wasm"));
    for source in ["plugin-sdk", "plugins/rfm-tiers"] {
        assert!(
            rfm.source_dirs.iter().any(|dir| dir.ends_with(source)),
            "{source}"
        );
    }

    let (segmenters, recommenders) = built.split_at(SEGMENTERS.len());
    for segmenter in segmenters {
        let (imports, exports) = interface(segmenter);
        // `log` only when the plugin logs; the bundled segmenters do not.
        assert_eq!(
            imports,
            ["retain:strategy/types@1.0.0"],
            "{}",
            segmenter.package
        );
        assert_eq!(exports, ["describe", "classify"]);
    }
    for recommender in recommenders {
        let (mut imports, exports) = interface(recommender);
        imports.retain(|name| name != "retain:strategy/log@1.0.0");
        let expected = [
            "retain:strategy/types@1.0.0",
            "retain:strategy/catalog@1.0.0",
        ];
        assert_eq!(imports, expected, "{}", recommender.package);
        assert_eq!(exports, ["describe", "recommend"]);
    }

    // A ready component passes through `componentize` unchanged.
    let bytes = std::fs::read(&rfm.path).unwrap();
    assert_eq!(componentize(&bytes).unwrap(), bytes);
}

#[test]
fn garbage_is_not_a_module() {
    let error = componentize(b"\0asm\x01\0\0\0garbage").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("could not turn the module into a component"),
        "{error}"
    );
}
