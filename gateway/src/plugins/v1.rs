//! Contract `retain:strategy@1.0.0`: the generated bindings of its worlds and the
//! host side of its imports. A later contract version gets a module of its own, so
//! plugins built against this one keep loading.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Engine, ResourceLimiter};

use crate::services::recommendations::CatalogFacts;

/// The WIT package plugins of this version are built against.
pub const CONTRACT: &str = "retain:strategy@1.0.0";

pub mod segmenter {
    wasmtime::component::bindgen!({
        path: "../schema/wit",
        world: "segmenter",
    });
}

pub mod recommender {
    wasmtime::component::bindgen!({
        path: "../schema/wit",
        world: "recommender",
        with: {
            "retain:strategy/types": super::segmenter::retain::strategy::types,
            "retain:strategy/log": super::segmenter::retain::strategy::log,
        },
    });
}

pub use recommender::retain::strategy::catalog;
pub use segmenter::retain::strategy::{log, types};

/// Log lines kept per call, and their length: enough to debug, too little to
/// flood the gateway's logs.
const MAX_LOG_LINES: usize = 20;
const MAX_LOG_LINE_BYTES: usize = 512;
/// Most products one catalogue import returns, whatever the plugin asks for.
const MAX_CATALOG_ANSWER: u32 = 200;

/// What one plugin call may touch: its memory cap, its log, and for recommenders
/// the catalogue facts.
pub struct HostState {
    memory_cap: usize,
    /// Set when the plugin tried to grow past `memory_cap`, so the trap that
    /// follows is reported as what it is.
    pub(super) memory_exceeded: bool,
    pub(super) log: Vec<String>,
    catalog: Option<Arc<CatalogFacts>>,
}

impl HostState {
    pub(super) fn new(memory_cap: usize, catalog: Option<Arc<CatalogFacts>>) -> Self {
        Self {
            memory_cap,
            memory_exceeded: false,
            log: Vec::new(),
            catalog,
        }
    }

    fn catalog(&self) -> &CatalogFacts {
        self.catalog
            .as_deref()
            .expect("recommender calls always carry catalogue facts")
    }
}

impl ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            self.memory_exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl types::Host for HostState {}

impl log::Host for HostState {
    fn write(&mut self, level: log::Level, message: String) {
        if self.log.len() >= MAX_LOG_LINES {
            return;
        }
        let mut message = message;
        if message.len() > MAX_LOG_LINE_BYTES {
            let mut end = MAX_LOG_LINE_BYTES;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        self.log.push(format!("{level:?}: {message}"));
    }
}

impl catalog::Host for HostState {
    fn co_purchased(&mut self, product: i64, limit: u32) -> Vec<types::WeightedProduct> {
        self.catalog()
            .co_purchased(product, limit.min(MAX_CATALOG_ANSWER))
    }

    fn popular_in_segment(
        &mut self,
        segment: Option<String>,
        limit: u32,
    ) -> Vec<types::WeightedProduct> {
        self.catalog()
            .popular_in_segment(segment.as_deref(), limit.min(MAX_CATALOG_ANSWER))
    }

    fn popular_in_category(&mut self, category: String, limit: u32) -> Vec<types::WeightedProduct> {
        self.catalog()
            .popular_in_category(&category, limit.min(MAX_CATALOG_ANSWER))
    }

    fn products(&mut self, ids: Vec<i64>) -> Vec<types::Product> {
        let ids = &ids[..ids.len().min(MAX_CATALOG_ANSWER as usize)];
        self.catalog().products(ids)
    }
}

/// Imports a segmenter may use: the log, nothing else.
pub(super) fn segmenter_linker(engine: &Engine) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    segmenter::Segmenter::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |state| state)?;
    Ok(linker)
}

/// Imports a recommender may use: the log and the catalogue.
pub(super) fn recommender_linker(engine: &Engine) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    recommender::Recommender::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |state| state)?;
    Ok(linker)
}
