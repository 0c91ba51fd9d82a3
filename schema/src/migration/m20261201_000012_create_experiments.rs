use sea_orm_migration::{prelude::*, schema::*};

use super::index;

/// A/B experiments between plugin versions on a slot: the experiment, its
/// variants, and one exposure per customer (which is also the sticky assignment).
#[derive(DeriveMigrationName)]
pub struct Migration;

/// At most one running experiment per slot, also against racing starts.
const ONE_RUNNING_PER_SLOT: &str = "uq_experiments_running_slot";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Experiments::Table)
                    .col(big_pk_auto(Experiments::Id))
                    .col(string_len_uniq(Experiments::Key, 64))
                    .col(string_len(Experiments::Name, 200))
                    .col(text(Experiments::Description))
                    .col(string_len(Experiments::Slot, 64))
                    .col(string_len(Experiments::Status, 16))
                    .col(string_len(Experiments::Metric, 16))
                    .col(double(Experiments::Coverage))
                    .col(integer(Experiments::ConversionWindowDays))
                    .col(string_len(Experiments::Seed, 200))
                    .col(integer(Experiments::BucketVersion))
                    .col(integer(Experiments::Revision))
                    .col(string_len_null(Experiments::Winner, 64))
                    .col(string_len(Experiments::CreatedBy, 200))
                    .col(timestamp_with_time_zone(Experiments::CreatedAt))
                    .col(timestamp_with_time_zone(Experiments::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Experiments::StartedAt))
                    .col(timestamp_with_time_zone_null(Experiments::StoppedAt))
                    .col(timestamp_with_time_zone_null(Experiments::ConcludedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                Experiments::Table,
                &[Experiments::Slot, Experiments::Status],
            ))
            .await?;
        manager
            .create_index(index(Experiments::Table, &[Experiments::Status]))
            .await?;
        // Partial unique indexes read the same on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE UNIQUE INDEX {ONE_RUNNING_PER_SLOT} ON experiments (slot) WHERE status = 'running'"
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ExperimentVariants::Table)
                    .col(big_integer(ExperimentVariants::ExperimentId))
                    .col(integer(ExperimentVariants::Position))
                    .col(string_len(ExperimentVariants::Key, 64))
                    .col(big_integer(ExperimentVariants::PluginId))
                    .col(json(ExperimentVariants::Config))
                    .col(double(ExperimentVariants::Weight))
                    .primary_key(
                        Index::create()
                            .col(ExperimentVariants::ExperimentId)
                            .col(ExperimentVariants::Position),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ExperimentExposures::Table)
                    .col(big_integer(ExperimentExposures::ExperimentId))
                    .col(integer(ExperimentExposures::BucketVersion))
                    .col(big_integer(ExperimentExposures::CustomerId))
                    .col(integer(ExperimentExposures::Variant))
                    .col(timestamp_with_time_zone(ExperimentExposures::ExposedAt))
                    .col(timestamp_with_time_zone(ExperimentExposures::ConvertsUntil))
                    .primary_key(
                        Index::create()
                            .col(ExperimentExposures::ExperimentId)
                            .col(ExperimentExposures::BucketVersion)
                            .col(ExperimentExposures::CustomerId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                ExperimentExposures::Table,
                &[
                    ExperimentExposures::ExperimentId,
                    ExperimentExposures::BucketVersion,
                    ExperimentExposures::Variant,
                ],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ExperimentExposures::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ExperimentVariants::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(ONE_RUNNING_PER_SLOT)
                    .table(Experiments::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Experiments::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum Experiments {
    Table,
    Id,
    Key,
    Name,
    Description,
    Slot,
    Status,
    Metric,
    Coverage,
    ConversionWindowDays,
    Seed,
    BucketVersion,
    Revision,
    Winner,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    StartedAt,
    StoppedAt,
    ConcludedAt,
}

#[derive(DeriveIden, Clone)]
enum ExperimentVariants {
    Table,
    ExperimentId,
    Position,
    Key,
    PluginId,
    Config,
    Weight,
}

#[derive(DeriveIden, Clone)]
enum ExperimentExposures {
    Table,
    ExperimentId,
    BucketVersion,
    CustomerId,
    Variant,
    ExposedAt,
    ConvertsUntil,
}
