//! In-process domain events, fanned out to GraphQL subscriptions on this replica.

use retain_schema::order;
use tokio::sync::broadcast;

/// What happened to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum OrderEventKind {
    Placed,
    StatusChanged,
    /// Part or all of the order was refunded.
    Refunded,
}

#[derive(Debug, Clone)]
pub struct OrderEvent {
    pub kind: OrderEventKind,
    pub order: order::Model,
}

/// Publishes events to whoever listens; slow listeners lose the oldest events
/// rather than slowing writers down.
#[derive(Debug, Clone)]
pub struct EventBus {
    orders: broadcast::Sender<OrderEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            orders: broadcast::channel(1024).0,
        }
    }
}

impl EventBus {
    pub fn publish(&self, event: OrderEvent) {
        // No subscriber is not an error: events are best-effort notifications.
        let _ = self.orders.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<OrderEvent> {
        self.orders.subscribe()
    }
}
