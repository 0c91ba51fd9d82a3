//! Deterministic assignment of customers to experiment variants.
//!
//! The hashing is GrowthBook's (hash versions 1 and 2, bucket ranges from
//! cumulative weights times coverage), so every replica — and any GrowthBook SDK
//! given the same key, seed, weights and coverage — puts a customer in the same
//! variant without sharing state. Stickiness across weight changes is the
//! caller's business: this module only maps inputs to a variant.

/// The hash version Retain uses for new experiments: GrowthBook's version 2,
/// which hashes twice so that similar seeds do not give correlated buckets.
pub const HASH_VERSION: u32 = 2;

/// 32-bit FNV-1a offset basis.
const FNV_OFFSET_BASIS: u32 = 0x811c_9dc5;
/// 32-bit FNV prime.
const FNV_PRIME: u32 = 16_777_619;

/// 32-bit FNV-1a over the UTF-16 code units of `s`.
///
/// UTF-16, not UTF-8, because GrowthBook's `hashFnv32a` feeds JavaScript's
/// `charCodeAt` values; the two differ for every non-ASCII character.
pub fn fnv1a32(s: &str) -> u32 {
    fnv1a32_units(s.encode_utf16())
}

/// FNV-1a over a stream of code units, so concatenations hash without allocating.
fn fnv1a32_units(units: impl IntoIterator<Item = u16>) -> u32 {
    units.into_iter().fold(FNV_OFFSET_BASIS, |hval, unit| {
        (hval ^ u32::from(unit)).wrapping_mul(FNV_PRIME)
    })
}

/// The ASCII decimal digits of `n` as UTF-16 code units, as JavaScript's
/// `n + ""` spells it, without allocating a `String`.
fn decimal_units(mut n: u32) -> impl Iterator<Item = u16> {
    let mut digits = [0u16; 10];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = u16::from(b'0') + (n % 10) as u16;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits.into_iter().skip(start)
}

/// GrowthBook's `hash(seed, value, version)`: a number in `[0, 1)` that places
/// `value` (a customer id) on the unit interval for an experiment's `seed`.
///
/// - version 1: `(fnv(value + seed) % 1000) / 1000` — GrowthBook's legacy hash;
/// - version 2: `(fnv(decimal(fnv(seed + value))) % 10000) / 10000`.
///
/// Any other version gives `None`, which GrowthBook reads as "not in the experiment".
pub fn hash(seed: &str, value: &str, version: u32) -> Option<f64> {
    match version {
        1 => {
            let h = fnv1a32_units(value.encode_utf16().chain(seed.encode_utf16()));
            Some(f64::from(h % 1000) / 1000.0)
        }
        2 => {
            let inner = fnv1a32_units(seed.encode_utf16().chain(value.encode_utf16()));
            Some(f64::from(fnv1a32_units(decimal_units(inner)) % 10_000) / 10_000.0)
        }
        _ => None,
    }
}

/// GrowthBook's `getBucketRanges`: one half-open range `[start, end)` of the unit
/// interval per variant.
///
/// Each variant's range starts where the cumulative weight of those before it
/// ends and covers `coverage` of its weight, so raising coverage later keeps
/// enrolled customers where they are. `coverage` is clamped to `0..=1` (NaN
/// counts as 0: nobody enrolled). Weights that are missing, not one per
/// variant, or whose sum lies outside `0.99..=1.01` fall back to equal weights,
/// exactly as the SDKs do, so a bad configuration degrades to an even split
/// rather than to nobody.
pub fn bucket_ranges(
    num_variations: usize,
    coverage: f64,
    weights: Option<&[f64]>,
) -> Vec<(f64, f64)> {
    let coverage = if coverage.is_nan() {
        0.0
    } else {
        coverage.clamp(0.0, 1.0)
    };
    let valid = weights
        .filter(|w| w.len() == num_variations && (0.99..=1.01).contains(&w.iter().sum::<f64>()));
    let equal = 1.0 / num_variations as f64;
    let mut cumulative = 0.0;
    (0..num_variations)
        .map(|i| {
            let weight = valid.map_or(equal, |w| w[i]);
            let start = cumulative;
            cumulative += weight;
            (start, start + coverage * weight)
        })
        .collect()
}

/// GrowthBook's `chooseVariation`: the first range with `start <= n < end`, or
/// `None` when `n` falls outside all of them (not enrolled).
pub fn choose_variation(n: f64, ranges: &[(f64, f64)]) -> Option<usize> {
    ranges
        .iter()
        .position(|&(start, end)| n >= start && n < end)
}

/// One experiment's assignment rule, with its bucket ranges computed once so
/// assigning a customer costs two hashes and a scan of a few ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    seed: String,
    hash_version: u32,
    ranges: Vec<(f64, f64)>,
}

impl Assignment {
    /// The rule for experiment `key`: `seed` defaults to the key (an empty seed
    /// too, as in GrowthBook), `weights` holds one weight per variant with the
    /// control first, and `coverage` is the share of customers enrolled.
    ///
    /// With fewer than two weights nobody is enrolled, since GrowthBook runs no
    /// experiment with a single variation.
    pub fn new(
        key: &str,
        seed: Option<&str>,
        hash_version: u32,
        weights: &[f64],
        coverage: f64,
    ) -> Self {
        let seed = seed.filter(|s| !s.is_empty()).unwrap_or(key);
        let ranges = if weights.len() < 2 {
            Vec::new()
        } else {
            bucket_ranges(weights.len(), coverage, Some(weights))
        };
        Self {
            seed: seed.to_owned(),
            hash_version,
            ranges,
        }
    }

    /// The customer's position on the unit interval, or `None` when the hash
    /// version is unsupported or the id is empty (GrowthBook skips a missing
    /// hash attribute). Exposed so the caller can record the bucket it
    /// assigned from.
    pub fn bucket(&self, customer_id: &str) -> Option<f64> {
        if customer_id.is_empty() {
            return None;
        }
        hash(&self.seed, customer_id, self.hash_version)
    }

    /// The customer's variant index (0 = control), or `None` when they are not
    /// enrolled.
    pub fn variant(&self, customer_id: &str) -> Option<usize> {
        choose_variation(self.bucket(customer_id)?, &self.ranges)
    }

    /// The bucket ranges in force, one per variant.
    pub fn ranges(&self) -> &[(f64, f64)] {
        &self.ranges
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_ranges(actual: &[(f64, f64)], expected: &[(f64, f64)], case: &str) {
        assert_eq!(actual.len(), expected.len(), "{case}");
        for (a, e) in actual.iter().zip(expected) {
            assert!(
                (a.0 - e.0).abs() < 1e-9 && (a.1 - e.1).abs() < 1e-9,
                "{case}: {actual:?} != {expected:?}"
            );
        }
    }

    // Cases from GrowthBook's cross-SDK suite, growthbook/growthbook
    // packages/sdk-js/test/cases.json (specVersion 0.5.4), section "hash":
    // [seed, value, version, expected].
    #[test]
    fn growthbook_hash_cases() {
        #[rustfmt::skip]
        let cases: &[(&str, &str, u32, Option<f64>)] = &[
            ("", "a", 1, Some(0.22)),
            ("", "b", 1, Some(0.077)),
            ("b", "a", 1, Some(0.946)),
            ("ef", "d", 1, Some(0.652)),
            ("asdf", "8952klfjas09ujk", 1, Some(0.549)),
            ("", "123", 1, Some(0.011)),
            ("", "___)((*\":&", 1, Some(0.563)),
            ("seed", "a", 2, Some(0.0505)),
            ("seed", "b", 2, Some(0.2696)),
            ("foo", "ab", 2, Some(0.2575)),
            ("foo", "def", 2, Some(0.2019)),
            ("89123klj", "8952klfjas09ujkasdf", 2, Some(0.124)),
            ("90850943850283058242805", "123", 2, Some(0.7516)),
            ("()**(%$##$%#$#", "___)((*\":&", 2, Some(0.0128)),
            ("abc", "def", 99, None),
        ];
        for &(seed, value, version, expected) in cases {
            assert_eq!(
                hash(seed, value, version),
                expected,
                "{seed:?} {value:?} v{version}"
            );
        }
    }

    // Same file, section "getBucketRange": [[numVariations, coverage, weights], expected].
    #[test]
    fn growthbook_bucket_range_cases() {
        type Case<'a> = (&'a str, usize, f64, Option<&'a [f64]>, &'a [(f64, f64)]);
        #[rustfmt::skip]
        let cases: &[Case] = &[
            ("normal 50/50", 2, 1.0, None, &[(0.0, 0.5), (0.5, 1.0)]),
            ("reduced coverage", 2, 0.5, None, &[(0.0, 0.25), (0.5, 0.75)]),
            ("zero coverage", 2, 0.0, None, &[(0.0, 0.0), (0.5, 0.5)]),
            (
                "4 variations",
                4,
                1.0,
                None,
                &[(0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0)],
            ),
            ("uneven weights", 2, 1.0, Some(&[0.4, 0.6]), &[(0.0, 0.4), (0.4, 1.0)]),
            (
                "uneven weights, 3 variations",
                3,
                1.0,
                Some(&[0.2, 0.3, 0.5]),
                &[(0.0, 0.2), (0.2, 0.5), (0.5, 1.0)],
            ),
            (
                "uneven weights, reduced coverage, 3 variations",
                3,
                0.2,
                Some(&[0.2, 0.3, 0.5]),
                &[(0.0, 0.04), (0.2, 0.26), (0.5, 0.6)],
            ),
            ("negative coverage", 2, -0.2, None, &[(0.0, 0.0), (0.5, 0.5)]),
            ("coverage above 1", 2, 1.5, None, &[(0.0, 0.5), (0.5, 1.0)]),
            ("weights sum below 1", 2, 1.0, Some(&[0.4, 0.1]), &[(0.0, 0.5), (0.5, 1.0)]),
            ("weights sum above 1", 2, 1.0, Some(&[0.7, 0.6]), &[(0.0, 0.5), (0.5, 1.0)]),
            (
                "weights.length not equal to num variations",
                4,
                1.0,
                Some(&[0.4, 0.4, 0.2]),
                &[(0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0)],
            ),
            (
                "weights sum almost equals 1",
                2,
                1.0,
                Some(&[0.4, 0.5999]),
                &[(0.0, 0.4), (0.4, 0.9999)],
            ),
        ];
        for &(case, n, coverage, weights, expected) in cases {
            assert_ranges(&bucket_ranges(n, coverage, weights), expected, case);
        }
    }

    // Same file, section "chooseVariation": [name, n, ranges, expected], -1 = None.
    #[test]
    fn growthbook_choose_variation_cases() {
        let even: &[(f64, f64)] = &[(0.0, 0.5), (0.5, 1.0)];
        let reduced: &[(f64, f64)] = &[(0.0, 0.25), (0.5, 0.75)];
        let zero: &[(f64, f64)] = &[(0.0, 0.5), (0.5, 0.5), (0.5, 1.0)];
        type Case<'a> = (&'a str, f64, &'a [(f64, f64)], Option<usize>);
        #[rustfmt::skip]
        let cases: &[Case] = &[
            ("even range, 0.2", 0.2, even, Some(0)),
            ("even range, 0.4", 0.4, even, Some(0)),
            ("even range, 0.6", 0.6, even, Some(1)),
            ("even range, 0.8", 0.8, even, Some(1)),
            ("even range, 0", 0.0, even, Some(0)),
            ("even range, 0.5", 0.5, even, Some(1)),
            ("reduced range, 0.2", 0.2, reduced, Some(0)),
            ("reduced range, 0.4", 0.4, reduced, None),
            ("reduced range, 0.6", 0.6, reduced, Some(1)),
            ("reduced range, 0.8", 0.8, reduced, None),
            ("reduced range, 0.25", 0.25, reduced, None),
            ("reduced range, 0.5", 0.5, reduced, Some(1)),
            ("zero range", 0.5, zero, Some(2)),
        ];
        for &(case, n, ranges, expected) in cases {
            assert_eq!(choose_variation(n, ranges), expected, "{case}");
        }
    }

    // Whole-experiment cases from the same file ("run", "feature" and
    // "stickyBucket" sections): key, seed, hash version, id, weights, coverage,
    // and the bucket and variation the SDKs report.
    #[test]
    fn growthbook_experiment_cases() {
        type Case<'a> = (
            &'a str,
            &'a str,
            Option<&'a str>,
            u32,
            &'a str,
            &'a [f64],
            f64,
            f64,
            usize,
        );
        let third: &[f64] = &[0.3334, 0.3333, 0.3333];
        let even3: &[f64] = &[1.0 / 3.0; 3];
        #[rustfmt::skip]
        let cases: &[Case] = &[
            // "feature": "empty experiment rule - c/a/b" (hash version 1, seed = key).
            ("empty rule - c", "feature", None, 1, "123", even3, 1.0, 0.863, 2),
            ("empty rule - a", "feature", None, 1, "456", even3, 1.0, 0.178, 0),
            ("empty rule - b", "feature", None, 1, "fds", even3, 1.0, 0.514, 1),
            // "stickyBucket": "performs evaluation without sticky bucket" (d123) and
            // "resets sticky bucketing when the bucketVersion changes" (i123).
            ("sticky d123", "feature-exp", Some("feature-exp"), 2, "d123", third, 1.0, 0.6468, 1),
            ("sticky i123", "feature-exp", Some("feature-exp"), 2, "i123", third, 1.0, 0.9943, 2),
            // "run": "Uses seed with weights/coverage".
            ("seed + coverage", "key", Some("foo"), 2, "1", &[0.5, 0.5], 0.99, 0.5844, 1),
        ];
        for &(case, key, seed, version, id, weights, coverage, bucket, variant) in cases {
            let rule = Assignment::new(key, seed, version, weights, coverage);
            assert_eq!(rule.bucket(id), Some(bucket), "{case}");
            assert_eq!(rule.variant(id), Some(variant), "{case}");
        }
        // "feature": "Support passthrough variations" — seed defaults to the key
        // "experiment"; bucket 0.4413 lands in the first half.
        let rule = Assignment::new("experiment", None, 2, &[0.5, 0.5], 1.0);
        assert_eq!(rule.bucket("1"), Some(0.4413));
        assert_eq!(rule.variant("1"), Some(0));
    }

    // Derived by hand from the algorithm. The ASCII vectors are the published
    // FNV-1a 32-bit test values; the non-ASCII ones were computed with
    // GrowthBook's `hashFnv32a` run under Node 20 (JavaScript's charCodeAt) and
    // cross-checked with a Python FNV over `str.encode("utf-16-le")`.
    #[test]
    fn fnv_over_utf16_code_units() {
        assert_eq!(fnv1a32(""), 0x811c_9dc5);
        assert_eq!(fnv1a32("a"), 0xe40c_292c);
        assert_eq!(fnv1a32("foobar"), 0xbf9c_f968);
        // One code unit (0x00E9), two UTF-8 bytes: the UTF-8 hash would be 513665217.
        assert_eq!(fnv1a32("é"), 0x6c0b_6c44);
        // Two CJK code units above 0xFF (0x987E 0x5BA2).
        assert_eq!(fnv1a32("顾客"), 0x7f3c_2cf9);
        // A surrogate pair (0xD83D 0xDE00); the UTF-8 hash would be 866293256.
        assert_eq!(fnv1a32("😀"), 0xcb31_c4b8);
        assert_eq!(fnv1a32("客户-😀-42"), 0xbb49_21e5);
    }

    // Same oracle as above (GrowthBook's `hash` under Node 20).
    #[test]
    fn hash_of_non_ascii_ids() {
        assert_eq!(hash("exp-key", "顾客-1", 2), Some(0.9125));
        assert_eq!(hash("exp-key", "顾客-1", 1), Some(0.896));
        assert_eq!(hash("exp-key", "😀", 2), Some(0.1116));
        assert_eq!(hash("😀", "cust", 2), Some(0.0899));
    }

    #[test]
    fn decimal_units_spell_numbers_like_to_string() {
        for n in [0, 7, 10, 4_294_967_295, 1_000_000_000, 123_456_789] {
            let ours: Vec<u16> = decimal_units(n).collect();
            let std: Vec<u16> = n.to_string().encode_utf16().collect();
            assert_eq!(ours, std, "{n}");
        }
    }

    #[test]
    fn not_enrolled_without_a_usable_rule() {
        let unsupported = Assignment::new("k", None, 3, &[0.5, 0.5], 1.0);
        assert_eq!(unsupported.variant("c-1"), None);
        let single = Assignment::new("k", None, 2, &[1.0], 1.0);
        assert_eq!(single.variant("c-1"), None);
        let rule = Assignment::new("k", None, 2, &[0.5, 0.5], 1.0);
        assert_eq!(rule.variant(""), None);
        let no_coverage = Assignment::new("k", None, 2, &[0.5, 0.5], f64::NAN);
        assert_eq!(no_coverage.variant("c-1"), None);
    }

    #[test]
    fn empty_seed_falls_back_to_key() {
        let by_key = Assignment::new("exp", None, 2, &[0.5, 0.5], 1.0);
        let empty = Assignment::new("exp", Some(""), 2, &[0.5, 0.5], 1.0);
        let other = Assignment::new("exp", Some("other"), 2, &[0.5, 0.5], 1.0);
        assert_eq!(by_key, empty);
        assert_ne!(by_key, other);
    }

    fn ids(n: usize) -> impl Iterator<Item = String> {
        (0..n).map(|i| format!("customer-{i}"))
    }

    #[test]
    fn fifty_fifty_is_even_within_one_percent() {
        let rule = Assignment::new("checkout-coupon", None, HASH_VERSION, &[0.5, 0.5], 1.0);
        let mut counts = [0usize; 2];
        for id in ids(100_000) {
            counts[rule.variant(&id).expect("full coverage enrols everyone")] += 1;
        }
        let share = counts[0] as f64 / 100_000.0;
        assert!((share - 0.5).abs() < 0.01, "{counts:?}");
    }

    #[test]
    fn half_coverage_enrols_about_half() {
        let rule = Assignment::new("win-back", None, HASH_VERSION, &[0.5, 0.5], 0.5);
        let mut counts = [0usize; 3]; // control, treatment, not enrolled
        for id in ids(100_000) {
            counts[rule.variant(&id).unwrap_or(2)] += 1;
        }
        let enrolled = (counts[0] + counts[1]) as f64 / 100_000.0;
        assert!((enrolled - 0.5).abs() < 0.01, "{counts:?}");
        assert!(
            (counts[0] as f64 / 100_000.0 - 0.25).abs() < 0.01,
            "{counts:?}"
        );
    }

    #[test]
    fn changing_weights_moves_only_customers_in_changed_ranges() {
        let before = Assignment::new("vip-perks", None, HASH_VERSION, &[0.5, 0.5], 1.0);
        let after = Assignment::new("vip-perks", None, HASH_VERSION, &[0.4, 0.6], 1.0);
        let mut moved = 0;
        for id in ids(20_000) {
            let bucket = before.bucket(&id).expect("version 2 is supported");
            let changed_range = (0.4..0.5).contains(&bucket);
            let did_move = before.variant(&id) != after.variant(&id);
            assert_eq!(did_move, changed_range, "{id} at {bucket}");
            moved += usize::from(did_move);
        }
        // About a tenth of customers sit in [0.4, 0.5).
        assert!((1_600..2_400).contains(&moved), "{moved}");
    }

    #[test]
    fn raising_coverage_keeps_enrolled_customers_in_place() {
        let half = Assignment::new("referral", None, HASH_VERSION, &[0.3, 0.7], 0.5);
        let full = Assignment::new("referral", None, HASH_VERSION, &[0.3, 0.7], 1.0);
        for id in ids(20_000) {
            if let Some(variant) = half.variant(&id) {
                assert_eq!(full.variant(&id), Some(variant), "{id}");
            }
        }
    }
}
