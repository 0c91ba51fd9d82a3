//! Compiling a component once, checking which world it implements, and calling it:
//! every call gets a fresh instance from `InstancePre` under a deadline and a
//! memory cap, and any failure becomes a typed `CallError`.

use std::sync::Arc;

use retain_schema::PluginKind;
use retain_schema::plugin::{PluginInfo, SegmentInfo};
use wasmtime::component::Component;
use wasmtime::{Store, Trap};

use super::batch::{Columns, smoke_profiles};
use super::engine::PluginEngine;
use super::v1::{self, HostState, recommender, segmenter, types};
use crate::services::recommendations::CatalogFacts;

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the bytes are not a WebAssembly component: {0}")]
    NotWasm(String),
    #[error("{0}")]
    WrongWorld(String),
}

/// Why one call into a plugin failed. The instance is discarded either way.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    #[error("exceeded its deadline of {0} ms")]
    Deadline(u128),
    #[error("exceeded its memory cap of {0} MiB")]
    Memory(usize),
    #[error("trapped: {0}")]
    Trap(String),
    /// The plugin answered with an error of its own, e.g. about its config.
    #[error("refused: {0}")]
    Refused(String),
    #[error("returned a malformed answer: {0}")]
    BadOutput(String),
}

impl CallError {
    /// The failure's kind, as a metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Deadline(_) => "deadline",
            CallError::Memory(_) => "memory",
            CallError::Trap(_) => "trap",
            CallError::Refused(_) => "refused",
            CallError::BadOutput(_) => "bad_output",
        }
    }
}

/// A compiled component ready to instantiate, with what it said about itself.
pub struct LoadedPlugin {
    pub kind: PluginKind,
    pub name: String,
    pub version: String,
    pub description: String,
    pub info: PluginInfo,
    /// The profile columns a segmenter declared it reads: what its batches carry.
    pub columns: Columns,
    instance: Instantiator,
    engine: PluginEngine,
}

enum Instantiator {
    Segmenter(segmenter::SegmenterPre<HostState>),
    Recommender(recommender::RecommenderPre<HostState>),
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({:?})", self.name, self.version, self.kind)
    }
}

/// The answer of a segmenter for a batch: segment indexes into `info.segments`.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub segments: Vec<u16>,
    pub scores: Vec<f32>,
}

impl LoadedPlugin {
    /// Compiles `component` (or takes it from the on-disk cache), matches it
    /// against the plugin worlds and asks it to describe itself.
    pub fn load(engine: &PluginEngine, component: &[u8]) -> Result<Arc<Self>, LoadError> {
        let compiled = Component::new(&engine.engine, component)
            .map_err(|err| LoadError::NotWasm(format!("{err:#}")))?;
        let instance = match instantiator(engine, &compiled) {
            Ok(instance) => instance,
            Err(reasons) => return Err(LoadError::WrongWorld(reasons)),
        };
        let describe = Self {
            kind: match instance {
                Instantiator::Segmenter(_) => PluginKind::Segmenter,
                Instantiator::Recommender(_) => PluginKind::Recommender,
            },
            name: String::new(),
            version: String::new(),
            description: String::new(),
            info: PluginInfo::default(),
            columns: Columns::ALL,
            instance,
            engine: engine.clone(),
        };
        let described = describe
            .describe()
            .map_err(|err| LoadError::WrongWorld(format!("describe() {err}")))?;
        Ok(Arc::new(Self {
            columns: Columns::of(&described.features),
            name: described.name.clone(),
            version: described.version.clone(),
            description: described.description.clone(),
            info: PluginInfo {
                segments: described
                    .segments
                    .iter()
                    .map(|s| SegmentInfo {
                        key: s.key.clone(),
                        label: s.label.clone(),
                        description: s.description.clone(),
                    })
                    .collect(),
                features: described
                    .features
                    .iter()
                    .map(|f| format!("{f:?}"))
                    .collect(),
            },
            ..describe
        }))
    }

    /// The description as the plugin gives it.
    pub fn describe(&self) -> Result<types::PluginInfo, CallError> {
        self.call(None, |instance, store| match instance {
            Instantiator::Segmenter(pre) => pre.instantiate(&mut *store)?.call_describe(store),
            Instantiator::Recommender(pre) => pre.instantiate(&mut *store)?.call_describe(store),
        })
    }

    /// A fresh instance under the call limits, dropped without a call: the cost
    /// every call pays before the plugin runs.
    pub fn instantiate(&self) -> Result<(), CallError> {
        self.call(None, |instance, store| match instance {
            Instantiator::Segmenter(pre) => pre.instantiate(store).map(drop),
            Instantiator::Recommender(pre) => pre.instantiate(store).map(drop),
        })
    }

    /// Classifies a batch; the answer is checked to cover every customer with a
    /// segment the plugin declared.
    pub fn classify(
        &self,
        config: &str,
        batch: &types::ProfileBatch,
    ) -> Result<Classification, CallError> {
        let Instantiator::Segmenter(pre) = &self.instance else {
            return Err(CallError::Refused("not a segmenter".into()));
        };
        let answer = self.call(None, |_, store| {
            pre.instantiate(&mut *store)?
                .call_classify(store, config, batch)
        })?;
        let types::Classification { segments, scores } = answer.map_err(CallError::Refused)?;
        let len = batch.len as usize;
        if segments.len() != len || scores.len() != len {
            return Err(CallError::BadOutput(format!(
                "{} segments and {} scores for {len} customers",
                segments.len(),
                scores.len()
            )));
        }
        let known = self.info.segments.len();
        if let Some(bad) = segments.iter().find(|s| usize::from(**s) >= known) {
            return Err(CallError::BadOutput(format!(
                "segment index {bad} but the plugin declares {known} segments"
            )));
        }
        if scores.iter().any(|s| !s.is_finite()) {
            return Err(CallError::BadOutput(
                "a score is not a finite number".into(),
            ));
        }
        Ok(Classification { segments, scores })
    }

    /// Recommends up to `limit` products for one customer, best first.
    pub fn recommend(
        &self,
        config: &str,
        context: &types::CustomerContext,
        limit: u32,
        catalog: Arc<CatalogFacts>,
    ) -> Result<Vec<types::Recommendation>, CallError> {
        let Instantiator::Recommender(pre) = &self.instance else {
            return Err(CallError::Refused("not a recommender".into()));
        };
        let answer = self.call(Some(catalog), |_, store| {
            pre.instantiate(&mut *store)?
                .call_recommend(store, config, context, limit)
        })?;
        let recommendations = answer.map_err(CallError::Refused)?;
        if recommendations.len() > limit as usize {
            return Err(CallError::BadOutput(format!(
                "{} recommendations when {limit} were asked for",
                recommendations.len()
            )));
        }
        if recommendations.iter().any(|r| !r.score.is_finite()) {
            return Err(CallError::BadOutput(
                "a score is not a finite number".into(),
            ));
        }
        Ok(recommendations)
    }

    /// A call on made-up input (edge-case profiles, an empty catalogue) that must
    /// succeed within limits: run at publish, and with a slot's config at
    /// activation.
    pub fn smoke_call(&self, config: &str) -> Result<(), CallError> {
        match self.kind {
            PluginKind::Segmenter => {
                let batch = types::ProfileBatch::of(smoke_profiles().iter(), self.columns);
                self.classify(config, &batch).map(drop)
            }
            PluginKind::Recommender => {
                let context = types::CustomerContext {
                    customer: 1,
                    segment: None,
                    tags: vec!["fitness".into()],
                    lifetime_orders: 0,
                    lifetime_spend: 0,
                    purchases: vec![],
                };
                self.recommend(config, &context, 10, CatalogFacts::empty())
                    .map(drop)
            }
        }
    }

    /// Runs `f` against a fresh store under the call limits and turns whatever
    /// went wrong into a `CallError`.
    fn call<R>(
        &self,
        catalog: Option<Arc<CatalogFacts>>,
        f: impl FnOnce(&Instantiator, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let limits = self.engine.limits;
        let mut store = Store::new(
            &self.engine.engine,
            HostState::new(limits.memory_bytes, catalog),
        );
        store.limiter(|state| state);
        store.set_epoch_deadline(limits.deadline_ticks());
        store.epoch_deadline_trap();
        let outcome = f(&self.instance, &mut store);
        let state = store.data();
        for line in &state.log {
            tracing::debug!(plugin = %self.name, version = %self.version, "{line}");
        }
        outcome.map_err(|err| {
            if state.memory_exceeded {
                CallError::Memory(limits.memory_bytes / (1024 * 1024))
            } else if matches!(err.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
                CallError::Deadline(limits.deadline.as_millis())
            } else if let Some(trap) = err.downcast_ref::<Trap>() {
                // The trap's kind is the message; the wasm backtrace (deep for a
                // stack overflow) is for the log.
                tracing::debug!(plugin = %self.name, version = %self.version, "trap: {err:#}");
                CallError::Trap(trap.to_string())
            } else {
                CallError::Trap(format!("{err:#}"))
            }
        })
    }
}

/// The instantiator of the world `component` implements, or why it implements
/// none: imports beyond the contract, missing or mistyped exports.
fn instantiator(engine: &PluginEngine, component: &Component) -> Result<Instantiator, String> {
    let as_segmenter = engine
        .segmenter_linker
        .instantiate_pre(component)
        .and_then(segmenter::SegmenterPre::new);
    let as_recommender = engine
        .recommender_linker
        .instantiate_pre(component)
        .and_then(recommender::RecommenderPre::new);
    match (as_segmenter, as_recommender) {
        (Ok(pre), _) => Ok(Instantiator::Segmenter(pre)),
        (_, Ok(pre)) => Ok(Instantiator::Recommender(pre)),
        (Err(seg), Err(rec)) => Err(format!(
            "the component implements neither plugin world of {}: as a segmenter, {seg:#}; as a recommender, {rec:#}",
            v1::CONTRACT
        )),
    }
}
