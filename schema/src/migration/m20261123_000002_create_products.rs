use sea_orm_migration::{prelude::*, schema::*};

use super::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .col(big_pk_auto(Products::Id))
                    .col(string_uniq(Products::Sku))
                    .col(string(Products::Name))
                    .col(string(Products::Category))
                    .col(big_integer(Products::PriceMinor))
                    .col(string_len(Products::Currency, 3))
                    .col(boolean(Products::Active))
                    .col(timestamp_with_time_zone(Products::CreatedAt))
                    .col(timestamp_with_time_zone(Products::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for columns in [
            &[Products::Name][..],
            &[Products::Category],
            &[Products::PriceMinor],
            &[Products::CreatedAt],
            &[Products::Active],
        ] {
            manager
                .create_index(index(Products::Table, columns))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Products::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
pub(super) enum Products {
    Table,
    Id,
    Sku,
    Name,
    Category,
    PriceMinor,
    Currency,
    Active,
    CreatedAt,
    UpdatedAt,
}
