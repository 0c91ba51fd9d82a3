use sea_orm_migration::prelude::*;

use super::index;

/// Covers the per-customer order totals of profiles and segmentation runs
/// (status, time and total by customer), so they never visit the order rows.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(statement()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let name = statement().get_index_spec().get_name().map(str::to_owned);
        manager
            .drop_index(
                Index::drop()
                    .name(name.expect("the index is named"))
                    .table(Orders::Table)
                    .to_owned(),
            )
            .await
    }
}

fn statement() -> IndexCreateStatement {
    index(
        Orders::Table,
        &[
            Orders::CustomerId,
            Orders::Status,
            Orders::PlacedAt,
            Orders::TotalMinor,
        ],
    )
}

#[derive(DeriveIden, Clone)]
enum Orders {
    Table,
    CustomerId,
    Status,
    PlacedAt,
    TotalMinor,
}
