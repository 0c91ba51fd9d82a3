//! Where the canonical ABI puts the contract's records in linear memory (all of
//! them 4-byte aligned: strings and lists are a pointer and a length).
//!
//! `classify` has more flat parameters than the ABI's 16, so the host stores
//! `(config, batch)` in memory and passes a pointer; its result does not fit the
//! one flat result either, so the guest returns a pointer to it. `describe`
//! returns a pointer to its `plugin-info` the same way.

/// `(config: string, batch: profile-batch)`.
pub mod params {
    pub const CONFIG_PTR: u64 = 0;
    pub const CONFIG_LEN: u64 = 4;
    pub const BATCH_LEN: u64 = 8;
    /// List `k` of `profile-batch` (after `len`): its pointer, its length at +4.
    pub fn list(k: u32) -> u64 {
        12 + 8 * u64::from(k)
    }
    pub const TAG_NAMES: u32 = 11;
    pub const TAG_OFFSETS: u32 = 12;
    pub const TAG_CODES: u32 = 13;
}

/// `result<classification, string>`: a discriminant byte, then the payload.
pub mod result {
    pub const SIZE: i32 = 20;
    pub const TAG: u64 = 0;
    pub const SEGMENTS_PTR: u64 = 4;
    pub const SEGMENTS_LEN: u64 = 8;
    pub const SCORES_PTR: u64 = 12;
    pub const SCORES_LEN: u64 = 16;
    pub const ERROR_PTR: u64 = 4;
    pub const ERROR_LEN: u64 = 8;
}

/// A string's bytes; `string` and `list` elements are 8 bytes: pointer, length.
pub const STRING_SIZE: u32 = 8;
