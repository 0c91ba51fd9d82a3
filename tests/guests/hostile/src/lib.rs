//! A segmenter that behaves until a batch holds a customer tagged `hostile`, then
//! misbehaves as its config says: loops forever, grows memory without bound,
//! recurses without end, or traps. It passes publish and activation (no such customer in the smoke batch),
//! so tests can prove the host contains it at run time.

use retain_plugin_sdk::{Classified, Feature, PluginInfo, Profile, Segmenter, TagTable};
use serde::Deserialize;

retain_plugin_sdk::segments! {
    /// One segment for everyone.
    pub enum Calm {
        Calm("calm", "Calm", "Everyone, while the plugin behaves."),
    }
}

/// What to do when a `hostile` customer shows up.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub misbehave: Misbehaviour,
}

#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(rename_all = "kebab-case")]
pub enum Misbehaviour {
    #[default]
    Nothing,
    Loop,
    Memory,
    Recursion,
    Trap,
}

/// The hostile segmenter.
pub struct Hostile;

impl Segmenter for Hostile {
    type Config = Config;
    type Segment = Calm;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "hostile",
            version: "1.0.0",
            description: "Misbehaves on purpose when it sees a customer tagged `hostile`.",
            features: &[Feature::Tags],
        }
    }

    fn prepare(config: &mut Config, tags: &TagTable<'_>) -> Result<(), String> {
        if tags.code("hostile").is_some() {
            misbehave(config.misbehave);
        }
        Ok(())
    }

    fn classify(_config: &Config, _profile: &Profile<'_>) -> Classified<Calm> {
        Classified::new(Calm::Calm, 0.0)
    }
}

fn misbehave(how: Misbehaviour) {
    match how {
        Misbehaviour::Nothing => {}
        Misbehaviour::Loop => {
            let mut spins = 0_u64;
            loop {
                spins = std::hint::black_box(spins.wrapping_add(1));
            }
        }
        Misbehaviour::Memory => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![7; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        Misbehaviour::Recursion => {
            std::hint::black_box(dive(0));
        }
        Misbehaviour::Trap => panic!("the hostile plugin panics on purpose"),
    }
}

retain_plugin_sdk::export_segmenter!(Hostile);

/// Recurses until the stack runs out; `black_box` keeps the compiler from turning
/// it into a loop.
#[allow(unconditional_recursion)]
fn dive(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 16]);
    dive(std::hint::black_box(depth + 1)).wrapping_add(frame[15])
}
