//! Schema migrations, one file per change, named by date and verb. Each has a `down`.

use sea_orm_migration::prelude::*;

mod m20261123_000001_create_customers;
mod m20261123_000002_create_products;
mod m20261123_000003_create_orders;
mod m20261123_000004_create_interactions;
mod m20261123_000005_create_campaigns;
mod m20261123_000006_create_feedback;
mod m20261123_000007_create_plugins;
mod m20261123_000008_create_segments;
mod m20261123_000009_create_order_profile_index;
mod m20261123_000010_create_access;
mod m20261123_000011_add_order_idempotency_key;
mod m20261201_000012_create_experiments;
mod m20261201_000013_add_complaint_sla;
mod m20261201_000014_create_segment_run_counts;
mod m20261201_000015_create_clv_models;
mod m20261201_000016_create_campaign_messages;
mod m20261201_000020_create_loyalty;
mod m20261202_000021_create_refunds_and_referrals;
mod m20261207_000022_key_memberships_by_slot;

/// Applies Retain's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_customers::Migration),
            Box::new(m20261123_000002_create_products::Migration),
            Box::new(m20261123_000003_create_orders::Migration),
            Box::new(m20261123_000004_create_interactions::Migration),
            Box::new(m20261123_000005_create_campaigns::Migration),
            Box::new(m20261123_000006_create_feedback::Migration),
            Box::new(m20261123_000007_create_plugins::Migration),
            Box::new(m20261123_000008_create_segments::Migration),
            Box::new(m20261123_000009_create_order_profile_index::Migration),
            Box::new(m20261123_000010_create_access::Migration),
            Box::new(m20261123_000011_add_order_idempotency_key::Migration),
            Box::new(m20261201_000012_create_experiments::Migration),
            Box::new(m20261201_000013_add_complaint_sla::Migration),
            Box::new(m20261201_000014_create_segment_run_counts::Migration),
            Box::new(m20261201_000015_create_clv_models::Migration),
            Box::new(m20261201_000016_create_campaign_messages::Migration),
            Box::new(m20261201_000020_create_loyalty::Migration),
            Box::new(m20261202_000021_create_refunds_and_referrals::Migration),
            Box::new(m20261207_000022_key_memberships_by_slot::Migration),
        ]
    }
}

/// A plain (non-unique) index on `columns` of `table`, named after both.
fn index<T, C>(table: T, columns: &[C]) -> IndexCreateStatement
where
    T: IntoIden + Clone + 'static,
    C: IntoIden + Clone + 'static,
{
    let table_name = table.clone().into_iden().to_string();
    let column_names: Vec<String> = columns
        .iter()
        .map(|c| c.clone().into_iden().to_string())
        .collect();
    let mut statement = Index::create();
    statement
        .name(format!("idx_{table_name}_{}", column_names.join("_")))
        .table(table);
    for column in columns {
        statement.col(column.clone());
    }
    statement.to_owned()
}
