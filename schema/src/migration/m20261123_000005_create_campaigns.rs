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
                    .table(Campaigns::Table)
                    .col(big_pk_auto(Campaigns::Id))
                    .col(string(Campaigns::Name))
                    .col(string_len(Campaigns::Kind, 24))
                    .col(json(Campaigns::Channels))
                    .col(json(Campaigns::Target))
                    .col(json(Campaigns::Offer))
                    .col(timestamp_with_time_zone_null(Campaigns::StartsAt))
                    .col(timestamp_with_time_zone_null(Campaigns::EndsAt))
                    .col(string_len(Campaigns::Status, 16))
                    .col(timestamp_with_time_zone(Campaigns::CreatedAt))
                    .col(timestamp_with_time_zone(Campaigns::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for columns in [
            &[Campaigns::Name][..],
            &[Campaigns::Kind],
            &[Campaigns::Status],
            &[Campaigns::StartsAt],
            &[Campaigns::CreatedAt],
        ] {
            manager
                .create_index(index(Campaigns::Table, columns))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Campaigns::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum Campaigns {
    Table,
    Id,
    Name,
    Kind,
    Channels,
    Target,
    Offer,
    StartsAt,
    EndsAt,
    Status,
    CreatedAt,
    UpdatedAt,
}
