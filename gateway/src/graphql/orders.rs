//! Orders in GraphQL: reading, placing, moving through the lifecycle, and a live
//! stream of order events.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;
use retain_schema::{Channel, OrderStatus, order, order_item, order_refund};
use sea_orm::Condition;
use tokio::sync::broadcast::error::RecvError;

use crate::app::{app_context, caller};
use crate::graphql::catalog::Product;
use crate::graphql::connection::{Conn, Money};
use crate::graphql::customers::Customer;
use crate::graphql::errors::GqlResultExt;
use crate::graphql::filters::{
    BooleanFilter, Direction, EnumFilter, IdFilter, RangeFilter, StringFilter, boolean_filter,
};
use crate::graphql::ids::{self, NodeKind};
use crate::graphql::loaders::{Loaders, loaders};
use crate::graphql::pages::{PageArgs, list_connection};
use crate::graphql::prefetch;
use crate::paging::{SortKey, SortValue};
use crate::services::events::{OrderEvent, OrderEventKind};
use crate::services::orders::{self, NewOrder, NewOrderItem};
use crate::services::refunds::{self, RefundRequest};
use crate::services::segmentation;

pub struct Order(pub order::Model);

#[Object]
impl Order {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::Order, self.0.id)
    }
    async fn order_number(&self) -> &str {
        &self.0.order_number
    }
    async fn status(&self) -> OrderStatus {
        self.0.status
    }
    async fn channel(&self) -> Channel {
        self.0.channel
    }
    async fn subtotal(&self) -> Money {
        Money::new(self.0.subtotal_minor, &self.0.currency)
    }
    async fn discount(&self) -> Money {
        Money::new(self.0.discount_minor, &self.0.currency)
    }
    async fn total(&self) -> Money {
        Money::new(self.0.total_minor, &self.0.currency)
    }
    async fn placed_at(&self) -> DateTime<Utc> {
        self.0.placed_at
    }
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    async fn shipped_at(&self) -> Option<DateTime<Utc>> {
        self.0.shipped_at
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
    async fn cancelled_at(&self) -> Option<DateTime<Utc>> {
        self.0.cancelled_at
    }
    /// When the order was refunded in full.
    async fn refunded_at(&self) -> Option<DateTime<Utc>> {
        self.0.refunded_at
    }
    /// What was refunded so far: the whole total once REFUNDED.
    async fn refunded(&self) -> Money {
        Money::new(self.0.refunded_minor, &self.0.currency)
    }
    /// Refunds recorded with `refundOrder`, oldest first.
    async fn refunds(&self, ctx: &Context<'_>) -> Result<Vec<Refund>> {
        let refunds = loaders(ctx)
            .refunds
            .load_one(self.0.id)
            .await
            .gql()?
            .unwrap_or_default();
        let currency = &self.0.currency;
        Ok(refunds
            .into_iter()
            .map(|refund| Refund {
                refund,
                currency: currency.clone(),
            })
            .collect())
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
    async fn items(&self, ctx: &Context<'_>) -> Result<Vec<OrderItem>> {
        let loaders = loaders(ctx);
        let items = loaders
            .items
            .load_one(self.0.id)
            .await
            .gql()?
            .unwrap_or_default();
        let currency = self.0.currency.clone();
        Ok(items
            .into_iter()
            .map(|item| OrderItem {
                item,
                currency: currency.clone(),
            })
            .collect())
    }
}

/// A refund of part or all of an order.
pub struct Refund {
    pub refund: order_refund::Model,
    pub currency: String,
}

#[Object]
impl Refund {
    async fn amount(&self) -> Money {
        Money::new(self.refund.amount_minor, &self.currency)
    }
    async fn reason(&self) -> &str {
        &self.refund.reason
    }
    /// `key:NAME` of the caller who recorded it.
    async fn actor(&self) -> &str {
        &self.refund.actor
    }
    async fn idempotency_key(&self) -> Option<&str> {
        self.refund.idempotency_key.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.refund.created_at
    }
}

/// A refund of part or all of a paid order.
#[derive(InputObject)]
pub struct RefundOrderInput {
    pub order_id: ID,
    /// In minor units; at most what is left to refund.
    pub amount_minor: i64,
    pub reason: Option<String>,
    /// Resend it on retry: a retried refund is never recorded twice.
    pub idempotency_key: Option<String>,
}

/// What `refundOrder` did.
#[derive(SimpleObject)]
pub struct RefundOrderPayload {
    pub refund: Refund,
    /// The order after the refund: REFUNDED once nothing is left to refund.
    pub order: Order,
    /// True when the idempotency key had refunded already: nothing changed.
    pub replayed: bool,
}

/// One line of an order.
pub struct OrderItem {
    pub item: order_item::Model,
    pub currency: String,
}

#[Object]
impl OrderItem {
    pub async fn id(&self) -> ID {
        ids::encode(NodeKind::OrderItem, self.item.id)
    }
    async fn quantity(&self) -> i32 {
        self.item.quantity
    }
    async fn unit_price(&self) -> Money {
        Money::new(self.item.unit_price_minor, &self.currency)
    }
    async fn line_total(&self) -> Money {
        Money::new(self.item.line_total_minor, &self.currency)
    }
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
        let loaders = loaders(ctx);
        Ok(loaders
            .products
            .load_one(self.item.product_id)
            .await
            .gql()?
            .map(Product))
    }
}

/// A customer's orders are listed newest first.
pub fn newest_first() -> SortKey<order::Entity> {
    SortKey {
        column: order::Column::PlacedAt,
        id_column: order::Column::Id,
        descending: true,
        value: |m| SortValue::Time(m.placed_at),
        id: |m| m.id,
    }
}

/// Which orders to list. All given criteria must hold.
#[derive(InputObject, Default)]
pub struct OrderFilter {
    pub id: Option<IdFilter>,
    pub order_number: Option<StringFilter>,
    pub customer_id: Option<IdFilter>,
    pub status: Option<EnumFilter<OrderStatus>>,
    pub channel: Option<EnumFilter<Channel>>,
    pub total_minor: Option<RangeFilter<i64>>,
    pub placed_at: Option<RangeFilter<DateTime<Utc>>>,
    pub and: Option<Vec<OrderFilter>>,
    pub or: Option<Vec<OrderFilter>>,
    pub not: Option<Box<OrderFilter>>,
}

fn order_criteria(f: &OrderFilter) -> crate::error::ServiceResult<Condition> {
    use order::Column as C;
    let mut c = Condition::all();
    if let Some(id) = &f.id {
        c = c.add(id.condition("filter.id", C::Id, NodeKind::Order)?);
    }
    if let Some(number) = &f.order_number {
        c = c.add(number.condition(C::OrderNumber));
    }
    if let Some(customer) = &f.customer_id {
        c = c.add(customer.condition("filter.customerId", C::CustomerId, NodeKind::Customer)?);
    }
    if let Some(status) = &f.status {
        c = c.add(status.condition(C::Status));
    }
    if let Some(channel) = &f.channel {
        c = c.add(channel.condition(C::Channel));
    }
    if let Some(total) = &f.total_minor {
        c = c.add(total.condition(C::TotalMinor));
    }
    if let Some(placed) = &f.placed_at {
        c = c.add(placed.condition(C::PlacedAt));
    }
    Ok(c)
}

boolean_filter!(OrderFilter, order_criteria);

#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderOrderField {
    #[default]
    PlacedAt,
    Total,
    Id,
}

/// How to sort orders; newest first by default.
#[derive(InputObject)]
pub struct OrderOrder {
    #[graphql(default)]
    pub field: OrderOrderField,
    #[graphql(default_with = "Direction::Desc")]
    pub direction: Direction,
}

impl Default for OrderOrder {
    fn default() -> Self {
        Self {
            field: OrderOrderField::PlacedAt,
            direction: Direction::Desc,
        }
    }
}

impl OrderOrder {
    fn sort_key(&self) -> SortKey<order::Entity> {
        use order::Column as C;
        let (column, value): (C, fn(&order::Model) -> SortValue) = match self.field {
            OrderOrderField::PlacedAt => (C::PlacedAt, |m| SortValue::Time(m.placed_at)),
            OrderOrderField::Total => (C::TotalMinor, |m| SortValue::Int(m.total_minor)),
            OrderOrderField::Id => (C::Id, |m| SortValue::Int(m.id)),
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

/// An order to place.
#[derive(InputObject)]
pub struct PlaceOrderInput {
    pub customer_id: ID,
    pub channel: Channel,
    pub items: Vec<OrderItemInput>,
    /// Order-level discount in minor units.
    #[graphql(default)]
    pub discount_minor: i64,
    /// Defaults to the shop currency, the only one accepted.
    pub currency: Option<String>,
    /// A key the client chooses per order (e.g. a UUID) and resends on retry: a
    /// retried request returns the order placed the first time instead of placing
    /// it twice. Reusing a key for other contents is refused with CONFLICT.
    pub idempotency_key: Option<String>,
}

/// One line of an order to place.
#[derive(InputObject)]
pub struct OrderItemInput {
    pub product_id: ID,
    pub quantity: i32,
    /// Defaults to the list price; may be lower, never higher.
    pub unit_price_minor: Option<i64>,
}

impl PlaceOrderInput {
    fn resolve(&self) -> crate::error::ServiceResult<NewOrder> {
        let items = self
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                Ok(NewOrderItem {
                    product_id: ids::decode(
                        &format!("items[{i}].productId"),
                        &item.product_id,
                        NodeKind::Product,
                    )?,
                    quantity: item.quantity,
                    unit_price_minor: item.unit_price_minor,
                })
            })
            .collect::<crate::error::ServiceResult<Vec<_>>>()?;
        Ok(NewOrder {
            customer_id: ids::decode("customerId", &self.customer_id, NodeKind::Customer)?,
            channel: self.channel,
            items,
            discount_minor: self.discount_minor,
            currency: self.currency.clone(),
            order_number: None,
            placed_at: None,
            status: OrderStatus::Placed,
            cap_at_list_price: true,
            idempotency_key: self.idempotency_key.clone(),
        })
    }
}

#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// Orders, filtered and sorted, one page at a time.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(0) as usize * child_complexity + 1")]
    #[allow(clippy::too_many_arguments)]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        filter: Option<OrderFilter>,
        order_by: Option<OrderOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Order>> {
        let condition = filter.unwrap_or_default().condition().gql()?;
        let sort = order_by.unwrap_or_default().sort_key();
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let connection = list_connection(ctx, condition, sort, args, Order).await?;
        let rows: Vec<_> = connection.edges.iter().map(|e| &e.node.0).collect();
        prefetch::orders(ctx, &ctx.look_ahead(), &rows).await?;
        Ok(connection)
    }

    async fn order(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Order>> {
        let id = ids::decode("id", &id, NodeKind::Order).gql()?;
        let loaders = loaders(ctx);
        Ok(loaders.orders.load_one(id).await.gql()?.map(Order))
    }
}

#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Places an order after checking the customer, products, quantities and prices;
    /// the order and its items are written together or not at all.
    async fn place_order(&self, ctx: &Context<'_>, input: PlaceOrderInput) -> Result<Order> {
        let new = input.resolve().gql()?;
        let app = app_context(ctx);
        let placed = orders::place(&app.db, &new, &app.settings.currency, Utc::now())
            .await
            .gql()?;
        if !placed.replayed {
            app.events.publish(OrderEvent {
                kind: OrderEventKind::Placed,
                order: placed.order.clone(),
            });
            segmentation::reclassify_after_change(app, placed.order.customer_id).await;
        }
        Ok(Order(placed.order))
    }

    /// Moves an order along its lifecycle: PLACED → PAID → SHIPPED → DELIVERED, or
    /// CANCELLED / REFUNDED. Other moves are refused with CONFLICT. Paying earns
    /// the customer's loyalty points; refunding or cancelling takes them back.
    async fn update_order_status(
        &self,
        ctx: &Context<'_>,
        id: ID,
        status: OrderStatus,
    ) -> Result<Order> {
        let id = ids::decode("id", &id, NodeKind::Order).gql()?;
        let app = app_context(ctx);
        let order = orders::transition(&app.db, &app.settings.loyalty, id, status, Utc::now())
            .await
            .gql()?;
        app.events.publish(OrderEvent {
            kind: OrderEventKind::StatusChanged,
            order: order.clone(),
        });
        segmentation::reclassify_after_change(app, order.customer_id).await;
        Ok(Order(order))
    }

    /// Refunds part or all of a paid, shipped or delivered order and takes back
    /// the same share of the points it earned. The refund that reaches the
    /// total moves the order to REFUNDED.
    async fn refund_order(
        &self,
        ctx: &Context<'_>,
        input: RefundOrderInput,
    ) -> Result<RefundOrderPayload> {
        let request = RefundRequest {
            order_id: ids::decode("orderId", &input.order_id, NodeKind::Order).gql()?,
            amount_minor: input.amount_minor,
            reason: input.reason,
            idempotency_key: input.idempotency_key,
        };
        let app = app_context(ctx);
        let done = refunds::refund(
            &app.db,
            &app.settings.loyalty,
            &request,
            caller(ctx)?,
            Utc::now(),
        )
        .await
        .gql()?;
        if !done.replayed {
            app.events.publish(OrderEvent {
                kind: OrderEventKind::Refunded,
                order: done.order.clone(),
            });
            segmentation::reclassify_after_change(app, done.order.customer_id).await;
        }
        Ok(RefundOrderPayload {
            refund: Refund {
                refund: done.refund,
                currency: done.order.currency.clone(),
            },
            order: Order(done.order),
            replayed: done.replayed,
        })
    }
}

/// An order was placed or changed status.
pub struct OrderUpdate(OrderEvent);

#[Object]
impl OrderUpdate {
    async fn kind(&self) -> OrderEventKind {
        self.0.kind
    }
    async fn order(&self) -> Order {
        Order(self.0.order.clone())
    }
}

#[derive(Default)]
pub struct OrderSubscription;

#[Subscription]
impl OrderSubscription {
    /// Orders placed or changing status on this gateway, as they happen.
    async fn order_updates(&self, ctx: &Context<'_>) -> impl Stream<Item = OrderUpdate> + use<> {
        let receiver = app_context(ctx).events.subscribe();
        // The connection's loaders outlive requests: each event starts with an empty
        // cache, so it never shows rows older than itself.
        let loaders = ctx.data_unchecked::<Arc<Loaders>>().clone();
        futures::stream::unfold(receiver, move |mut receiver| {
            let loaders = loaders.clone();
            async move {
                loop {
                    match receiver.recv().await {
                        Ok(event) => {
                            loaders.clear();
                            return Some((OrderUpdate(event), receiver));
                        }
                        // A slow subscriber skips what it missed rather than ending.
                        Err(RecvError::Lagged(_)) => continue,
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        })
    }
}
