use sea_orm_migration::{prelude::*, schema::*};

use super::index;
use super::m20261123_000001_create_customers::Customers;
use super::m20261123_000003_create_orders::Orders;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Feedback::Table)
                    .col(big_pk_auto(Feedback::Id))
                    .col(big_integer(Feedback::CustomerId))
                    .col(big_integer_null(Feedback::OrderId))
                    .col(string_len(Feedback::Category, 16))
                    .col(small_integer_null(Feedback::Csat))
                    .col(small_integer_null(Feedback::Nps))
                    .col(text(Feedback::Text))
                    .col(string_len(Feedback::Status, 16))
                    .col(timestamp_with_time_zone(Feedback::CreatedAt))
                    .col(timestamp_with_time_zone_null(Feedback::AcknowledgedAt))
                    .col(timestamp_with_time_zone_null(Feedback::ResolvedAt))
                    .col(timestamp_with_time_zone_null(Feedback::ClosedAt))
                    .col(timestamp_with_time_zone(Feedback::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Feedback::Table, Feedback::CustomerId)
                            .to(Customers::Table, Customers::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Feedback::Table, Feedback::OrderId)
                            .to(Orders::Table, Orders::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for columns in [
            &[Feedback::CustomerId, Feedback::CreatedAt][..],
            &[Feedback::CreatedAt],
            &[Feedback::Category, Feedback::CreatedAt],
            &[Feedback::Status, Feedback::CreatedAt],
            &[Feedback::Csat],
            &[Feedback::Nps],
        ] {
            manager
                .create_index(index(Feedback::Table, columns))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Feedback::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum Feedback {
    Table,
    Id,
    CustomerId,
    OrderId,
    Category,
    Csat,
    Nps,
    Text,
    Status,
    CreatedAt,
    AcknowledgedAt,
    ResolvedAt,
    ClosedAt,
    UpdatedAt,
}
