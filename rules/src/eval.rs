//! The interpreter: rules applied to one profile in Rust. It defines what the
//! compiled component must compute, bit for bit, so its float operations follow
//! WebAssembly's (`min`/`max` propagate NaN and order −0 below +0).

use crate::features::{Column, Feature};
use crate::ruleset::{Arith, Condition, Expr, RuleSet};

/// Day columns carry this for "never", as in the contract.
pub const NEVER: u32 = u32::MAX;

/// One customer's features, as the batch's columns hold them: minor units,
/// [`NEVER`] for days that never happened, birthday month 0 when unknown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    pub days_since_last_order: u32,
    pub orders_365d: u32,
    pub spend_365d: i64,
    pub lifetime_orders: u32,
    pub lifetime_spend: i64,
    pub average_order_value: i64,
    pub interactions_30d: u32,
    pub days_since_signup: u32,
    pub points_balance: i64,
    pub days_between_orders: u32,
    pub birthday_month: u8,
    pub tags: Vec<String>,
}

impl Profile {
    /// A column's value, widened as the compiled code widens it (unsigned for
    /// `u32` and `u8`).
    pub fn column(&self, column: Column) -> i64 {
        match column {
            Column::DaysSinceLastOrder => self.days_since_last_order.into(),
            Column::Orders365d => self.orders_365d.into(),
            Column::Spend365d => self.spend_365d,
            Column::LifetimeOrders => self.lifetime_orders.into(),
            Column::LifetimeSpend => self.lifetime_spend,
            Column::AverageOrderValue => self.average_order_value,
            Column::Interactions30d => self.interactions_30d.into(),
            Column::DaysSinceSignup => self.days_since_signup.into(),
            Column::PointsBalance => self.points_balance,
            Column::DaysBetweenOrders => self.days_between_orders.into(),
            Column::BirthdayMonth => self.birthday_month.into(),
        }
    }

    pub fn feature(&self, feature: Feature) -> i64 {
        let value = self.column(feature.column());
        if feature.less_one() {
            (value - 1).max(0)
        } else {
            value
        }
    }
}

/// A customer's segment (an index into [`RuleSet::segments`]) and score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Classified {
    pub segment: usize,
    pub score: f32,
}

impl RuleSet {
    /// The first segment whose condition holds (the default otherwise), and the
    /// score.
    pub fn evaluate(&self, profile: &Profile) -> Classified {
        let segment = self
            .segments
            .iter()
            .position(|s| s.when.as_ref().is_none_or(|when| when.holds(profile)))
            .expect("the last segment is the default");
        let score = self
            .score
            .as_ref()
            .map_or(0.0, |score| finite(score.value(profile) as f32));
        Classified { segment, score }
    }
}

/// A score the host accepts: non-finite values become 0.
pub fn finite(score: f32) -> f32 {
    if score.is_finite() { score } else { 0.0 }
}

impl Condition {
    pub fn holds(&self, profile: &Profile) -> bool {
        match self {
            Condition::Compare(feature, cmp, value) => cmp.holds(profile.feature(*feature), *value),
            Condition::HasTag(tag) => profile.tags.contains(tag),
            Condition::Not(inner) => !inner.holds(profile),
            Condition::And(a, b) => a.holds(profile) && b.holds(profile),
            Condition::Or(a, b) => a.holds(profile) || b.holds(profile),
        }
    }
}

impl Expr {
    pub fn value(&self, profile: &Profile) -> f64 {
        match self {
            Expr::Number(number) => *number,
            Expr::Feature(feature) => feature_value(*feature, profile.feature(*feature)),
            Expr::Neg(inner) => -inner.value(profile),
            Expr::Binary(op, a, b) => {
                let (a, b) = (a.value(profile), b.value(profile));
                match op {
                    Arith::Add => a + b,
                    Arith::Sub => a - b,
                    Arith::Mul => a * b,
                    Arith::Div if b == 0.0 => 0.0,
                    Arith::Div => a / b,
                }
            }
            Expr::Min(a, b) => wasm_min(a.value(profile), b.value(profile)),
            Expr::Max(a, b) => -wasm_min(-a.value(profile), -b.value(profile)),
        }
    }
}

/// A feature as a score reads it: money in major units.
pub fn feature_value(feature: Feature, raw: i64) -> f64 {
    if feature.kind() == crate::features::Kind::Money {
        raw as f64 / 100.0
    } else {
        raw as f64
    }
}

/// WebAssembly's `f64.min`.
fn wasm_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == b {
        // ±0: the negative one is smaller.
        if a.is_sign_negative() { a } else { b }
    } else {
        a.min(b)
    }
}
