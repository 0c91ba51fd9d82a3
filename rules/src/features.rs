//! The profile features a rule can read: their names in rule files, what kind of
//! value each holds (which decides the literals it may be compared with), and the
//! batch column of the `retain:strategy` contract each comes from.

/// A numeric profile feature. Tags are not one: they are tested with `has tag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feature {
    DaysSinceLastOrder,
    Orders365d,
    /// `orders-365d − 1`, never below 0: the first order of the year is a
    /// purchase, not a repurchase.
    Repurchases365d,
    Spend365d,
    LifetimeOrders,
    /// `lifetime-orders − 1`, never below 0.
    LifetimeRepurchases,
    LifetimeSpend,
    AverageOrderValue,
    Interactions30d,
    DaysSinceSignup,
    PointsBalance,
    BirthdayMonth,
    DaysBetweenOrders,
}

/// What a feature's values mean, and so which literals it is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Whole days; "never" is 4294967295, i.e. longer ago than any literal.
    Days,
    /// A whole number of orders or interactions.
    Count,
    /// Minor units in the batch, written in major units (yuan) in rules.
    Money,
    Points,
    /// 1–12, 0 when unknown.
    Month,
}

impl Kind {
    /// The kind as an error message names it.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Days => "a number of days",
            Kind::Count => "a count",
            Kind::Money => "money",
            Kind::Points => "points",
            Kind::Month => "a month",
        }
    }
}

/// A scalar list of the contract's `profile-batch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    DaysSinceLastOrder,
    Orders365d,
    Spend365d,
    LifetimeOrders,
    LifetimeSpend,
    AverageOrderValue,
    Interactions30d,
    DaysSinceSignup,
    PointsBalance,
    DaysBetweenOrders,
    BirthdayMonth,
}

/// Width of a column's elements in bytes: `u32`, `s64` or `u8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    U8,
    U32,
    S64,
}

impl Width {
    pub fn bytes(self) -> u32 {
        match self {
            Width::U8 => 1,
            Width::U32 => 4,
            Width::S64 => 8,
        }
    }
}

impl Column {
    /// Position of the column's list among the lists of `profile-batch`.
    pub fn list_index(self) -> u32 {
        self as u32
    }

    pub fn width(self) -> Width {
        match self {
            Column::Spend365d
            | Column::LifetimeSpend
            | Column::AverageOrderValue
            | Column::PointsBalance => Width::S64,
            Column::BirthdayMonth => Width::U8,
            _ => Width::U32,
        }
    }

    /// The case of the contract's `feature` enum that asks the host for it.
    pub fn wit_feature(self) -> u8 {
        match self {
            Column::DaysSinceLastOrder => 0,
            Column::Orders365d => 1,
            Column::Spend365d => 2,
            Column::LifetimeOrders => 3,
            Column::LifetimeSpend => 4,
            Column::AverageOrderValue => 5,
            Column::Interactions30d => 6,
            Column::DaysSinceSignup => 7,
            Column::PointsBalance => 8,
            Column::BirthdayMonth => 10,
            Column::DaysBetweenOrders => 11,
        }
    }

    /// The list's name in the contract, for error messages about a batch.
    pub fn wit_name(self) -> &'static str {
        match self {
            Column::DaysSinceLastOrder => "days-since-last-order",
            Column::Orders365d => "orders-365d",
            Column::Spend365d => "spend-365d",
            Column::LifetimeOrders => "lifetime-orders",
            Column::LifetimeSpend => "lifetime-spend",
            Column::AverageOrderValue => "average-order-value",
            Column::Interactions30d => "interactions-30d",
            Column::DaysSinceSignup => "days-since-signup",
            Column::PointsBalance => "points-balance",
            Column::DaysBetweenOrders => "days-between-orders",
            Column::BirthdayMonth => "birthday-month",
        }
    }
}

/// The contract's `feature` case for tags.
pub const TAGS_WIT_FEATURE: u8 = 9;

/// The name rule files use for tags, known so that `tags > 3` gets a helpful
/// error instead of "unknown feature".
pub const TAGS: &str = "tags";

impl Feature {
    pub const ALL: [Feature; 13] = [
        Feature::DaysSinceLastOrder,
        Feature::Orders365d,
        Feature::Repurchases365d,
        Feature::Spend365d,
        Feature::LifetimeOrders,
        Feature::LifetimeRepurchases,
        Feature::LifetimeSpend,
        Feature::AverageOrderValue,
        Feature::Interactions30d,
        Feature::DaysSinceSignup,
        Feature::PointsBalance,
        Feature::BirthdayMonth,
        Feature::DaysBetweenOrders,
    ];

    /// The name in rule files: the contract's, plus the two repurchase counts.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Repurchases365d => "repurchases-365d",
            Feature::LifetimeRepurchases => "lifetime-repurchases",
            other => other.column().wit_name(),
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            Feature::DaysSinceLastOrder | Feature::DaysSinceSignup | Feature::DaysBetweenOrders => {
                Kind::Days
            }
            Feature::Spend365d | Feature::LifetimeSpend | Feature::AverageOrderValue => Kind::Money,
            Feature::PointsBalance => Kind::Points,
            Feature::BirthdayMonth => Kind::Month,
            Feature::Orders365d
            | Feature::Repurchases365d
            | Feature::LifetimeOrders
            | Feature::LifetimeRepurchases
            | Feature::Interactions30d => Kind::Count,
        }
    }

    /// The batch column the feature is read from.
    pub fn column(self) -> Column {
        match self {
            Feature::DaysSinceLastOrder => Column::DaysSinceLastOrder,
            Feature::Orders365d | Feature::Repurchases365d => Column::Orders365d,
            Feature::Spend365d => Column::Spend365d,
            Feature::LifetimeOrders | Feature::LifetimeRepurchases => Column::LifetimeOrders,
            Feature::LifetimeSpend => Column::LifetimeSpend,
            Feature::AverageOrderValue => Column::AverageOrderValue,
            Feature::Interactions30d => Column::Interactions30d,
            Feature::DaysSinceSignup => Column::DaysSinceSignup,
            Feature::PointsBalance => Column::PointsBalance,
            Feature::BirthdayMonth => Column::BirthdayMonth,
            Feature::DaysBetweenOrders => Column::DaysBetweenOrders,
        }
    }

    /// Whether the value is the column's minus one (floored at 0).
    pub fn less_one(self) -> bool {
        matches!(
            self,
            Feature::Repurchases365d | Feature::LifetimeRepurchases
        )
    }

    /// The feature a rule file names; `_` may stand for `-`.
    pub fn parse(name: &str) -> Option<Feature> {
        let name = normalize(name);
        Feature::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Lower case with `-` for `_`, as names are compared.
pub fn normalize(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

/// The candidate closest to `name` by edit distance, if it is close enough to be
/// a plausible typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name = normalize(name);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(&name, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_underscores_are_accepted() {
        for feature in Feature::ALL {
            assert_eq!(Feature::parse(feature.name()), Some(feature));
        }
        assert_eq!(Feature::parse("SPEND_365D"), Some(Feature::Spend365d));
        assert_eq!(Feature::parse("spend"), None);
    }

    #[test]
    fn typos_find_their_feature() {
        let names = Feature::ALL.map(Feature::name);
        assert_eq!(closest("spend-356d", names), Some("spend-365d"));
        assert_eq!(closest("interaction-30d", names), Some("interactions-30d"));
        assert_eq!(closest("colour", names), None);
    }
}
