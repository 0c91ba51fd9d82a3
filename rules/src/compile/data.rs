//! The module's static data: every string the plugin returns (its description,
//! segments, error messages, the tags it tests) and `describe()`'s whole
//! `plugin-info` record, laid out once at compile time.

use crate::features::TAGS_WIT_FEATURE;
use crate::ruleset::RuleSet;

/// Where static data starts; address 0 stays unused so no pointer is null.
pub const BASE: u32 = 16;

/// A string in static data.
#[derive(Debug, Clone, Copy)]
pub struct Str {
    pub ptr: u32,
    pub len: u32,
}

#[derive(Default)]
pub struct Data {
    bytes: Vec<u8>,
}

impl Data {
    fn here(&self) -> u32 {
        BASE + self.bytes.len() as u32
    }

    fn align(&mut self, to: usize) {
        while !self.bytes.len().is_multiple_of(to) {
            self.bytes.push(0);
        }
    }

    pub fn string(&mut self, text: &str) -> Str {
        let ptr = self.here();
        self.bytes.extend_from_slice(text.as_bytes());
        Str {
            ptr,
            len: text.len() as u32,
        }
    }

    /// Little-endian `u32`s, 4-byte aligned; returns where they start.
    fn words(&mut self, words: &[u32]) -> u32 {
        self.align(4);
        let ptr = self.here();
        for word in words {
            self.bytes.extend_from_slice(&word.to_le_bytes());
        }
        ptr
    }

    /// `describe()`'s answer: the `plugin-info` record and everything it points
    /// to. Returns the record's address.
    pub fn plugin_info(&mut self, rules: &RuleSet) -> u32 {
        let name = self.string(&rules.name);
        let version = self.string(&rules.version);
        let description = self.string(&rules.plugin_description());
        let segments: Vec<[Str; 3]> = rules
            .segments
            .iter()
            .map(|s| {
                [
                    self.string(&s.key),
                    self.string(&s.label),
                    self.string(&s.description),
                ]
            })
            .collect();
        let mut features: Vec<u8> = rules.columns().iter().map(|c| c.wit_feature()).collect();
        if !rules.tags().is_empty() {
            features.push(TAGS_WIT_FEATURE);
        }
        let features_ptr = self.here();
        self.bytes.extend_from_slice(&features);
        let flat: Vec<u32> = segments
            .iter()
            .flat_map(|strings| strings.iter().flat_map(|s| [s.ptr, s.len]))
            .collect();
        let segments_ptr = self.words(&flat);
        self.words(&[
            name.ptr,
            name.len,
            version.ptr,
            version.len,
            description.ptr,
            description.len,
            segments_ptr,
            segments.len() as u32,
            features_ptr,
            features.len() as u32,
        ])
    }

    /// The first address past the data, 8-byte aligned: where the heap starts.
    pub fn end(&self) -> u32 {
        self.here().next_multiple_of(8)
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}
