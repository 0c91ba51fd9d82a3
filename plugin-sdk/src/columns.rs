//! The columnar profile batch that crosses the plugin boundary, and its shape checks.
//!
//! One list per feature, because lowering a list of scalars costs the host about
//! 10 ns per customer where a list of records costs 65–90 ns.

use crate::{Feature, Profiles};

/// "Never" in a day column, e.g. the days since the last order of a customer
/// who has not ordered.
pub const NEVER: u32 = u32::MAX;

/// A batch of customer profiles in columnar form, exactly as the WIT
/// `profile-batch` record carries it.
///
/// Customer `i`'s value of a feature is entry `i` of that feature's column.
/// Columns of features the plugin did not declare may be empty. The host fills
/// its own copy of this shape; tests build one with [`ProfileColumns::from_records`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProfileColumns {
    /// Number of customers in the batch.
    pub len: u32,
    /// Days since the last paid order, [`NEVER`] for customers who have not ordered.
    pub days_since_last_order: Vec<u32>,
    /// Paid orders in the last 365 days.
    pub orders_365d: Vec<u32>,
    /// Spend in the last 365 days, in minor units.
    pub spend_365d: Vec<i64>,
    /// Paid orders ever.
    pub lifetime_orders: Vec<u32>,
    /// Spend ever, in minor units.
    pub lifetime_spend: Vec<i64>,
    /// Lifetime spend divided by lifetime orders, in minor units.
    pub average_order_value: Vec<i64>,
    /// Interactions in the last 30 days.
    pub interactions_30d: Vec<u32>,
    /// Days since signup.
    pub days_since_signup: Vec<u32>,
    /// Loyalty points held.
    pub points_balance: Vec<i64>,
    /// Mean days between consecutive paid orders, [`NEVER`] with fewer than two.
    pub days_between_orders: Vec<u32>,
    /// Birthday month 1–12, 0 when unknown.
    pub birthday_month: Vec<u8>,
    /// Interned tag names; `tag_codes` index into this table.
    pub tag_names: Vec<String>,
    /// Customer `i`'s tags are `tag_codes[tag_offsets[i]..tag_offsets[i + 1]]`
    /// (`len + 1` offsets).
    pub tag_offsets: Vec<u32>,
    /// Tag codes of all customers, back to back.
    pub tag_codes: Vec<u32>,
}

/// One customer's features, the row form of a [`ProfileColumns`] batch.
///
/// The default is a customer who signed up today and has never ordered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileRecord {
    /// Days since the last paid order; `None` if never.
    pub days_since_last_order: Option<u32>,
    /// Paid orders in the last 365 days.
    pub orders_365d: u32,
    /// Spend in the last 365 days, in minor units.
    pub spend_365d: i64,
    /// Paid orders ever.
    pub lifetime_orders: u32,
    /// Spend ever, in minor units.
    pub lifetime_spend: i64,
    /// Lifetime spend divided by lifetime orders, in minor units.
    pub average_order_value: i64,
    /// Interactions in the last 30 days.
    pub interactions_30d: u32,
    /// Days since signup.
    pub days_since_signup: u32,
    /// Loyalty points held.
    pub points_balance: i64,
    /// Interest tags.
    pub tags: Vec<String>,
    /// Birthday month 1–12; `None` if unknown.
    pub birthday_month: Option<u8>,
    /// Mean days between consecutive paid orders; `None` with fewer than two.
    pub days_between_orders: Option<u32>,
}

impl ProfileColumns {
    /// Builds a batch of `records` holding only the columns of `features`,
    /// leaving the others empty as the host does.
    ///
    /// # Panics
    ///
    /// If there are more than `u32::MAX` records or tag entries.
    pub fn from_records(records: &[ProfileRecord], features: &[Feature]) -> Self {
        let wanted = |feature| features.contains(&feature);
        let mut batch = Self {
            len: count(records.len()),
            days_since_last_order: column(records, wanted(Feature::DaysSinceLastOrder), |r| {
                r.days_since_last_order.unwrap_or(NEVER)
            }),
            orders_365d: column(records, wanted(Feature::Orders365d), |r| r.orders_365d),
            spend_365d: column(records, wanted(Feature::Spend365d), |r| r.spend_365d),
            lifetime_orders: column(records, wanted(Feature::LifetimeOrders), |r| {
                r.lifetime_orders
            }),
            lifetime_spend: column(records, wanted(Feature::LifetimeSpend), |r| {
                r.lifetime_spend
            }),
            average_order_value: column(records, wanted(Feature::AverageOrderValue), |r| {
                r.average_order_value
            }),
            interactions_30d: column(records, wanted(Feature::Interactions30d), |r| {
                r.interactions_30d
            }),
            days_since_signup: column(records, wanted(Feature::DaysSinceSignup), |r| {
                r.days_since_signup
            }),
            points_balance: column(records, wanted(Feature::PointsBalance), |r| {
                r.points_balance
            }),
            days_between_orders: column(records, wanted(Feature::DaysBetweenOrders), |r| {
                r.days_between_orders.unwrap_or(NEVER)
            }),
            birthday_month: column(records, wanted(Feature::BirthdayMonth), |r| {
                r.birthday_month.unwrap_or(0)
            }),
            ..Self::default()
        };
        if wanted(Feature::Tags) {
            batch.intern_tags(records);
        }
        batch
    }

    /// Fills the three tag columns; fixtures have few distinct tags, so a linear
    /// search interns them well enough.
    fn intern_tags(&mut self, records: &[ProfileRecord]) {
        self.tag_offsets.push(0);
        for record in records {
            for tag in &record.tags {
                let code = match self.tag_names.iter().position(|name| name == tag) {
                    Some(code) => code,
                    None => {
                        self.tag_names.push(tag.clone());
                        self.tag_names.len() - 1
                    }
                };
                self.tag_codes.push(count(code));
            }
            self.tag_offsets.push(count(self.tag_codes.len()));
        }
    }

    /// Checks that every column a plugin reading `features` needs has one entry
    /// per customer (and that no other column has a wrong, non-zero length), that
    /// tag offsets are `len + 1` and never decrease, and that tag codes are in the
    /// table. Returns a view that can then be read without further checks failing.
    pub fn profiles(&self, features: &[Feature]) -> Result<Profiles<'_>, String> {
        let len = self.len as usize;
        if len > 0 {
            for feature in Feature::ALL {
                let (column, entries, expected) = match feature {
                    Feature::Tags => ("tag-offsets", self.tag_offsets.len(), len + 1),
                    _ => (feature.name(), self.entries(feature), len),
                };
                if entries != expected && (entries != 0 || features.contains(&feature)) {
                    return Err(format!(
                        "batch column `{column}` has {entries} entries, expected {expected} \
                         for {len} customers"
                    ));
                }
            }
            self.check_tags()?;
        }
        Ok(Profiles::new(self))
    }

    fn entries(&self, feature: Feature) -> usize {
        match feature {
            Feature::DaysSinceLastOrder => self.days_since_last_order.len(),
            Feature::Orders365d => self.orders_365d.len(),
            Feature::Spend365d => self.spend_365d.len(),
            Feature::LifetimeOrders => self.lifetime_orders.len(),
            Feature::LifetimeSpend => self.lifetime_spend.len(),
            Feature::AverageOrderValue => self.average_order_value.len(),
            Feature::Interactions30d => self.interactions_30d.len(),
            Feature::DaysSinceSignup => self.days_since_signup.len(),
            Feature::PointsBalance => self.points_balance.len(),
            Feature::Tags => self.tag_offsets.len(),
            Feature::BirthdayMonth => self.birthday_month.len(),
            Feature::DaysBetweenOrders => self.days_between_orders.len(),
        }
    }

    fn check_tags(&self) -> Result<(), String> {
        if let Some(i) = self
            .tag_offsets
            .windows(2)
            .position(|pair| pair[0] > pair[1])
        {
            return Err(format!("batch tag offsets decrease at customer {i}"));
        }
        let codes = self.tag_codes.len();
        if let Some(&last) = self.tag_offsets.last()
            && last as usize > codes
        {
            return Err(format!(
                "batch tag offset {last} is past the {codes} tag codes"
            ));
        }
        let names = self.tag_names.len();
        if let Some(&code) = self.tag_codes.iter().find(|&&code| code as usize >= names) {
            return Err(format!(
                "batch tag code {code} is not in the table of {names} tag names"
            ));
        }
        Ok(())
    }
}

/// One column of `records`, or an empty one for a feature nobody asked for.
fn column<T>(
    records: &[ProfileRecord],
    wanted: bool,
    value: impl Fn(&ProfileRecord) -> T,
) -> Vec<T> {
    if wanted {
        records.iter().map(value).collect()
    } else {
        Vec::new()
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).expect("a batch holds at most u32::MAX entries")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagged(tags: &[&str]) -> ProfileRecord {
        ProfileRecord {
            tags: tags.iter().map(|tag| tag.to_string()).collect(),
            ..Default::default()
        }
    }

    /// Two customers with spend and tags, the shape a host sends.
    fn batch() -> ProfileColumns {
        let records = [
            ProfileRecord {
                spend_365d: 7,
                ..tagged(&["vip", "fitness"])
            },
            ProfileRecord {
                spend_365d: 9,
                ..tagged(&["fitness"])
            },
        ];
        ProfileColumns::from_records(&records, &[Feature::Spend365d, Feature::Tags])
    }

    fn error(batch: &ProfileColumns) -> String {
        batch
            .profiles(&[Feature::Spend365d, Feature::Tags])
            .unwrap_err()
    }

    #[test]
    fn from_records_fills_only_the_requested_columns_and_interns_tags() {
        let batch = batch();
        assert_eq!(batch.len, 2);
        assert_eq!(batch.spend_365d, [7, 9]);
        assert!(batch.orders_365d.is_empty() && batch.days_since_last_order.is_empty());
        assert_eq!(batch.tag_names, ["vip", "fitness"]);
        assert_eq!(batch.tag_offsets, [0, 2, 3]);
        assert_eq!(batch.tag_codes, [0, 1, 1]);
    }

    #[test]
    fn never_and_unknown_are_encoded_as_the_wit_sentinels() {
        let records = [ProfileRecord::default()];
        let features = [
            Feature::DaysSinceLastOrder,
            Feature::DaysBetweenOrders,
            Feature::BirthdayMonth,
        ];
        let batch = ProfileColumns::from_records(&records, &features);
        assert_eq!(
            (batch.days_since_last_order[0], batch.days_between_orders[0]),
            (NEVER, NEVER)
        );
        assert_eq!(batch.birthday_month, [0]);
    }

    #[test]
    fn a_well_formed_batch_is_accepted() {
        assert_eq!(
            batch()
                .profiles(&[Feature::Spend365d, Feature::Tags])
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn a_short_declared_column_is_rejected() {
        let mut batch = batch();
        batch.spend_365d.pop();
        assert_eq!(
            error(&batch),
            "batch column `spend-365d` has 1 entries, expected 2 for 2 customers"
        );
        batch.spend_365d.clear();
        assert!(error(&batch).starts_with("batch column `spend-365d` has 0 entries"));
    }

    #[test]
    fn undeclared_columns_may_be_empty_but_not_ragged() {
        let mut batch = batch();
        assert!(batch.profiles(&[Feature::Spend365d, Feature::Tags]).is_ok());
        batch.orders_365d = vec![1];
        assert!(error(&batch).starts_with("batch column `orders-365d` has 1 entries"));
    }

    #[test]
    fn tag_offsets_must_be_len_plus_one_and_ascending_within_the_codes() {
        let mut short = batch();
        short.tag_offsets.pop();
        assert!(error(&short).starts_with("batch column `tag-offsets` has 2 entries, expected 3"));

        let mut decreasing = batch();
        decreasing.tag_offsets = vec![0, 2, 1];
        assert_eq!(
            error(&decreasing),
            "batch tag offsets decrease at customer 1"
        );

        let mut past_the_end = batch();
        past_the_end.tag_offsets = vec![0, 2, 4];
        assert_eq!(
            error(&past_the_end),
            "batch tag offset 4 is past the 3 tag codes"
        );
    }

    #[test]
    fn tag_codes_must_be_in_the_table() {
        let mut batch = batch();
        batch.tag_codes[2] = 2;
        assert_eq!(
            error(&batch),
            "batch tag code 2 is not in the table of 2 tag names"
        );
    }

    #[test]
    fn an_empty_batch_is_never_read_so_never_rejected() {
        let batch = ProfileColumns {
            spend_365d: vec![1, 2, 3],
            ..Default::default()
        };
        assert!(
            batch
                .profiles(&[Feature::Spend365d, Feature::Tags])
                .unwrap()
                .is_empty()
        );
    }
}
