//! One module per table.

pub mod campaign;
pub mod customer;
pub mod customer_tag;
pub mod enums;
pub mod feedback;
pub mod interaction;
pub mod order;
pub mod order_item;
pub mod product;

pub use enums::*;
