//! Reading one customer out of a validated columnar batch.

use crate::columns::NEVER;
use crate::testing::ProfileBuilder;
use crate::{Feature, ProfileColumns};

/// The customers of a batch whose shape [`ProfileColumns::profiles`] has checked.
#[derive(Clone, Copy, Debug)]
pub struct Profiles<'a> {
    len: usize,
    columns: Columns<'a>,
}

impl<'a> Profiles<'a> {
    pub(crate) fn new(batch: &'a ProfileColumns) -> Self {
        Self {
            len: batch.len as usize,
            columns: Columns {
                days_since_last_order: &batch.days_since_last_order,
                orders_365d: &batch.orders_365d,
                spend_365d: &batch.spend_365d,
                lifetime_orders: &batch.lifetime_orders,
                lifetime_spend: &batch.lifetime_spend,
                average_order_value: &batch.average_order_value,
                interactions_30d: &batch.interactions_30d,
                days_since_signup: &batch.days_since_signup,
                points_balance: &batch.points_balance,
                days_between_orders: &batch.days_between_orders,
                birthday_month: &batch.birthday_month,
                tag_names: &batch.tag_names,
                tag_offsets: &batch.tag_offsets,
                tag_codes: &batch.tag_codes,
            },
        }
    }

    /// Number of customers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch has no customers.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The customers in batch order.
    #[inline]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Profile<'a>> + use<'a> {
        let columns = self.columns;
        (0..self.len()).map(move |index| Profile { columns, index })
    }

    /// The batch's tag table, to resolve tag names to codes once per batch.
    pub fn tags(&self) -> TagTable<'a> {
        TagTable {
            names: self.columns.tag_names,
        }
    }
}

/// A batch's columns as slices, copied into every [`Profile`]: the batch loop
/// can keep them in registers, where through a reference to the batch they are
/// read again from memory after every result is stored.
#[derive(Clone, Copy, Debug)]
struct Columns<'a> {
    days_since_last_order: &'a [u32],
    orders_365d: &'a [u32],
    spend_365d: &'a [i64],
    lifetime_orders: &'a [u32],
    lifetime_spend: &'a [i64],
    average_order_value: &'a [i64],
    interactions_30d: &'a [u32],
    days_since_signup: &'a [u32],
    points_balance: &'a [i64],
    days_between_orders: &'a [u32],
    birthday_month: &'a [u8],
    tag_names: &'a [String],
    tag_offsets: &'a [u32],
    tag_codes: &'a [u32],
}

/// One customer's profile: a cheap view into the batch's columns.
///
/// Money is in minor units (fen). Reading a feature the plugin did not declare in
/// [`PluginInfo::features`](crate::PluginInfo::features) gives its unknown value
/// (0, `None` or no tags) and panics in debug builds, so tests catch it.
#[derive(Clone, Copy, Debug)]
pub struct Profile<'a> {
    columns: Columns<'a>,
    index: usize,
}

impl Profile<'_> {
    /// A builder for a one-customer fixture, for tests:
    /// `Profile::builder().spend_365d(5000_00).orders_365d(5).build()`.
    pub fn builder() -> ProfileBuilder {
        ProfileBuilder::default()
    }
}

// `#[inline]` throughout: rules in the plugin crate call these once per customer.
impl<'a> Profile<'a> {
    /// Days since the last paid order; `None` if the customer never ordered.
    #[inline]
    pub fn days_since_last_order(&self) -> Option<u32> {
        self.read(
            self.columns.days_since_last_order,
            Feature::DaysSinceLastOrder,
        )
        .filter(|&days| days != NEVER)
    }

    /// Paid orders in the last 365 days.
    #[inline]
    pub fn orders_365d(&self) -> u32 {
        self.read(self.columns.orders_365d, Feature::Orders365d)
            .unwrap_or(0)
    }

    /// Repurchases in the last 365 days: `orders_365d − 1`, because the first
    /// order is a purchase, not a repurchase. (A customer whose first order is
    /// older than a year is counted the same way, one repurchase short.)
    #[inline]
    pub fn repurchases_365d(&self) -> u32 {
        self.orders_365d().saturating_sub(1)
    }

    /// Spend in the last 365 days, in minor units.
    #[inline]
    pub fn spend_365d(&self) -> i64 {
        self.read(self.columns.spend_365d, Feature::Spend365d)
            .unwrap_or(0)
    }

    /// Paid orders ever.
    #[inline]
    pub fn lifetime_orders(&self) -> u32 {
        self.read(self.columns.lifetime_orders, Feature::LifetimeOrders)
            .unwrap_or(0)
    }

    /// Repurchases ever: `lifetime_orders − 1`.
    #[inline]
    pub fn lifetime_repurchases(&self) -> u32 {
        self.lifetime_orders().saturating_sub(1)
    }

    /// Spend ever, in minor units.
    #[inline]
    pub fn lifetime_spend(&self) -> i64 {
        self.read(self.columns.lifetime_spend, Feature::LifetimeSpend)
            .unwrap_or(0)
    }

    /// Lifetime spend divided by lifetime orders, in minor units.
    #[inline]
    pub fn average_order_value(&self) -> i64 {
        self.read(self.columns.average_order_value, Feature::AverageOrderValue)
            .unwrap_or(0)
    }

    /// Interactions in the last 30 days.
    #[inline]
    pub fn interactions_30d(&self) -> u32 {
        self.read(self.columns.interactions_30d, Feature::Interactions30d)
            .unwrap_or(0)
    }

    /// Days since signup.
    #[inline]
    pub fn days_since_signup(&self) -> u32 {
        self.read(self.columns.days_since_signup, Feature::DaysSinceSignup)
            .unwrap_or(0)
    }

    /// Loyalty points held.
    #[inline]
    pub fn points_balance(&self) -> i64 {
        self.read(self.columns.points_balance, Feature::PointsBalance)
            .unwrap_or(0)
    }

    /// Mean days between consecutive paid orders; `None` with fewer than two orders.
    #[inline]
    pub fn days_between_orders(&self) -> Option<u32> {
        self.read(self.columns.days_between_orders, Feature::DaysBetweenOrders)
            .filter(|&days| days != NEVER)
    }

    /// Birthday month 1–12; `None` if unknown.
    #[inline]
    pub fn birthday_month(&self) -> Option<u8> {
        self.read(self.columns.birthday_month, Feature::BirthdayMonth)
            .filter(|&month| month != 0)
    }

    /// Whether the customer has `tag`, a code resolved once per batch with
    /// [`TagTable::code`]: no string comparison per customer.
    #[inline]
    pub fn has_tag(&self, tag: TagCode) -> bool {
        self.tag_codes().contains(&tag.0)
    }

    /// The customer's tag names, for rules that are not on the hot path.
    #[inline]
    pub fn tags(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let names = self.columns.tag_names;
        self.tag_codes()
            .iter()
            .map(move |&code| names[code as usize].as_str())
    }

    #[inline]
    fn tag_codes(&self) -> &'a [u32] {
        let (offsets, codes) = (self.columns.tag_offsets, self.columns.tag_codes);
        match (offsets.get(self.index), offsets.get(self.index + 1)) {
            (Some(&start), Some(&end)) => &codes[start as usize..end as usize],
            _ => {
                undeclared(Feature::Tags);
                &[]
            }
        }
    }

    #[inline]
    fn read<T: Copy>(&self, column: &[T], feature: Feature) -> Option<T> {
        let value = column.get(self.index).copied();
        if value.is_none() {
            undeclared(feature);
        }
        value
    }
}

/// Only a column the plugin did not declare can be short in a validated batch.
fn undeclared(feature: Feature) {
    debug_assert!(
        false,
        "the plugin read feature `{}` without declaring it in PluginInfo::features",
        feature.name()
    );
}

/// A batch's interned tag names.
#[derive(Clone, Copy, Debug)]
pub struct TagTable<'a> {
    names: &'a [String],
}

impl TagTable<'_> {
    /// The code of tag `name` in this batch; `None` if no customer in the batch has it.
    pub fn code(&self, name: &str) -> Option<TagCode> {
        let code = self.names.iter().position(|candidate| candidate == name)?;
        Some(TagCode(code as u32))
    }
}

/// A tag's code in one batch, from [`TagTable::code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TagCode(u32);

#[cfg(test)]
mod tests {
    use super::Profile;
    use crate::testing::yuan;
    use crate::{Feature, ProfileColumns, ProfileRecord};

    fn columns(records: &[ProfileRecord]) -> ProfileColumns {
        ProfileColumns::from_records(records, &Feature::ALL)
    }

    #[test]
    fn reads_every_feature_with_never_and_unknown_as_none() {
        let record = Profile::builder()
            .days_since_last_order(12)
            .orders_365d(3)
            .spend_365d(yuan(4200))
            .lifetime_orders(9)
            .lifetime_spend(yuan(9900))
            .average_order_value(yuan(1100))
            .interactions_30d(17)
            .days_since_signup(400)
            .points_balance(250)
            .birthday_month(5)
            .days_between_orders(40)
            .build();
        let batch = columns(&[record, ProfileRecord::default()]);
        let profiles = batch.profiles(&Feature::ALL).unwrap();
        let [known, unknown]: [Profile<'_>; 2] =
            profiles.iter().collect::<Vec<_>>().try_into().unwrap();

        assert_eq!(known.days_since_last_order(), Some(12));
        assert_eq!((known.orders_365d(), known.repurchases_365d()), (3, 2));
        assert_eq!(
            (known.spend_365d(), known.lifetime_spend()),
            (yuan(4200), yuan(9900))
        );
        assert_eq!(
            (known.lifetime_orders(), known.lifetime_repurchases()),
            (9, 8)
        );
        assert_eq!(known.average_order_value(), yuan(1100));
        assert_eq!(
            (known.interactions_30d(), known.days_since_signup()),
            (17, 400)
        );
        assert_eq!(known.points_balance(), 250);
        assert_eq!(
            (known.birthday_month(), known.days_between_orders()),
            (Some(5), Some(40))
        );

        assert_eq!(unknown.days_since_last_order(), None);
        assert_eq!(
            (unknown.repurchases_365d(), unknown.lifetime_repurchases()),
            (0, 0)
        );
        assert_eq!(
            (unknown.birthday_month(), unknown.days_between_orders()),
            (None, None)
        );
    }

    #[test]
    fn tags_by_name_and_by_code_resolved_once_per_batch() {
        let batch = columns(&[
            Profile::builder().tag("office").tag("fitness").build(),
            Profile::builder().tag("fitness").build(),
            Profile::builder().build(),
        ]);
        let profiles = batch.profiles(&[Feature::Tags]).unwrap();
        let tags = profiles.tags();
        let (office, fitness) = (tags.code("office").unwrap(), tags.code("fitness").unwrap());
        assert_eq!(tags.code("mother-and-baby"), None);

        let customers: Vec<_> = profiles.iter().collect();
        assert_eq!(
            customers[0].tags().collect::<Vec<_>>(),
            ["office", "fitness"]
        );
        assert!(customers[0].has_tag(office) && customers[0].has_tag(fitness));
        assert!(!customers[1].has_tag(office) && customers[1].has_tag(fitness));
        assert_eq!(customers[2].tags().count(), 0);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "read feature `orders-365d` without declaring it")]
    fn reading_an_undeclared_feature_fails_in_debug_builds() {
        let batch =
            ProfileColumns::from_records(&[ProfileRecord::default()], &[Feature::Spend365d]);
        let profiles = batch.profiles(&[Feature::Spend365d]).unwrap();
        profiles.iter().next().unwrap().orders_365d();
    }
}
