//! Segmenters: per-customer rules run over a columnar batch.

use serde::de::DeserializeOwned;

use crate::bindings::segmenter::retain::strategy::types::Classification;
use crate::{PluginInfo, Profile, ProfileColumns, Profiles, TagTable, config};

/// One segment a segmenter assigns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Stable key stored in memberships, e.g. `core-loyal`. Renaming it orphans
    /// existing memberships, so treat it like a database column name.
    pub key: &'static str,
    /// Human label, e.g. `Core loyal`.
    pub label: &'static str,
    /// What it takes to be in the segment, for the people reading reports.
    pub description: &'static str,
}

/// The closed set of segments a segmenter assigns, usually declared with
/// [`segments!`](crate::segments!).
///
/// Rules return a variant, which crosses the boundary as its index: keys are
/// resolved at compile time, never compared per customer.
pub trait SegmentSet: Copy + 'static {
    /// Every segment, in index order.
    const SEGMENTS: &'static [SegmentInfo];

    /// Every variant, in index order (`ALL[i]` is `SEGMENTS[i]`).
    const ALL: &'static [Self];

    /// This segment's index into [`SEGMENTS`](Self::SEGMENTS).
    fn index(self) -> u16;

    /// This segment's stable key.
    fn key(self) -> &'static str {
        Self::SEGMENTS[usize::from(self.index())].key
    }
}

/// Declares a segment enum and its [`SegmentSet`] in one place, so variants,
/// keys, labels and descriptions cannot drift apart. The description also
/// documents the variant.
///
/// ```
/// retain_plugin_sdk::segments! {
///     /// How much a customer spends.
///     pub enum Spender {
///         Big("big", "Big spender", "Spent at least ¥10 000 in the last year."),
///         Small("small", "Small spender", "Everyone else."),
///     }
/// }
///
/// use retain_plugin_sdk::SegmentSet;
/// assert_eq!(Spender::Small.key(), "small");
/// assert_eq!(Spender::SEGMENTS[0].label, "Big spender");
/// ```
#[macro_export]
macro_rules! segments {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($variant:ident($key:literal, $label:literal, $description:literal)),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u16)]
        $vis enum $name {
            $(#[doc = $description] $variant,)+
        }

        impl $crate::SegmentSet for $name {
            const SEGMENTS: &'static [$crate::SegmentInfo] = &[$(
                $crate::SegmentInfo { key: $key, label: $label, description: $description },
            )+];
            const ALL: &'static [Self] = &[$(Self::$variant,)+];

            fn index(self) -> u16 {
                self as u16
            }
        }
    };
}

/// A segmenter's answer for one customer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Classified<S> {
    /// The segment the customer belongs to.
    pub segment: S,
    /// A score whose meaning the plugin documents, usually in 0–1.
    pub score: f32,
}

impl<S: SegmentSet> Classified<S> {
    /// `segment` with `score`.
    pub fn new(segment: S, score: f32) -> Self {
        Self { segment, score }
    }

    /// The segment's stable key.
    pub fn key(&self) -> &'static str {
        self.segment.key()
    }
}

/// A segmentation strategy: per-customer rules the SDK runs over each batch.
///
/// Export it from the plugin crate with
/// [`export_segmenter!`](crate::export_segmenter!); test it natively with
/// [`testing::classify`](crate::testing::classify).
pub trait Segmenter {
    /// The slot's configuration, parsed from JSON once per batch; `{}` gives
    /// `Default`. See the crate docs for the serde attributes to use.
    type Config: DeserializeOwned + Default;

    /// The segments this strategy assigns.
    type Segment: SegmentSet;

    /// Name, version, description and the features [`classify`](Self::classify) reads.
    fn info() -> PluginInfo;

    /// Runs once per batch before any customer: check the config beyond what
    /// serde checks, and resolve tag names to codes (keep them in `#[serde(skip)]`
    /// config fields). An error rejects the batch with that message.
    fn prepare(config: &mut Self::Config, tags: &TagTable<'_>) -> Result<(), String> {
        let _ = (config, tags);
        Ok(())
    }

    /// Classifies one customer. Runs in the hot loop: no allocation, no string
    /// comparison.
    ///
    /// Mark the implementation `#[inline]`. A plugin crate is also an rlib, so
    /// its symbols stay public and the compiler does not inline this into the
    /// SDK's batch loop on its own; a call per customer more than doubles the
    /// cost of simple rules in wasm (measured 17 → 7 ns per customer for
    /// `rfm-tiers`).
    fn classify(config: &Self::Config, profile: &Profile<'_>) -> Classified<Self::Segment>;
}

/// The batch path shared by the wasm export and the native harness: parse the
/// config, check the batch's shape, classify every customer, encode the columns.
pub(crate) fn classify_columns<S: Segmenter>(
    config: &str,
    batch: &ProfileColumns,
) -> Result<Classification, String> {
    let mut config = config::parse::<S::Config>(config)?;
    let profiles = batch.profiles(S::info().features)?;
    S::prepare(&mut config, &profiles.tags())?;
    // Filled in place rather than pushed: no capacity check per customer.
    let mut segments = vec![0; profiles.len()];
    let mut scores = vec![0.0; profiles.len()];
    classify_each::<S>(&config, &profiles, &mut segments, &mut scores);
    Ok(Classification { segments, scores })
}

/// The per-customer loop, kept out of line: inlined into the export with the
/// config parsing and shape checks, it leaves Cranelift too many live values and
/// the loop's own end up on the stack.
#[inline(never)]
fn classify_each<S: Segmenter>(
    config: &S::Config,
    profiles: &Profiles<'_>,
    segments: &mut [u16],
    scores: &mut [f32],
) {
    for ((segment, score), profile) in segments.iter_mut().zip(scores).zip(profiles.iter()) {
        let classified = S::classify(config, &profile);
        *segment = classified.segment.index();
        *score = classified.score;
    }
}
