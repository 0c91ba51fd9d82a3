//! Customers' profile features and their columnar form: segmenters receive one
//! list per feature, because lowering a list of records across the component
//! boundary costs several times more per customer than a list of scalars.

use std::collections::HashMap;

use serde::Deserialize;

use super::v1::types::ProfileBatch;

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

/// Builds a columnar batch profile by profile, interning tag names.
pub struct BatchBuilder {
    batch: ProfileBatch,
    tag_codes: HashMap<String, u32>,
}

impl BatchBuilder {
    pub fn with_capacity(customers: usize) -> Self {
        let mut tag_offsets = Vec::with_capacity(customers + 1);
        tag_offsets.push(0);
        Self {
            batch: ProfileBatch {
                len: 0,
                days_since_last_order: Vec::with_capacity(customers),
                orders_365d: Vec::with_capacity(customers),
                spend_365d: Vec::with_capacity(customers),
                lifetime_orders: Vec::with_capacity(customers),
                lifetime_spend: Vec::with_capacity(customers),
                average_order_value: Vec::with_capacity(customers),
                interactions_30d: Vec::with_capacity(customers),
                days_since_signup: Vec::with_capacity(customers),
                points_balance: Vec::with_capacity(customers),
                days_between_orders: Vec::with_capacity(customers),
                birthday_month: Vec::with_capacity(customers),
                tag_names: Vec::new(),
                tag_offsets,
                tag_codes: Vec::new(),
            },
            tag_codes: HashMap::new(),
        }
    }

    pub fn push(&mut self, profile: &ProfileFeatures) {
        let b = &mut self.batch;
        b.len += 1;
        b.days_since_last_order
            .push(profile.days_since_last_order.unwrap_or(NEVER));
        b.orders_365d.push(profile.orders_365d);
        b.spend_365d.push(profile.spend_365d);
        b.lifetime_orders.push(profile.lifetime_orders);
        b.lifetime_spend.push(profile.lifetime_spend);
        b.average_order_value.push(profile.average_order_value);
        b.interactions_30d.push(profile.interactions_30d);
        b.days_since_signup.push(profile.days_since_signup);
        b.points_balance.push(profile.points_balance);
        b.days_between_orders
            .push(profile.days_between_orders.unwrap_or(NEVER));
        b.birthday_month.push(profile.birthday_month.unwrap_or(0));
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

impl FromIterator<ProfileFeatures> for ProfileBatch {
    fn from_iter<I: IntoIterator<Item = ProfileFeatures>>(profiles: I) -> Self {
        let profiles = profiles.into_iter();
        let mut builder = BatchBuilder::with_capacity(profiles.size_hint().0);
        for profile in profiles {
            builder.push(&profile);
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
