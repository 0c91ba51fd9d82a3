use sea_orm_migration::{prelude::*, schema::*};

use super::index;

/// Partial refunds and referrals. An order keeps the running total of what was
/// refunded, each refund is a row (idempotent by the client's key), and an
/// order may now be reversed in points more than once (once per refund), so the
/// "one entry per order and kind" rule narrows to earnings. A referral links a
/// referred customer (at most once) to a referrer under a referral campaign and
/// records when the referred customer's first paid order rewarded both.
#[derive(DeriveMigrationName)]
pub struct Migration;

const ORDER_KIND: &str = "uq_points_entries_order_kind";
const ORDER_EARN: &str = "uq_points_entries_order_earn";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .add_column(big_integer(Orders::RefundedMinor).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrderRefunds::Table)
                    .col(big_pk_auto(OrderRefunds::Id))
                    .col(big_integer(OrderRefunds::OrderId))
                    .col(big_integer(OrderRefunds::AmountMinor))
                    .col(text(OrderRefunds::Reason))
                    .col(string_len(OrderRefunds::Actor, 200))
                    .col(string_len_null(OrderRefunds::IdempotencyKey, 160).unique_key())
                    .col(timestamp_with_time_zone(OrderRefunds::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OrderRefunds::Table, OrderRefunds::OrderId)
                            .to(Orders::Table, Orders::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(OrderRefunds::Table, &[OrderRefunds::OrderId]))
            .await?;

        manager
            .drop_index(
                Index::drop()
                    .name(ORDER_KIND)
                    .table(PointsEntries::Table)
                    .to_owned(),
            )
            .await?;
        // Partial indexes read the same on SQLite and PostgreSQL.
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE UNIQUE INDEX {ORDER_EARN} ON points_entries (order_id) WHERE kind = 'earn'"
        ))
        .await?;
        manager
            .create_index(index(PointsEntries::Table, &[PointsEntries::OrderId]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Referrals::Table)
                    .col(big_pk_auto(Referrals::Id))
                    .col(big_integer(Referrals::CampaignId))
                    .col(big_integer(Referrals::ReferrerId))
                    .col(big_integer(Referrals::ReferredId).unique_key())
                    .col(string_len(Referrals::Actor, 200))
                    .col(timestamp_with_time_zone(Referrals::CreatedAt))
                    .col(big_integer_null(Referrals::RewardOrderId))
                    .col(timestamp_with_time_zone_null(Referrals::RewardedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Referrals::Table, Referrals::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Referrals::Table, Referrals::ReferrerId)
                            .to(Customers::Table, Customers::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Referrals::Table, Referrals::ReferredId)
                            .to(Customers::Table, Customers::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Referrals::Table, Referrals::RewardOrderId)
                            .to(Orders::Table, Orders::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(Referrals::Table, &[Referrals::CampaignId]))
            .await?;
        manager
            .create_index(index(Referrals::Table, &[Referrals::ReferrerId]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Referrals::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_points_entries_order_id")
                    .table(PointsEntries::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(ORDER_EARN)
                    .table(PointsEntries::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(ORDER_KIND)
                    .table(PointsEntries::Table)
                    .col(PointsEntries::OrderId)
                    .col(PointsEntries::Kind)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(OrderRefunds::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Orders::Table)
                    .drop_column(Orders::RefundedMinor)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum Customers {
    Table,
    Id,
}

#[derive(DeriveIden, Clone)]
enum Campaigns {
    Table,
    Id,
}

#[derive(DeriveIden, Clone)]
enum Orders {
    Table,
    Id,
    RefundedMinor,
}

#[derive(DeriveIden, Clone)]
enum OrderRefunds {
    Table,
    Id,
    OrderId,
    AmountMinor,
    Reason,
    Actor,
    IdempotencyKey,
    CreatedAt,
}

#[derive(DeriveIden, Clone)]
enum PointsEntries {
    Table,
    OrderId,
    Kind,
}

#[derive(DeriveIden, Clone)]
enum Referrals {
    Table,
    Id,
    CampaignId,
    ReferrerId,
    ReferredId,
    Actor,
    CreatedAt,
    RewardOrderId,
    RewardedAt,
}
