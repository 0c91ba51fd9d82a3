//! The grammar on good and bad files: what good files mean, and every error
//! message, with its line, column and hint.

use retain_rules::features::Feature;
use retain_rules::{Cmp, Condition, Expr, Profile, RuleSet, source_in};

const RFM: &str = include_str!("../examples/rfm-tiers.rules");

/// Yuan in the batch's minor units.
fn yuan(major: i64) -> i64 {
    major * 100
}

/// A file with the header and a default around `body`; the body starts on line 2.
fn with(body: &str) -> String {
    format!("plugin test 1.0.0\n{body}\ndefault rest\n")
}

/// The errors of `source`, one string each.
fn errors(source: &str) -> Vec<String> {
    match RuleSet::parse(source) {
        Ok(_) => panic!("expected errors in:\n{source}"),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

fn error(source: &str) -> String {
    let errors = errors(source);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.into_iter().next().unwrap()
}

#[test]
fn the_rfm_example_reads_as_four_tiers() {
    let rules = RuleSet::parse(RFM).unwrap();
    assert_eq!(
        (rules.name.as_str(), rules.version.as_str()),
        ("rfm-tiers-rules", "1.0.0")
    );
    let keys: Vec<_> = rules.segments.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["dormant", "core-loyal", "potential", "basic"]);
    assert_eq!(rules.segments[1].label, "Core loyal");
    assert!(rules.segments[0].description.starts_with("No paid order"));
    assert_eq!(rules.segments[3].when, None);
    assert_eq!(
        rules.segments[0].when,
        Some(Condition::Or(
            Box::new(Condition::Compare(
                Feature::DaysSinceLastOrder,
                Cmp::Gt,
                180
            )),
            Box::new(Condition::Compare(Feature::Spend365d, Cmp::Lt, yuan(500))),
        ))
    );
    let features: Vec<_> = rules.features().into_iter().map(Feature::name).collect();
    assert_eq!(
        features,
        [
            "days-since-last-order",
            "repurchases-365d",
            "spend-365d",
            "interactions-30d"
        ]
    );
    let description = rules.plugin_description();
    assert!(description.starts_with("Core loyal, potential"));
    assert_eq!(source_in(&description), Some(RFM));
}

#[test]
fn conditions_bind_or_looser_than_and_looser_than_not() {
    let rules = RuleSet::parse(&with(
        "segment a\n  when not orders-365d = 0 and interactions-30d > 1 or has tag \"vip\"",
    ))
    .unwrap();
    let compare = |feature, cmp, value| Box::new(Condition::Compare(feature, cmp, value));
    assert_eq!(
        rules.segments[0].when,
        Some(Condition::Or(
            Box::new(Condition::And(
                Box::new(Condition::Not(compare(Feature::Orders365d, Cmp::Eq, 0))),
                compare(Feature::Interactions30d, Cmp::Gt, 1),
            )),
            Box::new(Condition::HasTag("vip".into())),
        ))
    );
}

#[test]
fn values_carry_units_months_ranges_and_continuations() {
    let rules = RuleSet::parse(&with(
        "segment a\n  when birthday-month is march\n  or birthday_month = 4\n  \
         and average-order-value between 49.9 and 100\n  and days-since-signup <= 1 day\n\
         segment b\n  when points-balance is not -20",
    ))
    .unwrap();
    let a = rules.segments[0].when.clone().unwrap();
    let profile = |month, aov, signup| Profile {
        birthday_month: month,
        average_order_value: aov,
        days_since_signup: signup,
        ..Profile::default()
    };
    assert!(a.holds(&profile(3, 0, 99)), "march, whatever else");
    assert!(a.holds(&profile(4, 49_90, 1)));
    assert!(a.holds(&profile(4, yuan(100), 0)));
    assert!(!a.holds(&profile(4, 49_89, 1)), "below the range");
    assert!(!a.holds(&profile(4, yuan(100) + 1, 1)), "above the range");
    assert!(!a.holds(&profile(4, 50_00, 2)), "signed up 2 days ago");
    assert_eq!(
        rules.segments[1].when,
        Some(Condition::Compare(Feature::PointsBalance, Cmp::Ne, -20))
    );
}

#[test]
fn scores_are_arithmetic_over_features() {
    let rules = RuleSet::parse(&with(
        "score max(spend-365d / 5000, 0) * 2 - -orders-365d + min(1, 2) / 0",
    ))
    .unwrap();
    let spend = |spend_365d, orders_365d| Profile {
        spend_365d,
        orders_365d,
        ..Profile::default()
    };
    // 2500 / 5000 * 2 + 3 + (division by zero is 0)
    assert_eq!(rules.evaluate(&spend(yuan(2500), 3)).score, 4.0);
    assert_eq!(rules.evaluate(&spend(-100, 0)).score, 0.0);
    assert!(matches!(rules.score, Some(Expr::Binary(..))));
    let unscored = RuleSet::parse(&with("")).unwrap();
    assert_eq!(unscored.evaluate(&Profile::default()).score, 0.0);
}

#[test]
fn never_is_longer_ago_than_any_number_of_days() {
    let rules = RuleSet::parse(RFM).unwrap();
    let never_ordered = Profile {
        days_since_last_order: retain_rules::NEVER,
        spend_365d: yuan(9000),
        ..Profile::default()
    };
    assert_eq!(
        rules.segments[rules.evaluate(&never_ordered).segment].key,
        "dormant"
    );
}

#[test]
fn unknown_features_suggest_the_closest() {
    assert_eq!(
        error(&with("segment a\n  when spend-356d >= 5000")),
        "line 3, column 8: unknown feature `spend-356d` (hint: did you mean `spend-365d`?)"
    );
    assert_eq!(
        error("plugin t 1\nscore colour\ndefault d"),
        "line 2, column 7: unknown feature `colour` (hint: features are `days-since-last-order`, \
         `orders-365d`, `repurchases-365d`, `spend-365d`, `lifetime-orders`, \
         `lifetime-repurchases`, `lifetime-spend`, `average-order-value`, `interactions-30d`, \
         `days-since-signup`, `points-balance`, `birthday-month`, `days-between-orders`)"
    );
    assert_eq!(
        error(&with("segment a\n  when tags = 2")),
        "line 3, column 8: `tags` is a list of tags, not a number (hint: write `has tag \"fitness\"`)"
    );
    assert_eq!(
        error("plugin t 1\nscore mean(orders-365d)\ndefault d"),
        "line 2, column 7: unknown function `mean` (hint: did you mean `min`?)"
    );
}

#[test]
fn literals_must_match_the_features_kind() {
    let cases = [
        (
            "when spend-365d > 180 days",
            "line 3, column 21: type mismatch: `spend-365d` is money, but `180 days` is a number of days \
             (hint: write money in yuan without a unit, e.g. 5000)",
        ),
        (
            "when orders-365d >= 2 days",
            "line 3, column 23: type mismatch: `orders-365d` is a count, but `2 days` is a number of days \
             (hint: drop the unit)",
        ),
        (
            "when spend-365d > \"lots\"",
            "line 3, column 21: type mismatch: `spend-365d` is money, but \"lots\" is text \
             (hint: text is only used in `has tag \"…\"`)",
        ),
        (
            "when interactions-30d > march",
            "line 3, column 27: type mismatch: `interactions-30d` is a count, but `march` is a month",
        ),
        (
            "when orders-365d > 2.5",
            "line 3, column 22: `orders-365d` is a count, so 2.5 must be a whole number",
        ),
        (
            "when spend-365d > 0.001",
            "line 3, column 21: 0.001 has more than 2 decimals (hint: money is in yuan, to the fen)",
        ),
        (
            "when birthday-month = 13",
            "line 3, column 25: 13 is not a month (hint: months are 1–12 or january–december; 0 means unknown)",
        ),
        (
            "when spend-365d > lifetime-spend",
            "line 3, column 21: `spend-365d` can only be compared with a value, not with `lifetime-spend`",
        ),
        (
            "when points-balance > 99999999999999999999",
            "line 3, column 25: 99999999999999999999 is too large",
        ),
        (
            "when spend-365d between 5000 and 2000",
            "line 3, column 36: the range is empty: its lower end is above its upper end \
             (hint: write the smaller value first)",
        ),
    ];
    for (when, message) in cases {
        assert_eq!(
            error(&with(&format!("segment a\n  {when}"))),
            message,
            "{when}"
        );
    }
}

#[test]
fn syntax_errors_say_what_was_expected() {
    let cases = [
        (
            "when spend-365d 5000",
            "line 3, column 19: expected a comparison (< <= > >= = != is, or between), found `5000`",
        ),
        (
            "when spend-365d >=",
            "line 3, column 21: expected a value for `spend-365d` at the end of the line",
        ),
        (
            "when (orders-365d > 1",
            "line 3, column 24: expected `)` at the end of the line",
        ),
        (
            "when has tags \"x\"",
            "line 3, column 12: expected `tag`, found `tags`",
        ),
        (
            "when has tag fitness",
            "line 3, column 16: expected a tag in double quotes, found `fitness`",
        ),
        (
            "when orders-365d between 1 or 2",
            "line 3, column 30: expected `and` in `between … and …`, found `or`",
        ),
        (
            "when orders-365d > 1 2",
            "line 3, column 24: unexpected `2` after the condition",
        ),
        (
            "when orders-365d ≥ 1",
            "line 3, column 20: unexpected `≥` (hint: rules use names, numbers, \"text\", comparisons (< <= > >= = != is), + - * / and parentheses)",
        ),
    ];
    for (when, message) in cases {
        assert_eq!(
            error(&with(&format!("segment a\n  {when}"))),
            message,
            "{when}"
        );
    }
    assert_eq!(
        error(&with("segmnt a")),
        "line 2, column 1: unknown statement `segmnt` (hint: did you mean `segment`?)"
    );
    assert_eq!(
        error(&with("segment a\n  when orders-365d > 1\n  and")),
        "line 4, column 6: expected a condition at the end of the line"
    );
    assert_eq!(
        error(&with("  and orders-365d > 1")),
        "line 2, column 3: `and` continues a condition, but no `when` is above it \
         (hint: start the condition with `when`)"
    );
    assert_eq!(
        error(&with("segment Core-Loyal")),
        "line 2, column 9: `Core-Loyal` is not a segment key \
         (hint: keys are 1–64 of a-z, 0-9, `-` and `_`, starting with a letter)"
    );
    assert_eq!(
        error(&with("segment a \"A\" extra")),
        "line 2, column 15: unexpected `extra` after the label"
    );
    assert_eq!(
        error(&with("score (1 + 2")),
        "line 2, column 13: expected `)` at the end of the line"
    );
    assert_eq!(
        error(&with("score min(1)")),
        "line 2, column 7: `min` takes 2 arguments, not 1"
    );
}

#[test]
fn statements_belong_where_they_are() {
    assert_eq!(
        error("segment a\n  when orders-365d > 1\ndefault b"),
        "line 1, column 1: the rules must start with `plugin NAME VERSION` \
         (hint: e.g. `plugin rfm-tiers-rules 1.0.0`)"
    );
    assert_eq!(
        error("plugin only-a-name\ndefault d"),
        "line 1, column 19: expected a plugin name and version \
         (hint: write `plugin NAME VERSION`, e.g. `plugin rfm-tiers-rules 1.0.0`)"
    );
    assert_eq!(
        error(&with("when orders-365d > 1")),
        "line 2, column 1: `when` must follow a `segment` line"
    );
    assert_eq!(
        error("plugin t 1\ndefault d\n  when orders-365d > 1"),
        "line 3, column 3: the default segment takes no condition \
         (hint: it catches every customer no segment above caught)"
    );
    assert_eq!(
        error(&with(
            "segment a\n  when orders-365d > 1\n  when orders-365d > 2"
        )),
        "line 4, column 3: segment `a` already has a condition (hint: combine them with `and` or `or`)"
    );
    assert_eq!(
        error(&with("description \"one\"\ndescription \"two\"")),
        "line 3, column 1: this already has a description"
    );
    assert_eq!(
        error(&with("score 1\nscore 2")),
        "line 3, column 1: the score is given twice (hint: one `score` line scores every customer)"
    );
    assert_eq!(
        error(&with("segment a")),
        "line 2, column 9: segment `a` has no condition \
         (hint: add a `when` line below it, or declare it with `default`)"
    );
    assert_eq!(
        error(""),
        "line 1, column 1: the rules are empty \
         (hint: start with `plugin NAME VERSION`, then segments and a `default`)"
    );
}

#[test]
fn unreachable_segments_and_a_missing_default_are_refused() {
    assert_eq!(
        error("plugin t 1\ndefault rest\nsegment late\n  when orders-365d > 1"),
        "line 3, column 9: segment `late` is unreachable: the default `rest` on line 2 catches \
         every customer (hint: put the default last)"
    );
    assert_eq!(
        error(&with(
            "segment a\n  when orders-365d > 1\nsegment a\n  when orders-365d > 2"
        )),
        "line 4, column 9: segment `a` is unreachable: the key is already used on line 2 \
         (hint: give it a key of its own)"
    );
    assert_eq!(
        error(&with(
            "segment a\n  when orders-365d > 1 and has tag \"x\"\n\
             segment b\n  when orders-365d > 1\n  and has tag \"x\""
        )),
        "line 4, column 9: segment `b` is unreachable: segment `a` on line 2 has the same \
         condition (hint: change one of the conditions)"
    );
    assert_eq!(
        error("plugin t 1\nsegment a\n  when orders-365d > 1   "),
        "line 3, column 23: the rules have no default segment \
         (hint: end with `default KEY \"Label\"` for customers no segment catches)"
    );
}

#[test]
fn every_broken_line_is_reported_at_once() {
    assert_eq!(
        errors(&with(
            "segment a\n  when spend-356d > 1\nsegment b\n  when orders-365d > 1 days\nscore \"x\""
        )),
        [
            "line 3, column 8: unknown feature `spend-356d` (hint: did you mean `spend-365d`?)",
            "line 5, column 22: type mismatch: `orders-365d` is a count, but `1 days` is a number \
             of days (hint: drop the unit)",
            "line 6, column 7: expected a number, a feature or `(`, found \"x\"",
        ]
    );
}
