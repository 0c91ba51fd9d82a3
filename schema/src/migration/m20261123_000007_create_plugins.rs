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
                    .table(Plugins::Table)
                    .col(big_pk_auto(Plugins::Id))
                    .col(string_len_uniq(Plugins::Sha256, 64))
                    .col(string_len(Plugins::Kind, 16))
                    .col(string_len(Plugins::Name, 100))
                    .col(string_len(Plugins::Version, 50))
                    .col(string_len(Plugins::Contract, 64))
                    .col(text(Plugins::Description))
                    .col(json(Plugins::Info))
                    .col(big_integer(Plugins::SizeBytes))
                    .col(string_len(Plugins::UploadedBy, 100))
                    .col(timestamp_with_time_zone(Plugins::PublishedAt))
                    .col(timestamp_with_time_zone_null(Plugins::QuarantinedAt))
                    .col(text_null(Plugins::QuarantineReason))
                    .index(
                        Index::create()
                            .name("uq_plugins_name_version")
                            .col(Plugins::Name)
                            .col(Plugins::Version)
                            .unique(),
                    )
                    .to_owned(),
            )
            .await?;
        // Components live apart so listing plugins never reads megabytes of wasm.
        manager
            .create_table(
                Table::create()
                    .table(PluginComponents::Table)
                    .col(big_integer(PluginComponents::PluginId).primary_key())
                    .col(blob(PluginComponents::Bytes))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PluginComponents::Table, PluginComponents::PluginId)
                            .to(Plugins::Table, Plugins::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Slots::Table)
                    .col(string_len(Slots::Name, 64).primary_key())
                    .col(string_len(Slots::Kind, 16))
                    .col(big_integer(Slots::PluginId))
                    .col(json(Slots::Config))
                    .col(big_integer(Slots::ActivationId))
                    .col(big_integer_null(Slots::CurrentRunId))
                    .col(timestamp_with_time_zone(Slots::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Slots::Table, Slots::PluginId)
                            .to(Plugins::Table, Plugins::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SlotActivations::Table)
                    .col(big_pk_auto(SlotActivations::Id))
                    .col(string_len(SlotActivations::Slot, 64))
                    .col(big_integer(SlotActivations::PluginId))
                    .col(json(SlotActivations::Config))
                    .col(string_len(SlotActivations::Action, 16))
                    .col(big_integer_null(SlotActivations::RollbackTo))
                    .col(string_len(SlotActivations::Actor, 100))
                    .col(timestamp_with_time_zone(SlotActivations::At))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SlotActivations::Table, SlotActivations::PluginId)
                            .to(Plugins::Table, Plugins::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                SlotActivations::Table,
                &[SlotActivations::Slot, SlotActivations::Id],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SlotActivations::Table.into_iden(),
            Slots::Table.into_iden(),
            PluginComponents::Table.into_iden(),
            Plugins::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone)]
enum Plugins {
    Table,
    Id,
    Sha256,
    Kind,
    Name,
    Version,
    Contract,
    Description,
    Info,
    SizeBytes,
    UploadedBy,
    PublishedAt,
    QuarantinedAt,
    QuarantineReason,
}

#[derive(DeriveIden, Clone)]
enum PluginComponents {
    Table,
    PluginId,
    Bytes,
}

#[derive(DeriveIden, Clone)]
enum Slots {
    Table,
    Name,
    Kind,
    PluginId,
    Config,
    ActivationId,
    CurrentRunId,
    UpdatedAt,
}

#[derive(DeriveIden, Clone)]
enum SlotActivations {
    Table,
    Id,
    Slot,
    PluginId,
    Config,
    Action,
    RollbackTo,
    Actor,
    At,
}
