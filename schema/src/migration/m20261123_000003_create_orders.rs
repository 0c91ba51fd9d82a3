use sea_orm_migration::{prelude::*, schema::*};

use super::index;
use super::m20261123_000001_create_customers::Customers;
use super::m20261123_000002_create_products::Products;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Orders::Table)
                    .col(big_pk_auto(Orders::Id))
                    .col(string_uniq(Orders::OrderNumber))
                    .col(big_integer(Orders::CustomerId))
                    .col(string_len(Orders::Status, 16))
                    .col(string_len(Orders::Channel, 16))
                    .col(string_len(Orders::Currency, 3))
                    .col(big_integer(Orders::SubtotalMinor))
                    .col(big_integer(Orders::DiscountMinor))
                    .col(big_integer(Orders::TotalMinor))
                    .col(timestamp_with_time_zone(Orders::PlacedAt))
                    .col(timestamp_with_time_zone_null(Orders::PaidAt))
                    .col(timestamp_with_time_zone_null(Orders::ShippedAt))
                    .col(timestamp_with_time_zone_null(Orders::DeliveredAt))
                    .col(timestamp_with_time_zone_null(Orders::CancelledAt))
                    .col(timestamp_with_time_zone_null(Orders::RefundedAt))
                    .col(timestamp_with_time_zone(Orders::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Orders::Table, Orders::CustomerId)
                            .to(Customers::Table, Customers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for columns in [
            &[Orders::CustomerId, Orders::PlacedAt][..],
            &[Orders::PlacedAt],
            &[Orders::Status, Orders::PlacedAt],
            &[Orders::Channel],
            &[Orders::TotalMinor],
        ] {
            manager.create_index(index(Orders::Table, columns)).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(OrderItems::Table)
                    .col(big_pk_auto(OrderItems::Id))
                    .col(big_integer(OrderItems::OrderId))
                    .col(big_integer(OrderItems::ProductId))
                    .col(integer(OrderItems::Quantity))
                    .col(big_integer(OrderItems::UnitPriceMinor))
                    .col(big_integer(OrderItems::LineTotalMinor))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OrderItems::Table, OrderItems::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(OrderItems::Table, OrderItems::ProductId)
                            .to(Products::Table, Products::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for columns in [&[OrderItems::OrderId][..], &[OrderItems::ProductId]] {
            manager
                .create_index(index(OrderItems::Table, columns))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OrderItems::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Orders::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
pub(super) enum Orders {
    Table,
    Id,
    OrderNumber,
    CustomerId,
    Status,
    Channel,
    Currency,
    SubtotalMinor,
    DiscountMinor,
    TotalMinor,
    PlacedAt,
    PaidAt,
    ShippedAt,
    DeliveredAt,
    CancelledAt,
    RefundedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone)]
enum OrderItems {
    Table,
    Id,
    OrderId,
    ProductId,
    Quantity,
    UnitPriceMinor,
    LineTotalMinor,
}
