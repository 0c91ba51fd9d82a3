//! Customers in GraphQL: the 360° profile, its relations, filters and mutations.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use retain_schema::{
    Channel, InteractionKind, PluginKind, customer, customer_tag, interaction, segment_membership,
};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition};

use crate::app::{app_context, caller};
use crate::auth::Permission;
use crate::auth::policy;
use crate::graphql::campaigns::Campaign;
use crate::graphql::catalog::Product;
use crate::graphql::connection::{Conn, Money};
use crate::graphql::errors::GqlResultExt;
use crate::graphql::feedback::Feedback;
use crate::graphql::filters::{
    BooleanFilter, Direction, IdFilter, RangeFilter, StringFilter, boolean_filter,
};
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::loaders::{load_now, loaders};
use crate::graphql::orders::Order;
use crate::graphql::pages::{PageArgs, child_connection, list_connection};
use crate::graphql::prefetch;
use crate::graphql::segments::{CustomerSegment, Recommendation, SegmentChange};
use crate::paging::{SortKey, SortValue};
use crate::services::customers::{self, CustomerInput, CustomerPatch};
use crate::services::interactions::{self, NewInteraction};
use crate::services::{recommendations, segmentation};

pub struct Customer(pub customer::Model);

/// Consent to be contacted, per channel.
#[derive(SimpleObject)]
pub struct Consent {
    pub email: bool,
    pub sms: bool,
    pub app_push: bool,
    pub social: bool,
}

/// Recency, frequency, spend, engagement and tenure, computed live from orders
/// (paid and not cancelled or refunded) and interactions.
#[derive(SimpleObject)]
pub struct CustomerProfile {
    /// Null when the customer never bought.
    pub days_since_last_order: Option<i64>,
    pub orders_last_365_days: i64,
    pub spend_last_365_days: Money,
    pub lifetime_orders: i64,
    pub lifetime_spend: Money,
    pub average_order_value: Money,
    pub interactions_last_30_days: i64,
    pub days_since_signup: i64,
    /// Orders in the last 365 days beyond the first: how often the customer came back.
    pub repurchases_last_365_days: i64,
}

#[Object]
impl Customer {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::Customer, self.0.id)
    }
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    async fn birthday(&self) -> Option<NaiveDate> {
        self.0.birthday
    }
    async fn signup_at(&self) -> DateTime<Utc> {
        self.0.signup_at
    }
    /// Interest tags, e.g. `fitness`, `mother-and-baby`.
    async fn tags(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let loaders = loaders(ctx);
        Ok(loaders
            .tags
            .load_one(self.0.id)
            .await
            .gql()?
            .unwrap_or_default())
    }
    async fn consent(&self) -> Consent {
        Consent {
            email: self.0.consent_email,
            sms: self.0.consent_sms,
            app_push: self.0.consent_app_push,
            social: self.0.consent_social,
        }
    }
    /// When the customer's personal data was erased; null for everyone else.
    async fn erased_at(&self) -> Option<DateTime<Utc>> {
        self.0.erased_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn profile(&self, ctx: &Context<'_>) -> Result<CustomerProfile> {
        let app = app_context(ctx);
        let currency = app.settings.currency.as_str();
        let loaders = loaders(ctx);
        let activity = loaders
            .activity
            .load_one(self.0.id)
            .await
            .gql()?
            .unwrap_or_default();
        let now = Utc::now();
        Ok(CustomerProfile {
            days_since_last_order: activity.days_since_last_order(now),
            orders_last_365_days: activity.orders_last_365_days,
            spend_last_365_days: Money::new(activity.spend_last_365_days_minor, currency),
            lifetime_orders: activity.lifetime_orders,
            lifetime_spend: Money::new(activity.lifetime_spend_minor, currency),
            average_order_value: Money::new(activity.average_order_value_minor(), currency),
            interactions_last_30_days: activity.interactions_last_30_days,
            days_since_signup: (now - self.0.signup_at).num_days(),
            repurchases_last_365_days: (activity.orders_last_365_days - 1).max(0),
        })
    }
    /// Loyalty points: balance, what expires soon, and the ledger.
    async fn points(&self) -> crate::graphql::loyalty::CustomerPoints {
        crate::graphql::loyalty::CustomerPoints {
            customer_id: self.0.id,
        }
    }
    /// The membership level the customer holds, retention included; null before
    /// the level slot classified them.
    async fn level(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<crate::graphql::loyalty::CustomerLevel>> {
        crate::graphql::loyalty::customer_level(ctx, self.0.id).await
    }
    /// The referral that brought the customer, if one was recorded.
    async fn referral(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<crate::graphql::referrals::Referral>> {
        crate::graphql::referrals::referral_of(ctx, self.0.id).await
    }
    /// The customer's orders, newest first.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(0) as usize * child_complexity + 1")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Order>> {
        let loaders = loaders(ctx);
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let connection = child_connection(
            ctx,
            &loaders.orders_of_customer,
            &loaders.order_counts,
            self.0.id,
            args,
            crate::graphql::orders::newest_first(),
            Order,
        )
        .await?;
        let rows: Vec<_> = connection.edges.iter().map(|e| &e.node.0).collect();
        prefetch::orders(ctx, &ctx.look_ahead(), &rows).await?;
        Ok(connection)
    }
    /// The customer's segment in every segmenter slot that has one.
    async fn segments(&self, ctx: &Context<'_>) -> Result<Vec<CustomerSegment>> {
        let slots = app_context(ctx).slots.bindings();
        let mut names: Vec<&String> = slots
            .values()
            .filter(|b| b.kind == PluginKind::Segmenter)
            .map(|b| &b.slot)
            .collect();
        names.sort();
        let mut segments = Vec::with_capacity(names.len());
        for slot in names {
            if let Some(segment) = CustomerSegment::load(ctx, slot, self.0.id).await? {
                segments.push(segment);
            }
        }
        Ok(segments)
    }
    /// The customer's segment in `slot`'s latest segmentation; null before the
    /// first run or for customers classified since.
    async fn segment(&self, ctx: &Context<'_>, slot: String) -> Result<Option<CustomerSegment>> {
        CustomerSegment::load(ctx, &slot, self.0.id).await
    }
    /// When the customer entered and left segments of `slot`, newest first.
    async fn segment_history(
        &self,
        ctx: &Context<'_>,
        slot: String,
        #[graphql(default = 20, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> Result<Vec<SegmentChange>> {
        let db = &app_context(ctx).db;
        Ok(segmentation::history(db, &slot, self.0.id, first as u64)
            .await
            .gql()?
            .into_iter()
            .map(SegmentChange)
            .collect())
    }
    /// Products for the customer from the recommender in `slot`, best first.
    #[graphql(complexity = "first.max(0) as usize * child_complexity + 1")]
    async fn recommendations(
        &self,
        ctx: &Context<'_>,
        slot: String,
        #[graphql(default = 10, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> Result<Vec<Recommendation>> {
        let app = app_context(ctx);
        let found = recommendations::recommend(app, &slot, self.0.id, first as u32)
            .await
            .gql()?;
        // Every product id is known now: fetch them in one statement rather than
        // wait out the batch window when each recommendation asks for its own.
        if ctx.look_ahead().field("product").exists() {
            let ids: Vec<i64> = found.iter().map(|r| r.product_id).collect();
            load_now(&loaders(ctx).products, &ids).await.gql()?;
        }
        Ok(found.into_iter().map(Recommendation).collect())
    }
    /// The customer's lifetime value under the latest fit
    /// (`fitLifetimeValueModel`); null before the first fit. One statement per
    /// customer: ask for it on single customers rather than on long lists.
    #[graphql(complexity = 50)]
    async fn lifetime_value(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<crate::graphql::analytics::CustomerLifetimeValue>> {
        crate::graphql::analytics::customer_lifetime_value(ctx, self.0.id).await
    }
    /// What the customer did, newest first.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(0) as usize * child_complexity + 1")]
    async fn interactions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Interaction>> {
        let loaders = loaders(ctx);
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        child_connection(
            ctx,
            &loaders.interactions_of_customer,
            &loaders.interaction_counts,
            self.0.id,
            args,
            interactions_newest_first(),
            Interaction,
        )
        .await
    }
    /// The customer's feedback and complaints, newest first.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(0) as usize * child_complexity + 1")]
    async fn feedback(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Feedback>> {
        let loaders = loaders(ctx);
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        child_connection(
            ctx,
            &loaders.feedback_of_customer,
            &loaders.feedback_counts,
            self.0.id,
            args,
            crate::graphql::feedback::newest_first(),
            Feedback,
        )
        .await
    }
}

/// Something a customer did.
pub struct Interaction(pub interaction::Model);

#[Object]
impl Interaction {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::Interaction, self.0.id)
    }
    async fn kind(&self) -> InteractionKind {
        self.0.kind
    }
    async fn channel(&self) -> Channel {
        self.0.channel
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        let loaders = loaders(ctx);
        Ok(loaders
            .customers
            .load_one(self.0.customer_id)
            .await
            .gql()?
            .map(Customer))
    }
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
        let Some(id) = self.0.product_id else {
            return Ok(None);
        };
        let loaders = loaders(ctx);
        Ok(loaders.products.load_one(id).await.gql()?.map(Product))
    }
    async fn campaign(&self, ctx: &Context<'_>) -> Result<Option<Campaign>> {
        let Some(id) = self.0.campaign_id else {
            return Ok(None);
        };
        let loaders = loaders(ctx);
        Ok(loaders.campaigns.load_one(id).await.gql()?.map(Campaign))
    }
}

pub fn interactions_newest_first() -> SortKey<interaction::Entity> {
    SortKey {
        column: interaction::Column::OccurredAt,
        id_column: interaction::Column::Id,
        descending: true,
        value: |m| SortValue::Time(m.occurred_at),
        id: |m| m.id,
    }
}

/// Which customers to list. All given criteria must hold.
#[derive(InputObject, Default)]
pub struct CustomerFilter {
    pub id: Option<IdFilter>,
    pub external_id: Option<StringFilter>,
    pub name: Option<StringFilter>,
    pub email: Option<StringFilter>,
    pub phone: Option<StringFilter>,
    pub signup_at: Option<RangeFilter<DateTime<Utc>>>,
    pub birthday: Option<RangeFilter<NaiveDate>>,
    pub tags: Option<TagFilter>,
    /// Customers in one of these segments of a slot's latest segmentation.
    pub segment: Option<SegmentFilter>,
    pub consent_email: Option<bool>,
    pub consent_sms: Option<bool>,
    pub consent_app_push: Option<bool>,
    pub consent_social: Option<bool>,
    /// True for erased customers only, false to leave them out.
    pub erased: Option<bool>,
    pub and: Option<Vec<CustomerFilter>>,
    pub or: Option<Vec<CustomerFilter>>,
    pub not: Option<Box<CustomerFilter>>,
}

impl CustomerFilter {
    /// The first personal-data field the filter tests, if any: filtering on
    /// personal data would reveal it to callers who only see it masked.
    fn personal_field(&self) -> Option<&'static str> {
        let own = [
            (self.email.is_some(), "filter.email"),
            (self.phone.is_some(), "filter.phone"),
            (self.birthday.is_some(), "filter.birthday"),
        ]
        .into_iter()
        .find_map(|(used, name)| used.then_some(name));
        own.or_else(|| {
            let nested = self.and.iter().chain(&self.or).flatten();
            nested
                .chain(self.not.as_deref())
                .find_map(CustomerFilter::personal_field)
        })
    }
}

/// Interest-tag criteria.
#[derive(InputObject, Default)]
pub struct TagFilter {
    /// At least one of these tags.
    pub any: Option<Vec<String>>,
    /// Every one of these tags.
    pub all: Option<Vec<String>>,
    /// None of these tags.
    pub none: Option<Vec<String>>,
}

/// Segment criteria: the slot and the segment keys that qualify.
#[derive(InputObject)]
pub struct SegmentFilter {
    pub slot: String,
    #[graphql(name = "in")]
    pub in_: Vec<String>,
}

impl SegmentFilter {
    /// Customers whose membership in the slot is one of the keys.
    pub(crate) fn condition(&self) -> Condition {
        let members = Query::select()
            .column(segment_membership::Column::CustomerId)
            .from(segment_membership::Entity)
            .and_where(segment_membership::Column::Slot.eq(self.slot.as_str()))
            .and_where(segment_membership::Column::Segment.is_in(self.in_.iter().cloned()))
            .to_owned();
        Condition::all().add(customer::Column::Id.in_subquery(members))
    }
}

/// Customers with any of `tags` (compared lowercase, as tags are stored).
fn customers_tagged(tags: &[String]) -> Condition {
    let tagged = Query::select()
        .column(customer_tag::Column::CustomerId)
        .from(customer_tag::Entity)
        .and_where(customer_tag::Column::Tag.is_in(tags.iter().map(|t| t.trim().to_lowercase())))
        .to_owned();
    Condition::all().add(customer::Column::Id.in_subquery(tagged))
}

impl TagFilter {
    fn condition(&self) -> Condition {
        let mut c = Condition::all();
        if let Some(any) = &self.any {
            c = c.add(customers_tagged(any));
        }
        for tag in self.all.iter().flatten() {
            c = c.add(customers_tagged(std::slice::from_ref(tag)));
        }
        if let Some(none) = &self.none {
            c = c.add(customers_tagged(none).not());
        }
        c
    }
}

fn customer_criteria(f: &CustomerFilter) -> crate::error::ServiceResult<Condition> {
    use customer::Column as C;
    let mut c = Condition::all();
    if let Some(id) = &f.id {
        c = c.add(id.condition("filter.id", C::Id, NodeKind::Customer)?);
    }
    for (filter, column) in [
        (&f.external_id, C::ExternalId),
        (&f.name, C::Name),
        (&f.email, C::Email),
        (&f.phone, C::Phone),
    ] {
        if let Some(filter) = filter {
            c = c.add(filter.condition(column));
        }
    }
    if let Some(signup) = &f.signup_at {
        c = c.add(signup.condition(C::SignupAt));
    }
    if let Some(birthday) = &f.birthday {
        c = c.add(birthday.condition(C::Birthday));
    }
    if let Some(tags) = &f.tags {
        c = c.add(tags.condition());
    }
    if let Some(segment) = &f.segment {
        c = c.add(segment.condition());
    }
    for (wanted, column) in [
        (f.consent_email, C::ConsentEmail),
        (f.consent_sms, C::ConsentSms),
        (f.consent_app_push, C::ConsentAppPush),
        (f.consent_social, C::ConsentSocial),
    ] {
        if let Some(wanted) = wanted {
            c = c.add(column.eq(wanted));
        }
    }
    match f.erased {
        Some(true) => c = c.add(C::ErasedAt.is_not_null()),
        Some(false) => c = c.add(C::ErasedAt.is_null()),
        None => {}
    }
    Ok(c)
}

boolean_filter!(CustomerFilter, customer_criteria);

#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum CustomerOrderField {
    #[default]
    Id,
    Name,
    ExternalId,
    SignupAt,
}

/// How to sort customers.
#[derive(InputObject, Default)]
pub struct CustomerOrder {
    #[graphql(default)]
    pub field: CustomerOrderField,
    #[graphql(default)]
    pub direction: Direction,
}

impl CustomerOrder {
    pub(crate) fn sort_key(&self) -> SortKey<customer::Entity> {
        use customer::Column as C;
        let (column, value): (C, fn(&customer::Model) -> SortValue) = match self.field {
            CustomerOrderField::Id => (C::Id, |m| SortValue::Int(m.id)),
            CustomerOrderField::Name => (C::Name, |m| SortValue::Text(m.name.clone())),
            CustomerOrderField::ExternalId => {
                (C::ExternalId, |m| SortValue::Text(m.external_id.clone()))
            }
            CustomerOrderField::SignupAt => (C::SignupAt, |m| SortValue::Time(m.signup_at)),
        };
        SortKey {
            column,
            id_column: C::Id,
            descending: self.direction == Direction::Desc,
            value,
            id: |m| m.id,
        }
    }
}

/// An interaction to record.
#[derive(InputObject)]
pub struct RecordInteractionInput {
    pub customer_id: ID,
    pub kind: InteractionKind,
    pub channel: Channel,
    pub product_id: Option<ID>,
    pub campaign_id: Option<ID>,
    /// Defaults to now.
    pub occurred_at: Option<DateTime<Utc>>,
}

impl RecordInteractionInput {
    fn resolve(&self) -> crate::error::ServiceResult<NewInteraction> {
        Ok(NewInteraction {
            customer_id: ids::decode("customerId", &self.customer_id, NodeKind::Customer)?,
            kind: self.kind,
            channel: self.channel,
            product_id: self
                .product_id
                .as_ref()
                .map(|id| ids::decode("productId", id, NodeKind::Product))
                .transpose()?,
            campaign_id: self
                .campaign_id
                .as_ref()
                .map(|id| ids::decode("campaignId", id, NodeKind::Campaign))
                .transpose()?,
            occurred_at: self.occurred_at,
        })
    }
}

#[derive(Default)]
pub struct CustomerQuery;

#[Object]
impl CustomerQuery {
    /// Customers, filtered and sorted, one page at a time.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(0) as usize * child_complexity + 1")]
    #[allow(clippy::too_many_arguments)]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        filter: Option<CustomerFilter>,
        order_by: Option<CustomerOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Customer>> {
        let filter = filter.unwrap_or_default();
        if let Some(field) = filter.personal_field() {
            policy::require(ctx, Permission::ReadPii, field)?;
        }
        let condition = filter.condition().gql()?;
        let sort = order_by.unwrap_or_default().sort_key();
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let connection = list_connection(ctx, condition, sort, args, Customer).await?;
        let ids: Vec<i64> = connection.edges.iter().map(|e| e.node.0.id).collect();
        prefetch::customers(ctx, &ctx.look_ahead(), &ids).await?;
        Ok(connection)
    }

    async fn customer(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Customer>> {
        let id = ids::decode("id", &id, NodeKind::Customer).gql()?;
        let loaders = loaders(ctx);
        Ok(loaders.customers.load_one(id).await.gql()?.map(Customer))
    }

    async fn customer_by_external_id(
        &self,
        ctx: &Context<'_>,
        external_id: String,
    ) -> Result<Option<Customer>> {
        let db = &app_context(ctx).db;
        Ok(customers::find_by_external_id(db, &external_id)
            .await
            .gql()?
            .map(Customer))
    }
}

#[derive(Default)]
pub struct CustomerMutation;

#[Object]
impl CustomerMutation {
    async fn create_customer(&self, ctx: &Context<'_>, input: CustomerInput) -> Result<Customer> {
        let db = &app_context(ctx).db;
        customers::create(db, &input, Utc::now())
            .await
            .gql()
            .map(Customer)
    }

    async fn update_customer(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: CustomerPatch,
    ) -> Result<Customer> {
        let id = ids::decode("id", &id, NodeKind::Customer).gql()?;
        let db = &app_context(ctx).db;
        customers::update(db, id, &input, Utc::now())
            .await
            .gql()
            .map(Customer)
    }

    /// Removes the customer's personal data; orders and interactions stay, anonymised.
    async fn erase_customer(&self, ctx: &Context<'_>, id: ID) -> Result<Customer> {
        let id = ids::decode("id", &id, NodeKind::Customer).gql()?;
        let db = &app_context(ctx).db;
        customers::erase(db, id, caller(ctx)?, Utc::now())
            .await
            .gql()
            .map(Customer)
    }

    async fn record_interaction(
        &self,
        ctx: &Context<'_>,
        input: RecordInteractionInput,
    ) -> Result<Interaction> {
        let new = input.resolve().gql()?;
        let app = app_context(ctx);
        let recorded = interactions::record(&app.db, &new, Utc::now())
            .await
            .gql()?;
        segmentation::reclassify_after_change(app, recorded.customer_id).await;
        Ok(Interaction(recorded))
    }
}
