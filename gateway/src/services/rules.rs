//! Rule files as plugin versions: compiled in process into a segmenter
//! component, published through the registry's ordinary validation, and
//! previewed against a slot with the shadow comparison before anything is stored.

use chrono::Utc;
use retain_rules::RuleSet;

use crate::app::AppContext;
use crate::auth::Principal;
use crate::error::{ServiceError, ServiceResult};
use crate::plugins::LoadedPlugin;
use crate::plugins::registry::{self, Published};
use crate::plugins::slots::Version;
use crate::services::segmentation;
use crate::services::shadow::{self, ShadowReport};

/// The field rule errors are reported on.
const FIELD: &str = "source";

/// Stands for the version's id while it is only previewed: no row carries it,
/// so nothing can be quarantined through it.
const UNPUBLISHED: i64 = 0;

/// Parses and checks `source`, and compiles it into a component.
pub fn compile(source: &str) -> ServiceResult<(RuleSet, Vec<u8>)> {
    let rules = RuleSet::parse(source).map_err(ServiceError::Rules)?;
    let component = rules
        .compile()
        .map_err(|err| ServiceError::invalid(FIELD, err.to_string()))?;
    Ok((rules, component))
}

/// Compiles `source` and publishes it as a version meant for `slot`, which may
/// be new but must not serve recommenders. Nothing is activated.
pub async fn publish(
    ctx: &AppContext,
    slot: &str,
    source: &str,
    actor: &Principal,
) -> ServiceResult<Published> {
    if ctx.slots.binding(slot).is_some() {
        segmentation::segmenter_binding(ctx, slot)?;
    }
    let (_, component) = compile(source)?;
    registry::publish(
        &ctx.db,
        ctx.slots.engine(),
        &component,
        ctx.settings.plugins.max_component_bytes,
        actor,
        Utc::now(),
    )
    .await
}

/// What `source` would do to `slot`: every customer classified by the slot's
/// serving version and by the rules, unpublished.
pub async fn preview(
    ctx: &AppContext,
    slot: &str,
    source: &str,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> ServiceResult<ShadowReport> {
    let (_, component) = compile(source)?;
    let engine = ctx.slots.engine().clone();
    let plugin = tokio::task::spawn_blocking(move || LoadedPlugin::load(&engine, &component))
        .await
        .map_err(|err| ServiceError::invalid(FIELD, format!("loading panicked: {err}")))?
        .map_err(|err| ServiceError::invalid(FIELD, err.to_string()))?;
    let candidate = Version {
        plugin_id: UNPUBLISHED,
        plugin,
        config: "{}".into(),
    };
    shadow::compare(ctx, slot, &candidate, progress).await
}
