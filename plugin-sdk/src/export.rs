//! The wasm exports: adapters from the SDK traits to the generated `Guest` traits,
//! and the macros that export them from a plugin crate.

use std::marker::PhantomData;

use crate::bindings::recommender::Guest as RecommenderGuest;
use crate::bindings::recommender::retain::strategy::catalog;
use crate::bindings::segmenter::Guest as SegmenterGuest;
use crate::bindings::segmenter::retain::strategy::types;
use crate::recommender::recommend_with;
use crate::segmenter::classify_columns;
use crate::{
    Catalog, CustomerContext, PluginInfo, Product, ProfileColumns, Recommendation, Recommender,
    SegmentInfo, SegmentSet, Segmenter, WeightedProduct,
};

/// Exports a [`Segmenter`](crate::Segmenter) as the plugin's `describe` and
/// `classify`: `retain_plugin_sdk::export_segmenter!(MySegmenter);`, once, in the
/// plugin crate's `lib.rs` (see the [crate example](crate#a-segmenter-start-to-finish)).
///
/// Natively it only checks the trait is implemented, so `cargo test` links no
/// exports and the crate can still be a dependency of tests and tools.
#[macro_export]
macro_rules! export_segmenter {
    ($segmenter:ty) => {
        const _: () = {
            const fn exported<S: $crate::Segmenter>() {}
            exported::<$segmenter>();
        };
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type RetainSegmenterExport = $crate::__private::SegmenterExport<$segmenter>;
            $crate::__private::segmenter::export!(
                RetainSegmenterExport with_types_in $crate::__private::segmenter
            );
        };
    };
}

/// Exports a [`Recommender`](crate::Recommender) as the plugin's `describe` and
/// `recommend`, with the host's catalogue behind [`Catalog`](crate::Catalog):
/// `retain_plugin_sdk::export_recommender!(MyRecommender);`, once, in the plugin
/// crate's `lib.rs` (see the [crate example](crate#recommenders)).
#[macro_export]
macro_rules! export_recommender {
    ($recommender:ty) => {
        const _: () = {
            const fn exported<R: $crate::Recommender>() {}
            exported::<$recommender>();
        };
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type RetainRecommenderExport = $crate::__private::RecommenderExport<$recommender>;
            $crate::__private::recommender::export!(
                RetainRecommenderExport with_types_in $crate::__private::recommender
            );
        };
    };
}

/// Implements the generated segmenter `Guest` for any [`Segmenter`].
pub struct SegmenterExport<S>(PhantomData<S>);

impl<S: Segmenter> SegmenterGuest for SegmenterExport<S> {
    fn describe() -> types::PluginInfo {
        describe(S::info(), <S::Segment as SegmentSet>::SEGMENTS)
    }

    fn classify(config: String, batch: ProfileColumns) -> Result<types::Classification, String> {
        classify_columns::<S>(&config, &batch)
    }
}

/// Implements the generated recommender `Guest` for any [`Recommender`].
pub struct RecommenderExport<R>(PhantomData<R>);

impl<R: Recommender> RecommenderGuest for RecommenderExport<R> {
    fn describe() -> types::PluginInfo {
        describe(R::info(), &[])
    }

    fn recommend(
        config: String,
        context: CustomerContext,
        limit: u32,
    ) -> Result<Vec<Recommendation>, String> {
        recommend_with::<R>(&config, &context, &HostCatalog, limit)
    }
}

fn describe(info: PluginInfo, segments: &[SegmentInfo]) -> types::PluginInfo {
    types::PluginInfo {
        name: info.name.into(),
        version: info.version.into(),
        description: info.description.into(),
        segments: segments
            .iter()
            .map(|segment| types::SegmentInfo {
                key: segment.key.into(),
                label: segment.label.into(),
                description: segment.description.into(),
            })
            .collect(),
        features: info.features.to_vec(),
    }
}

/// The host's `catalog` import; only ever called from inside wasm.
struct HostCatalog;

impl Catalog for HostCatalog {
    fn co_purchased(&self, product: i64, limit: u32) -> Vec<WeightedProduct> {
        catalog::co_purchased(product, limit)
    }

    fn popular_in_segment(&self, segment: Option<&str>, limit: u32) -> Vec<WeightedProduct> {
        catalog::popular_in_segment(segment, limit)
    }

    fn popular_in_category(&self, category: &str, limit: u32) -> Vec<WeightedProduct> {
        catalog::popular_in_category(category, limit)
    }

    fn products(&self, ids: &[i64]) -> Vec<Product> {
        catalog::products(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_plugin::TagSegmenter;
    use crate::testing::yuan;

    #[test]
    fn describe_lists_the_segment_set_and_features() {
        let info = <SegmenterExport<TagSegmenter> as SegmenterGuest>::describe();
        assert_eq!(
            (info.name.as_str(), info.version.as_str()),
            ("tag-segmenter", "1.2.3")
        );
        let keys: Vec<_> = info
            .segments
            .iter()
            .map(|segment| segment.key.as_str())
            .collect();
        assert_eq!(keys, ["vip", "spender", "other"]);
        assert_eq!(info.segments[1].label, "Spender");
        assert_eq!(
            info.features,
            [crate::Feature::Spend365d, crate::Feature::Tags]
        );
    }

    #[test]
    fn classify_answers_columns_or_an_error() {
        let batch = ProfileColumns {
            len: 1,
            spend_365d: vec![yuan(200)],
            ..Default::default()
        };
        let error = <SegmenterExport<TagSegmenter> as SegmenterGuest>::classify("{}".into(), batch);
        assert_eq!(
            error.unwrap_err(),
            "batch column `tag-offsets` has 0 entries, expected 2 for 1 customers"
        );
        let batch = ProfileColumns {
            len: 1,
            spend_365d: vec![yuan(200)],
            tag_offsets: vec![0, 0],
            ..Default::default()
        };
        let classification =
            <SegmenterExport<TagSegmenter> as SegmenterGuest>::classify("{}".into(), batch)
                .unwrap();
        assert_eq!(
            (classification.segments, classification.scores),
            (vec![1], vec![0.5])
        );
    }
}
