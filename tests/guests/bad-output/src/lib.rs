//! A segmenter on raw bindings that answers correctly until a batch holds a
//! customer tagged `hostile`, then returns far more answers than customers and a
//! segment index it never declared.

wit_bindgen::generate!({
    path: "../../../schema/wit",
    world: "segmenter",
});

use retain::strategy::types::{Feature, SegmentInfo};

struct BadOutput;

impl Guest for BadOutput {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "bad-output".into(),
            version: "1.0.0".into(),
            description: "Returns malformed answers for customers tagged `hostile`.".into(),
            segments: vec![SegmentInfo {
                key: "only".into(),
                label: "Only".into(),
                description: "Everyone, when the answer is well formed.".into(),
            }],
            // It reads the tags: without declaring them it would get none.
            features: vec![Feature::Tags],
        }
    }

    fn classify(_config: String, batch: ProfileBatch) -> Result<Classification, String> {
        let len = batch.len as usize;
        if batch.tag_names.iter().any(|t| t == "hostile") {
            let oversized = len + 1_000_000;
            return Ok(Classification {
                segments: vec![7; oversized],
                scores: vec![0.0; oversized],
            });
        }
        Ok(Classification {
            segments: vec![0; len],
            scores: vec![0.0; len],
        })
    }
}

export!(BadOutput);
