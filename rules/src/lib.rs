//! Retain's rule language: a readable, line-oriented file of segments that
//! business teams write, compiled by the gateway into a WebAssembly component
//! of the `retain:strategy` `segmenter` world, no toolchain needed.
//!
//! ```
//! use retain_rules::{Profile, RuleSet};
//!
//! let rules = RuleSet::parse(r#"
//! plugin big-spenders 1.0.0
//! segment big "Big spenders"
//!   when spend-365d >= 5000 and days-since-last-order <= 180 days
//! default others "Everyone else"
//! score clamp(spend-365d / 5000, 0, 1)
//! "#).unwrap();
//! let profile = Profile { spend_365d: 600_000, days_since_last_order: 3, ..Profile::default() };
//! let classified = rules.evaluate(&profile);
//! assert_eq!(rules.segments[classified.segment].key, "big");
//! assert_eq!(classified.score, 1.0);
//! let component = rules.compile().unwrap();
//! assert!(wasmparser::Parser::is_component(&component));
//! ```
//!
//! The grammar, with examples, is in `docs/rules.md`.

mod compile;
mod error;
mod eval;
pub mod features;
mod lexer;
mod parser;
mod ruleset;

pub use compile::{CompileError, MAX_TAGS};
pub use error::{RuleError, RuleErrors};
pub use eval::{Classified, NEVER, Profile};
pub use ruleset::{Arith, Cmp, Condition, Expr, RuleSet, SOURCE_MARKER, Segment, source_in};
