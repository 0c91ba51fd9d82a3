//! The WebAssembly strategy-plugin host: wasmtime set up for many small, bounded
//! calls (`engine`), the bindings of each contract version (`v1`), compiling and
//! calling a component under limits (`loader`), the published versions in the
//! database (`registry`), and the live slot bindings every replica serves
//! (`slots`), and the plugins that ship with Retain (`bundled`).

pub mod batch;
pub mod bundled;
pub mod engine;
pub mod loader;
pub mod registry;
pub mod slots;
pub mod v1;

pub use engine::PluginEngine;
pub use loader::{CallError, LoadedPlugin};
pub use slots::SlotTable;
