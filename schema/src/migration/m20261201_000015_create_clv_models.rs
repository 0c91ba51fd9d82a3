use sea_orm_migration::{prelude::*, schema::*};

/// Fitted customer-lifetime-value models (BG/NBD and Gamma-Gamma parameters
/// with per-segment totals), newest last: fitting reads the whole order
/// history, so it runs on demand and readers use the latest fit.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ClvModels::Table)
                    .col(big_pk_auto(ClvModels::Id))
                    .col(timestamp_with_time_zone(ClvModels::FittedAt))
                    .col(json(ClvModels::Model))
                    .col(string_len(ClvModels::FittedBy, 200))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ClvModels::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum ClvModels {
    Table,
    Id,
    FittedAt,
    Model,
    FittedBy,
}
