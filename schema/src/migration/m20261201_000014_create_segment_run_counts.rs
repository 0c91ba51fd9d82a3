use sea_orm_migration::{prelude::*, schema::*};

/// Customers per segment in each completed run, kept after the run's
/// memberships are replaced: the segment distribution over time.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SegmentRunCounts::Table)
                    .col(big_integer(SegmentRunCounts::RunId))
                    .col(string_len(SegmentRunCounts::Segment, 64))
                    .col(big_integer(SegmentRunCounts::Customers))
                    .primary_key(
                        Index::create()
                            .col(SegmentRunCounts::RunId)
                            .col(SegmentRunCounts::Segment),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SegmentRunCounts::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum SegmentRunCounts {
    Table,
    RunId,
    Segment,
    Customers,
}
