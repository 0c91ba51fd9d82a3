//! wasmtime configured for Retain's plugins: components only, the pooling
//! allocator (a fresh instance per call costs microseconds), epoch interruption for
//! deadlines, and compiled artefacts cached on disk by content hash and engine.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use wasmtime::{Cache, CacheConfig, Config, Enabled, Engine, InstanceAllocationStrategy};
use wasmtime::{PoolingAllocationConfig, component::Linker};

use super::v1::{self, HostState};
use crate::config::PluginSettings;

/// How often the epoch advances. Deadlines are counted in these ticks, so a call
/// overruns its deadline by at most one tick.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Core instances, tables and memories one plugin component needs at most: a
/// `wit-component` adapter adds a few shim instances around the guest module.
const CORE_INSTANCES_PER_COMPONENT: u32 = 8;
const TABLES_PER_COMPONENT: u32 = 4;

/// Linear memory a pooling slot keeps resident between instances, zeroed in
/// place: a batch of the default size dirties well under this, and a plugin that
/// hoards memory gets the rest released as before, so resident memory stays
/// bounded by slots in use × this.
const KEEP_RESIDENT_BYTES: usize = 4 * 1024 * 1024;
const KEEP_RESIDENT_TABLE_BYTES: usize = 64 * 1024;
/// Idle warm slots kept before a slot warmed by another plugin is taken over.
const WARM_SLOTS: u32 = 4;

/// The shared wasmtime engine, the linkers of each plugin world, and the limits
/// every call runs under. Cheap to clone.
#[derive(Clone)]
pub struct PluginEngine {
    pub(super) engine: Engine,
    pub(super) segmenter_linker: Arc<Linker<HostState>>,
    pub(super) recommender_linker: Arc<Linker<HostState>>,
    pub(super) limits: CallLimits,
    /// Bounds live instances to what the pooling allocator has room for; callers
    /// wait instead of failing when every slot is busy.
    pub(super) instances: Arc<Semaphore>,
}

/// The limits of one plugin call.
#[derive(Debug, Clone, Copy)]
pub struct CallLimits {
    pub deadline: Duration,
    pub memory_bytes: usize,
}

impl CallLimits {
    /// The deadline in epoch ticks, rounded up, plus one because the current tick
    /// may be nearly over when the call starts.
    pub(super) fn deadline_ticks(&self) -> u64 {
        self.deadline.as_millis().div_ceil(EPOCH_TICK.as_millis()) as u64 + 1
    }
}

impl PluginEngine {
    /// Builds the engine; `cache_dir` holds compiled components between runs.
    pub fn new(settings: &PluginSettings, cache_dir: &Path) -> anyhow::Result<Self> {
        let memory_bytes = usize::try_from(settings.memory_mib)? * 1024 * 1024;
        let instances = settings.max_instances.max(1);

        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(instances)
            .total_core_instances(instances * CORE_INSTANCES_PER_COMPONENT)
            .total_memories(instances)
            .total_tables(instances * TABLES_PER_COMPONENT)
            .max_memories_per_component(1)
            .max_memory_size(memory_bytes)
            // Reuse the slots of the instances that ran last rather than
            // warming every slot in turn: fewer resident pages, warmer caches.
            .max_unused_warm_slots(WARM_SLOTS);
        // Every call's instance is fresh, so by default it faults in each page it
        // touches and `madvise` gives them back when it is dropped. With
        // PAGEMAP_SCAN (Linux 6.7+) the pages a call dirtied are found and zeroed
        // in place instead: the next instance starts from the same pristine
        // memory without a fault. Without it, zeroing a fixed prefix blindly
        // would cost more than the faults, so the default stays.
        if PoolingAllocationConfig::is_pagemap_scan_available() {
            pool.pagemap_scan(Enabled::Yes)
                .linear_memory_keep_resident(KEEP_RESIDENT_BYTES.min(memory_bytes))
                .table_keep_resident(KEEP_RESIDENT_TABLE_BYTES);
        }

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        std::fs::create_dir_all(cache_dir)?;
        let mut cache = CacheConfig::new();
        cache.with_directory(cache_dir);
        config.cache(Some(Cache::new(cache)?));
        let engine = Engine::new(&config)?;
        spawn_epoch_ticker(&engine);

        Ok(Self {
            segmenter_linker: Arc::new(v1::segmenter_linker(&engine)?),
            recommender_linker: Arc::new(v1::recommender_linker(&engine)?),
            engine,
            limits: CallLimits {
                deadline: Duration::from_millis(settings.deadline_ms),
                memory_bytes,
            },
            instances: Arc::new(Semaphore::new(instances as usize)),
        })
    }

    pub fn limits(&self) -> CallLimits {
        self.limits
    }
}

/// Advances the engine's epoch until the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("plugin-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch thread");
}
