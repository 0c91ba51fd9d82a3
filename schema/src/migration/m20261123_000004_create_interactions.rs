use sea_orm_migration::{prelude::*, schema::*};

use super::index;
use super::m20261123_000001_create_customers::Customers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Interactions::Table)
                    .col(big_pk_auto(Interactions::Id))
                    .col(big_integer(Interactions::CustomerId))
                    .col(string_len(Interactions::Kind, 16))
                    .col(string_len(Interactions::Channel, 16))
                    .col(big_integer_null(Interactions::ProductId))
                    .col(big_integer_null(Interactions::CampaignId))
                    .col(timestamp_with_time_zone(Interactions::OccurredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Interactions::Table, Interactions::CustomerId)
                            .to(Customers::Table, Customers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for columns in [
            &[Interactions::CustomerId, Interactions::OccurredAt][..],
            &[Interactions::Kind, Interactions::OccurredAt],
        ] {
            manager
                .create_index(index(Interactions::Table, columns))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Interactions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum Interactions {
    Table,
    Id,
    CustomerId,
    Kind,
    Channel,
    ProductId,
    CampaignId,
    OccurredAt,
}
