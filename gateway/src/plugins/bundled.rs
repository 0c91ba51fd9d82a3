//! The strategy plugins that ship with Retain, built from `plugins/` for wasm32 by
//! the build script, and the slots they are meant for.

use chrono::Utc;
use retain_schema::plugin;

use super::{registry, slots};
use crate::app::AppContext;
use crate::auth::Principal;
use crate::error::ServiceResult;

/// A bundled plugin and the slot it serves by default.
pub struct Bundled {
    pub slot: &'static str,
    pub component: &'static [u8],
}

macro_rules! bundled {
    ($slot:literal, $package:literal) => {
        Bundled {
            slot: $slot,
            component: include_bytes!(concat!(env!("OUT_DIR"), "/", $package, ".wasm")),
        }
    };
}

/// In activation order: `tier` first, since recommenders read its segments.
pub const BUNDLED: [Bundled; 6] = [
    bundled!("tier", "retain-plugin-rfm-tiers"),
    bundled!("lifecycle", "retain-plugin-lifecycle"),
    bundled!("level", "retain-plugin-membership-level"),
    bundled!("churn", "retain-plugin-churn-risk"),
    bundled!("recs.home", "retain-plugin-copurchase-recs"),
    bundled!("recs.segment", "retain-plugin-popular-in-segment"),
];

/// Publishes the bundled plugins and activates each in its slot where the slot
/// is still free; slots someone already bound are left alone. Returns the slots
/// it activated.
pub async fn install(
    ctx: &AppContext,
    actor: &Principal,
) -> ServiceResult<Vec<(String, plugin::Model)>> {
    let mut activated = Vec::new();
    for bundled in &BUNDLED {
        let published = registry::publish(
            &ctx.db,
            ctx.slots.engine(),
            bundled.component,
            ctx.settings.plugins.max_component_bytes,
            actor,
            Utc::now(),
        )
        .await?;
        if ctx.slots.binding(bundled.slot).is_some() {
            continue;
        }
        slots::activate(
            &ctx.slots,
            bundled.slot,
            &published.plugin.id.to_string(),
            None,
            actor,
            Utc::now(),
        )
        .await?;
        activated.push((bundled.slot.to_owned(), published.plugin));
    }
    Ok(activated)
}
