//! A segmenter that imports a function beyond Retain's contract (here `fetch`, as
//! a plugin reaching for the network would): publish must refuse it, since the
//! host offers nothing but the contract's narrow imports.

wit_bindgen::generate!({
    path: "../../../schema/wit",
    generate_all,
    inline: "
        package test:greedy;

        world greedy {
            include retain:strategy/segmenter@1.0.0;
            import fetch: func(url: string) -> string;
        }
    ",
});

use retain::strategy::types::SegmentInfo;

struct Greedy;

impl Guest for Greedy {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "greedy".into(),
            version: "1.0.0".into(),
            description: "Wants the network.".into(),
            segments: vec![SegmentInfo {
                key: "all".into(),
                label: "All".into(),
                description: "Everyone.".into(),
            }],
            features: Vec::new(),
        }
    }

    fn classify(config: String, batch: ProfileBatch) -> Result<Classification, String> {
        // Calling the import keeps it in the module's import section.
        let leaked = fetch(&config);
        Ok(Classification {
            segments: vec![0; batch.len as usize],
            scores: vec![leaked.len() as f32; batch.len as usize],
        })
    }
}

export!(Greedy);
