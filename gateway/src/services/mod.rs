//! Domain services: the logic that GraphQL resolvers and CLI commands both call.
//! Each validates its whole input before writing, and writes in one transaction.

pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod campaigns;
pub mod catalog;
pub mod customers;
pub mod events;
pub mod experiments;
pub mod feedback;
pub mod interactions;
pub mod loyalty;
pub mod orders;
pub mod profile;
pub mod recommendations;
pub mod refunds;
pub mod rules;
pub mod segmentation;
pub mod shadow;
pub mod validate;
