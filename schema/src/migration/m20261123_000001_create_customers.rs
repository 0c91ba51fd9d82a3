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
                    .table(Customers::Table)
                    .col(big_pk_auto(Customers::Id))
                    .col(string_uniq(Customers::ExternalId))
                    .col(string(Customers::Name))
                    .col(string_null(Customers::Email))
                    .col(string_null(Customers::Phone))
                    .col(date_null(Customers::Birthday))
                    .col(timestamp_with_time_zone(Customers::SignupAt))
                    .col(boolean(Customers::ConsentEmail))
                    .col(boolean(Customers::ConsentSms))
                    .col(boolean(Customers::ConsentAppPush))
                    .col(boolean(Customers::ConsentSocial))
                    .col(timestamp_with_time_zone_null(Customers::ErasedAt))
                    .col(timestamp_with_time_zone(Customers::CreatedAt))
                    .col(timestamp_with_time_zone(Customers::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for columns in [
            &[Customers::Name][..],
            &[Customers::Email],
            &[Customers::Phone],
            &[Customers::SignupAt],
            &[Customers::Birthday],
            &[Customers::CreatedAt],
            &[Customers::ConsentEmail],
            &[Customers::ConsentSms],
            &[Customers::ConsentAppPush],
            &[Customers::ConsentSocial],
            &[Customers::ErasedAt],
        ] {
            manager
                .create_index(index(Customers::Table, columns))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(CustomerTags::Table)
                    .col(big_integer(CustomerTags::CustomerId))
                    .col(string(CustomerTags::Tag))
                    .primary_key(
                        Index::create()
                            .col(CustomerTags::CustomerId)
                            .col(CustomerTags::Tag),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CustomerTags::Table, CustomerTags::CustomerId)
                            .to(Customers::Table, Customers::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                CustomerTags::Table,
                &[CustomerTags::Tag, CustomerTags::CustomerId],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CustomerTags::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Customers::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone)]
pub(super) enum Customers {
    Table,
    Id,
    ExternalId,
    Name,
    Email,
    Phone,
    Birthday,
    SignupAt,
    ConsentEmail,
    ConsentSms,
    ConsentAppPush,
    ConsentSocial,
    ErasedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone)]
enum CustomerTags {
    Table,
    CustomerId,
    Tag,
}
