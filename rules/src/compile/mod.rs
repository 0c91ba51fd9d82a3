//! Rules to a WebAssembly component of the contract's `segmenter` world, in
//! process: the core module is generated directly (`module`), then wrapped with
//! the contract's WIT by `wit-component`. No toolchain is involved.

mod abi;
mod data;
mod module;

pub use module::MAX_TAGS;

use crate::ruleset::RuleSet;

/// The contract the component implements, embedded so the compiler needs no
/// files at run time.
const WIT: &str = include_str!("../../../schema/wit/strategy.wit");
const WORLD: &str = "segmenter";

/// Why a parsed rule set could not become a component: a bug, not bad rules.
#[derive(Debug, thiserror::Error)]
#[error("encoding the component failed: {0}")]
pub struct CompileError(String);

impl RuleSet {
    /// The core module alone, without component metadata.
    pub fn core_module(&self) -> Vec<u8> {
        module::core_module(self)
    }

    /// The component: the core module with the `segmenter` world embedded and
    /// encoded as a component.
    pub fn compile(&self) -> Result<Vec<u8>, CompileError> {
        let mut resolve = wit_parser::Resolve::default();
        let package = resolve.push_str("strategy.wit", WIT).map_err(fail)?;
        let world = resolve
            .select_world(&[package], Some(WORLD))
            .map_err(fail)?;
        let mut core = self.core_module();
        wit_component::embed_component_metadata(
            &mut core,
            &resolve,
            world,
            wit_component::StringEncoding::UTF8,
        )
        .map_err(fail)?;
        wit_component::ComponentEncoder::default()
            .validate(true)
            .module(&core)
            .and_then(|encoder| encoder.encode())
            .map_err(fail)
    }
}

/// wit-component's errors, with their causes.
fn fail(err: impl std::fmt::Display) -> CompileError {
    CompileError(format!("{err:#}"))
}
