//! One module per table.

pub mod api_key;
pub mod audit_entry;
pub mod campaign;
pub mod campaign_message;
pub mod clv_model;
pub mod customer;
pub mod customer_tag;
pub mod enums;
pub mod experiment;
pub mod experiment_exposure;
pub mod experiment_variant;
pub mod feedback;
pub mod interaction;
pub mod level_holding;
pub mod order;
pub mod order_item;
pub mod order_refund;
pub mod plugin;
pub mod plugin_component;
pub mod points_account;
pub mod points_entry;
pub mod product;
pub mod referral;
pub mod segment_change;
pub mod segment_membership;
pub mod segment_run;
pub mod segment_run_count;
pub mod segment_run_update;
pub mod slot;
pub mod slot_activation;

pub use enums::*;
