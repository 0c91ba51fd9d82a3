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
                    .table(SegmentRuns::Table)
                    .col(big_pk_auto(SegmentRuns::Id))
                    .col(string_len(SegmentRuns::Slot, 64))
                    .col(big_integer(SegmentRuns::PluginId))
                    .col(string_len(SegmentRuns::Status, 16))
                    .col(big_integer(SegmentRuns::Customers))
                    .col(big_integer(SegmentRuns::Changed))
                    .col(timestamp_with_time_zone(SegmentRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(SegmentRuns::FinishedAt))
                    .col(text_null(SegmentRuns::Error))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                SegmentRuns::Table,
                &[SegmentRuns::Slot, SegmentRuns::Id],
            ))
            .await?;
        // A run's memberships become visible when the slot points at the run, so
        // readers never see half a run.
        manager
            .create_table(
                Table::create()
                    .table(SegmentMemberships::Table)
                    .col(big_integer(SegmentMemberships::RunId))
                    .col(big_integer(SegmentMemberships::CustomerId))
                    .col(string_len(SegmentMemberships::Segment, 64))
                    .col(double(SegmentMemberships::Score))
                    .primary_key(
                        Index::create()
                            .col(SegmentMemberships::RunId)
                            .col(SegmentMemberships::CustomerId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                SegmentMemberships::Table,
                &[
                    SegmentMemberships::RunId,
                    SegmentMemberships::Segment,
                    SegmentMemberships::CustomerId,
                ],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SegmentChanges::Table)
                    .col(big_pk_auto(SegmentChanges::Id))
                    .col(string_len(SegmentChanges::Slot, 64))
                    .col(big_integer(SegmentChanges::CustomerId))
                    .col(string_len_null(SegmentChanges::FromSegment, 64))
                    .col(string_len_null(SegmentChanges::ToSegment, 64))
                    .col(big_integer_null(SegmentChanges::RunId))
                    .col(timestamp_with_time_zone(SegmentChanges::ChangedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                SegmentChanges::Table,
                &[SegmentChanges::CustomerId, SegmentChanges::Slot],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SegmentChanges::Table.into_iden(),
            SegmentMemberships::Table.into_iden(),
            SegmentRuns::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone)]
enum SegmentRuns {
    Table,
    Id,
    Slot,
    PluginId,
    Status,
    Customers,
    Changed,
    StartedAt,
    FinishedAt,
    Error,
}

#[derive(DeriveIden, Clone)]
enum SegmentMemberships {
    Table,
    RunId,
    CustomerId,
    Segment,
    Score,
}

#[derive(DeriveIden, Clone)]
enum SegmentChanges {
    Table,
    Id,
    Slot,
    CustomerId,
    FromSegment,
    ToSegment,
    RunId,
    ChangedAt,
}
