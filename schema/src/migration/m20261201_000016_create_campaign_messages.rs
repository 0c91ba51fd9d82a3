use sea_orm_migration::{prelude::*, schema::*};

use super::index;

/// Campaign delivery: a campaign's trigger (what enrols customers, and how far
/// its scheduler got), and the transactional outbox of its messages — one row
/// per customer and occasion, unique by idempotency key, carrying its delivery
/// attempts and the engagement events reported back.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            json_null(Campaigns::Trigger),
            big_integer_null(Campaigns::TriggerCursor),
            integer(Campaigns::AttributionDays).default(7).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Campaigns::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(CampaignMessages::Table)
                    .col(big_pk_auto(CampaignMessages::Id))
                    .col(big_integer(CampaignMessages::CampaignId))
                    .col(big_integer(CampaignMessages::CustomerId))
                    .col(string_len(CampaignMessages::Channel, 16))
                    .col(string_len(CampaignMessages::Occasion, 64))
                    .col(string_len_uniq(CampaignMessages::IdempotencyKey, 160))
                    .col(string_len(CampaignMessages::Status, 16))
                    .col(text_null(CampaignMessages::SuppressedReason))
                    .col(integer(CampaignMessages::Attempts))
                    .col(timestamp_with_time_zone(CampaignMessages::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(CampaignMessages::LeaseUntil))
                    .col(text_null(CampaignMessages::LastError))
                    .col(timestamp_with_time_zone(CampaignMessages::CreatedAt))
                    .col(timestamp_with_time_zone_null(CampaignMessages::SentAt))
                    .col(timestamp_with_time_zone_null(CampaignMessages::DeliveredAt))
                    .col(timestamp_with_time_zone_null(CampaignMessages::OpenedAt))
                    .col(timestamp_with_time_zone_null(CampaignMessages::ClickedAt))
                    .col(timestamp_with_time_zone_null(
                        CampaignMessages::AttributedUntil,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CampaignMessages::Table, CampaignMessages::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for columns in [
            // The dispatcher's queue.
            &[CampaignMessages::Status, CampaignMessages::NextAttemptAt][..],
            // The frequency cap and attribution, per customer.
            &[CampaignMessages::CustomerId, CampaignMessages::CreatedAt],
            &[CampaignMessages::CampaignId, CampaignMessages::Channel],
        ] {
            manager
                .create_index(index(CampaignMessages::Table, columns))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CampaignMessages::Table).to_owned())
            .await?;
        for column in [
            Campaigns::AttributionDays,
            Campaigns::TriggerCursor,
            Campaigns::Trigger,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Campaigns::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone)]
enum Campaigns {
    Table,
    Id,
    Trigger,
    TriggerCursor,
    AttributionDays,
}

#[derive(DeriveIden, Clone)]
enum CampaignMessages {
    Table,
    Id,
    CampaignId,
    CustomerId,
    Channel,
    Occasion,
    IdempotencyKey,
    Status,
    SuppressedReason,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    LastError,
    CreatedAt,
    SentAt,
    DeliveredAt,
    OpenedAt,
    ClickedAt,
    AttributedUntil,
}
