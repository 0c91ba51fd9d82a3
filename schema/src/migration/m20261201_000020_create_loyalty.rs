use sea_orm_migration::{prelude::*, schema::*};

use super::index;

/// Loyalty: a balance row per customer, the append-only points ledger (whose
/// credits are the lots debits consume oldest first), and retained levels.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// Lots with points left, by expiry: what the expiry sweep scans.
const OPEN_LOTS: &str = "idx_points_entries_open_lots";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PointsAccounts::Table)
                    .col(big_integer(PointsAccounts::CustomerId).primary_key())
                    // The last line of defence: no statement may leave it negative.
                    .col(
                        big_integer(PointsAccounts::Balance)
                            .check(Expr::col(PointsAccounts::Balance).gte(0)),
                    )
                    .col(timestamp_with_time_zone(PointsAccounts::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PointsAccounts::Table, PointsAccounts::CustomerId)
                            .to(Customers::Table, Customers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PointsEntries::Table)
                    .col(big_pk_auto(PointsEntries::Id))
                    .col(big_integer(PointsEntries::CustomerId))
                    .col(string_len(PointsEntries::Kind, 16))
                    .col(big_integer(PointsEntries::Points))
                    .col(
                        big_integer(PointsEntries::Remaining)
                            .check(Expr::col(PointsEntries::Remaining).gte(0)),
                    )
                    .col(big_integer(PointsEntries::BalanceAfter))
                    .col(big_integer_null(PointsEntries::OrderId))
                    .col(string_len_null(PointsEntries::Reference, 160))
                    .col(text(PointsEntries::Reason))
                    .col(string_len(PointsEntries::Actor, 200))
                    .col(timestamp_with_time_zone(PointsEntries::CreatedAt))
                    .col(timestamp_with_time_zone_null(PointsEntries::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PointsEntries::Table, PointsEntries::CustomerId)
                            .to(Customers::Table, Customers::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PointsEntries::Table, PointsEntries::OrderId)
                            .to(Orders::Table, Orders::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The ledger page and the lots of a customer, oldest first.
        manager
            .create_index(index(
                PointsEntries::Table,
                &[PointsEntries::CustomerId, PointsEntries::CreatedAt],
            ))
            .await?;
        // An order earns once and is reversed once; a key redeems once. NULLs
        // are distinct on both backends, so entries without one are unaffected.
        for (name, columns) in [
            (
                "uq_points_entries_order_kind",
                &[PointsEntries::OrderId, PointsEntries::Kind][..],
            ),
            (
                "uq_points_entries_customer_kind_reference",
                &[
                    PointsEntries::CustomerId,
                    PointsEntries::Kind,
                    PointsEntries::Reference,
                ],
            ),
        ] {
            let mut unique = Index::create();
            unique.name(name).table(PointsEntries::Table).unique();
            for column in columns {
                unique.col(column.clone());
            }
            manager.create_index(unique.to_owned()).await?;
        }
        // Partial indexes read the same on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX {OPEN_LOTS} ON points_entries (expires_at) WHERE remaining > 0"
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LevelHoldings::Table)
                    .col(big_integer(LevelHoldings::CustomerId).primary_key())
                    .col(string_len(LevelHoldings::Level, 64))
                    .col(timestamp_with_time_zone(LevelHoldings::HeldUntil))
                    .col(timestamp_with_time_zone(LevelHoldings::GrantedAt))
                    .col(big_integer(LevelHoldings::Repurchases))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LevelHoldings::Table, LevelHoldings::CustomerId)
                            .to(Customers::Table, Customers::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LevelHoldings::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PointsEntries::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PointsAccounts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum Customers {
    Table,
    Id,
}

#[derive(DeriveIden, Clone)]
enum Orders {
    Table,
    Id,
}

#[derive(DeriveIden, Clone)]
enum PointsAccounts {
    Table,
    CustomerId,
    Balance,
    UpdatedAt,
}

#[derive(DeriveIden, Clone)]
enum PointsEntries {
    Table,
    Id,
    CustomerId,
    Kind,
    Points,
    Remaining,
    BalanceAfter,
    OrderId,
    Reference,
    Reason,
    Actor,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden, Clone)]
enum LevelHoldings {
    Table,
    CustomerId,
    Level,
    HeldUntil,
    GrantedAt,
    Repurchases,
}
