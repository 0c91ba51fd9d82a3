//! Opaque global ids (`base64url("Customer:42")`) for the Relay `Node` interface.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{ServiceError, ServiceResult};

/// Every type that implements `Node`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Customer,
    Product,
    Order,
    OrderItem,
    Interaction,
    Campaign,
    Feedback,
}

impl NodeKind {
    const ALL: [NodeKind; 7] = [
        NodeKind::Customer,
        NodeKind::Product,
        NodeKind::Order,
        NodeKind::OrderItem,
        NodeKind::Interaction,
        NodeKind::Campaign,
        NodeKind::Feedback,
    ];

    fn name(self) -> &'static str {
        match self {
            NodeKind::Customer => "Customer",
            NodeKind::Product => "Product",
            NodeKind::Order => "Order",
            NodeKind::OrderItem => "OrderItem",
            NodeKind::Interaction => "Interaction",
            NodeKind::Campaign => "Campaign",
            NodeKind::Feedback => "Feedback",
        }
    }
}

pub fn encode(kind: NodeKind, id: i64) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.name())))
}

/// The kind and row id behind a global id, if it is one of ours.
pub fn decode_any(id: &str) -> Option<(NodeKind, i64)> {
    let bytes = URL_SAFE_NO_PAD.decode(id).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (name, raw) = text.split_once(':')?;
    let kind = NodeKind::ALL.into_iter().find(|k| k.name() == name)?;
    Some((kind, raw.parse().ok()?))
}

/// The row id behind a global id that must be of `kind`; `field` names the argument.
pub fn decode(field: &str, id: &ID, kind: NodeKind) -> ServiceResult<i64> {
    match decode_any(id) {
        Some((found, row)) if found == kind => Ok(row),
        Some((found, _)) => Err(ServiceError::invalid(
            field,
            format!("is a {} id, expected a {} id", found.name(), kind.name()),
        )),
        None => Err(ServiceError::invalid(
            field,
            "is not an id issued by this API",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_check_their_kind() {
        let id = encode(NodeKind::Order, 42);
        assert_eq!(decode_any(&id), Some((NodeKind::Order, 42)));
        assert_eq!(decode("orderId", &id, NodeKind::Order).unwrap(), 42);
        assert_eq!(
            decode("customerId", &id, NodeKind::Customer)
                .unwrap_err()
                .to_string(),
            "customerId: is a Order id, expected a Customer id"
        );
        assert!(decode_any("42").is_none());
    }
}
