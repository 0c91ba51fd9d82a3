//! What a plugin says about itself: its name, version and the profile features it reads.

/// A profile feature the host can put in a batch.
///
/// A segmenter lists the features it reads in [`PluginInfo::features`]; the host
/// fills those columns and may leave the others empty, so reading an undeclared
/// feature gives its "unknown" value (and fails loudly in debug builds and tests).
///
/// Each feature is read with the [`Profile`](crate::Profile) method of the same
/// name. The discriminants follow the WIT `feature` enum, which is how the value
/// crosses the boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Feature {
    /// Days since the last paid order.
    DaysSinceLastOrder,
    /// Paid orders in the last 365 days.
    Orders365d,
    /// Spend in the last 365 days, in minor units.
    Spend365d,
    /// Paid orders ever.
    LifetimeOrders,
    /// Spend ever, in minor units.
    LifetimeSpend,
    /// Lifetime spend divided by lifetime orders, in minor units.
    AverageOrderValue,
    /// Interactions (logins, views, clicks, add-to-cart, check-ins, opens) in the last 30 days.
    Interactions30d,
    /// Days since the customer signed up.
    DaysSinceSignup,
    /// Loyalty points the customer holds.
    PointsBalance,
    /// Interest tags such as `mother-and-baby`.
    Tags,
    /// Birthday month, when known.
    BirthdayMonth,
    /// Mean days between consecutive paid orders.
    DaysBetweenOrders,
}

impl Feature {
    /// Every feature, in WIT order.
    pub const ALL: [Feature; 12] = [
        Self::DaysSinceLastOrder,
        Self::Orders365d,
        Self::Spend365d,
        Self::LifetimeOrders,
        Self::LifetimeSpend,
        Self::AverageOrderValue,
        Self::Interactions30d,
        Self::DaysSinceSignup,
        Self::PointsBalance,
        Self::Tags,
        Self::BirthdayMonth,
        Self::DaysBetweenOrders,
    ];

    /// The feature's WIT name, e.g. `spend-365d`, as used in messages and by the host.
    pub const fn name(self) -> &'static str {
        match self {
            Self::DaysSinceLastOrder => "days-since-last-order",
            Self::Orders365d => "orders-365d",
            Self::Spend365d => "spend-365d",
            Self::LifetimeOrders => "lifetime-orders",
            Self::LifetimeSpend => "lifetime-spend",
            Self::AverageOrderValue => "average-order-value",
            Self::Interactions30d => "interactions-30d",
            Self::DaysSinceSignup => "days-since-signup",
            Self::PointsBalance => "points-balance",
            Self::Tags => "tags",
            Self::BirthdayMonth => "birthday-month",
            Self::DaysBetweenOrders => "days-between-orders",
        }
    }
}

/// A plugin's self-description, returned by `describe`.
///
/// A segmenter's segments come from its [`SegmentSet`](crate::SegmentSet), so they
/// are not repeated here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PluginInfo {
    /// Short stable name, e.g. `rfm-tiers`.
    pub name: &'static str,
    /// The plugin's version, usually `env!("CARGO_PKG_VERSION")`.
    pub version: &'static str,
    /// One or two sentences for the people choosing a strategy.
    pub description: &'static str,
    /// Profile features a segmenter reads; the host fills only these columns.
    /// Recommenders read a [`CustomerContext`](crate::CustomerContext) instead and
    /// usually leave this empty.
    pub features: &'static [Feature],
}
