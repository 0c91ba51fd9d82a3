//! Customers' profile features and their columnar form: segmenters receive one
//! list per feature, because lowering a list of records across the component
//! boundary costs several times more per customer than a list of scalars.

use std::collections::HashMap;

use serde::Deserialize;

use super::v1::types::{Feature, ProfileBatch};

/// Day columns carry this for "never" (no order, fewer than two orders).
pub const NEVER: u32 = u32::MAX;

/// One customer's features as the host computes them. Money is in minor units.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ProfileFeatures {
    pub days_since_last_order: Option<u32>,
    pub orders_365d: u32,
    pub spend_365d: i64,
    pub lifetime_orders: u32,
    pub lifetime_spend: i64,
    pub average_order_value: i64,
    pub interactions_30d: u32,
    pub days_since_signup: u32,
    pub points_balance: i64,
    /// Mean days between consecutive orders; none with fewer than two orders.
    pub days_between_orders: Option<u32>,
    pub birthday_month: Option<u8>,
    #[serde(deserialize_with = "tags_from_list")]
    pub tags: Vec<String>,
}

/// Tags in a CSV cell: `fitness;office`.
fn tags_from_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let cell = String::deserialize(d)?;
    Ok(cell
        .split(';')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(str::to_owned)
        .collect())
}

/// The columns a batch carries: those its segmenter declared it reads. Lowering
/// columns nobody reads across the component boundary is most of a call's
/// copying, so the host leaves them empty, as the contract allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns(u16);

impl Columns {
    /// Every feature: for batches not meant for one plugin.
    pub const ALL: Columns = Columns(u16::MAX);

    pub fn of(features: &[Feature]) -> Self {
        Columns(features.iter().fold(0, |set, f| set | Self::bit(*f)))
    }

    /// The columns either set carries.
    pub fn union(self, other: Columns) -> Self {
        Columns(self.0 | other.0)
    }

    pub fn has(self, feature: Feature) -> bool {
        self.0 & Self::bit(feature) != 0
    }

    fn bit(feature: Feature) -> u16 {
        1 << feature as u16
    }
}

/// Builds a columnar batch profile by profile, filling only its columns and
/// interning tag names.
pub struct BatchBuilder {
    batch: ProfileBatch,
    columns: Columns,
    tag_codes: HashMap<String, u32>,
}

impl BatchBuilder {
    pub fn new(customers: usize, columns: Columns) -> Self {
        let capacity = |feature| if columns.has(feature) { customers } else { 0 };
        // Offsets start at 0 and gain one per customer, only when tags are read.
        let tag_offsets = match columns.has(Feature::Tags) {
            true => {
                let mut offsets = Vec::with_capacity(customers + 1);
                offsets.push(0);
                offsets
            }
            false => Vec::new(),
        };
        Self {
            batch: ProfileBatch {
                len: 0,
                days_since_last_order: Vec::with_capacity(capacity(Feature::DaysSinceLastOrder)),
                orders_365d: Vec::with_capacity(capacity(Feature::Orders365d)),
                spend_365d: Vec::with_capacity(capacity(Feature::Spend365d)),
                lifetime_orders: Vec::with_capacity(capacity(Feature::LifetimeOrders)),
                lifetime_spend: Vec::with_capacity(capacity(Feature::LifetimeSpend)),
                average_order_value: Vec::with_capacity(capacity(Feature::AverageOrderValue)),
                interactions_30d: Vec::with_capacity(capacity(Feature::Interactions30d)),
                days_since_signup: Vec::with_capacity(capacity(Feature::DaysSinceSignup)),
                points_balance: Vec::with_capacity(capacity(Feature::PointsBalance)),
                days_between_orders: Vec::with_capacity(capacity(Feature::DaysBetweenOrders)),
                birthday_month: Vec::with_capacity(capacity(Feature::BirthdayMonth)),
                tag_names: Vec::new(),
                tag_offsets,
                tag_codes: Vec::new(),
            },
            columns,
            tag_codes: HashMap::new(),
        }
    }

    pub fn push(&mut self, profile: &ProfileFeatures) {
        let b = &mut self.batch;
        let has = |feature| self.columns.has(feature);
        b.len += 1;
        if has(Feature::DaysSinceLastOrder) {
            b.days_since_last_order
                .push(profile.days_since_last_order.unwrap_or(NEVER));
        }
        if has(Feature::Orders365d) {
            b.orders_365d.push(profile.orders_365d);
        }
        if has(Feature::Spend365d) {
            b.spend_365d.push(profile.spend_365d);
        }
        if has(Feature::LifetimeOrders) {
            b.lifetime_orders.push(profile.lifetime_orders);
        }
        if has(Feature::LifetimeSpend) {
            b.lifetime_spend.push(profile.lifetime_spend);
        }
        if has(Feature::AverageOrderValue) {
            b.average_order_value.push(profile.average_order_value);
        }
        if has(Feature::Interactions30d) {
            b.interactions_30d.push(profile.interactions_30d);
        }
        if has(Feature::DaysSinceSignup) {
            b.days_since_signup.push(profile.days_since_signup);
        }
        if has(Feature::PointsBalance) {
            b.points_balance.push(profile.points_balance);
        }
        if has(Feature::DaysBetweenOrders) {
            b.days_between_orders
                .push(profile.days_between_orders.unwrap_or(NEVER));
        }
        if has(Feature::BirthdayMonth) {
            b.birthday_month.push(profile.birthday_month.unwrap_or(0));
        }
        if !has(Feature::Tags) {
            return;
        }
        for tag in &profile.tags {
            let code = match self.tag_codes.get(tag) {
                Some(code) => *code,
                None => {
                    let code = b.tag_names.len() as u32;
                    b.tag_names.push(tag.clone());
                    self.tag_codes.insert(tag.clone(), code);
                    code
                }
            };
            b.tag_codes.push(code);
        }
        b.tag_offsets.push(b.tag_codes.len() as u32);
    }

    pub fn len(&self) -> usize {
        self.batch.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.batch.len == 0
    }

    pub fn finish(self) -> ProfileBatch {
        self.batch
    }
}

impl ProfileBatch {
    /// The batch of `profiles` with `columns` filled.
    pub fn of<'p>(
        profiles: impl ExactSizeIterator<Item = &'p ProfileFeatures>,
        columns: Columns,
    ) -> Self {
        let mut builder = BatchBuilder::new(profiles.len(), columns);
        for profile in profiles {
            builder.push(profile);
        }
        builder.finish()
    }
}

/// Profiles at the edges every plugin must handle, run at publish time: customers
/// who never bought, one-off and heavy buyers, zero and huge values, tags.
pub fn smoke_profiles() -> Vec<ProfileFeatures> {
    let mut profiles = vec![ProfileFeatures::default()];
    for (i, spend) in [
        0_i64,
        1,
        49_999,
        50_000,
        200_000,
        500_000,
        10_000_000,
        i64::MAX / 4,
    ]
    .into_iter()
    .enumerate()
    {
        let orders = i as u32 * 3;
        profiles.push(ProfileFeatures {
            days_since_last_order: (orders > 0).then_some(i as u32 * 40),
            orders_365d: orders,
            spend_365d: spend,
            lifetime_orders: orders * 2,
            lifetime_spend: spend.saturating_mul(2),
            average_order_value: if orders > 0 { spend / orders as i64 } else { 0 },
            interactions_30d: i as u32 * 7,
            days_since_signup: i as u32 * 200,
            points_balance: spend / 100,
            days_between_orders: (orders > 1).then_some(30 + i as u32),
            birthday_month: Some((i % 12) as u8 + 1),
            tags: ["fitness", "office", "mother-and-baby"][..i % 4]
                .iter()
                .map(|t| t.to_string())
                .collect(),
        });
    }
    profiles
}
