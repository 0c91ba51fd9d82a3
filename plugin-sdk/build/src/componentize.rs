//! Core module → component, in process, with the `wit-component` encoder.

use crate::Error;

/// Turns a core module built with wit-bindgen (for `wasm32-unknown-unknown`)
/// into a validated component; a component is validated and returned as is.
///
/// The module's embedded `component-type` custom sections name the world, so no
/// WIT is needed here. No WASI adapter is involved: a plugin that imports WASI
/// is rejected.
pub fn componentize(wasm: &[u8]) -> Result<Vec<u8>, Error> {
    encode(wasm).map_err(|reason| Error::Componentize {
        module: "the module".into(),
        reason,
    })
}

pub(crate) fn encode(wasm: &[u8]) -> Result<Vec<u8>, String> {
    if wasmparser::Parser::is_component(wasm) {
        wasmparser::Validator::new()
            .validate_all(wasm)
            .map_err(|error| format!("invalid component: {error}"))?;
        return Ok(wasm.to_vec());
    }
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(wasm)
        .and_then(|encoder| encoder.encode())
        .map_err(|error| format!("{error:#}"))
}
