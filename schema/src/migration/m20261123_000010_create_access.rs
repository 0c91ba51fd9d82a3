use sea_orm_migration::{prelude::*, schema::*};

use super::index;

/// API keys and the audit log of privileged changes.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(big_pk_auto(ApiKeys::Id))
                    .col(string_len_uniq(ApiKeys::Name, 100))
                    .col(string_len(ApiKeys::Role, 16))
                    .col(string_len_uniq(ApiKeys::Prefix, 32))
                    .col(string_len(ApiKeys::SecretHash, 64))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(string_len(ApiKeys::CreatedBy, 128))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditEntries::Table)
                    .col(big_pk_auto(AuditEntries::Id))
                    .col(timestamp_with_time_zone(AuditEntries::At))
                    .col(string_len(AuditEntries::Actor, 128))
                    .col(string_len(AuditEntries::ActorRole, 16))
                    .col(string_len(AuditEntries::Action, 64))
                    .col(string_len(AuditEntries::Target, 256))
                    .col(json(AuditEntries::Detail))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                AuditEntries::Table,
                &[AuditEntries::Action, AuditEntries::Id],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEntries::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ApiKeys::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
enum ApiKeys {
    Table,
    Id,
    Name,
    Role,
    Prefix,
    SecretHash,
    CreatedAt,
    CreatedBy,
    RevokedAt,
}

#[derive(DeriveIden, Clone)]
enum AuditEntries {
    Table,
    Id,
    At,
    Actor,
    ActorRole,
    Action,
    Target,
    Detail,
}
