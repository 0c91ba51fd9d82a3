//! Rust glue generated from `schema/wit` for both plugin worlds.
//!
//! Private to the SDK: the export macros reach it through `__private`. The WIT
//! records an author touches are mapped onto the SDK's own documented types
//! (`with`), so values cross the boundary without conversion.

// Generated items are reachable only through the hidden `__private` module, and
// their shape (e.g. one argument per flattened field) is wit-bindgen's to choose.
#![allow(missing_docs, clippy::all)]

/// The `segmenter` world; it also generates the shared `types` and `log` interfaces.
pub mod segmenter {
    wit_bindgen::generate!({
        path: "../schema/wit",
        world: "segmenter",
        pub_export_macro: true,
        // The export macros embed the full world in the plugin crate; without the
        // link helpers a segmenter never drags in the recommender's imports.
        disable_custom_section_link_helpers: true,
        with: {
            "retain:strategy/types@1.0.0/feature": crate::Feature,
            "retain:strategy/types@1.0.0/profile-batch": crate::ProfileColumns,
            "retain:strategy/types@1.0.0/product": crate::Product,
            "retain:strategy/types@1.0.0/weighted-product": crate::WeightedProduct,
            "retain:strategy/types@1.0.0/purchase": crate::Purchase,
            "retain:strategy/types@1.0.0/customer-context": crate::CustomerContext,
            "retain:strategy/types@1.0.0/recommendation": crate::Recommendation,
        },
    });
}

/// The `recommender` world, reusing the segmenter's `types` and `log` bindings.
pub mod recommender {
    wit_bindgen::generate!({
        path: "../schema/wit",
        world: "recommender",
        pub_export_macro: true,
        disable_custom_section_link_helpers: true,
        with: {
            "retain:strategy/types@1.0.0": crate::bindings::segmenter::retain::strategy::types,
            "retain:strategy/types@1.0.0/product": crate::Product,
            "retain:strategy/types@1.0.0/weighted-product": crate::WeightedProduct,
            "retain:strategy/types@1.0.0/customer-context": crate::CustomerContext,
            "retain:strategy/types@1.0.0/recommendation": crate::Recommendation,
            "retain:strategy/log@1.0.0": crate::bindings::segmenter::retain::strategy::log,
        },
    });
}
