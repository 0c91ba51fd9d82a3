use sea_orm_migration::{prelude::*, schema::*};

use super::index;

/// Complaints get a first-response deadline, fixed when they arrive (so a later
/// change of the target does not rewrite history), and a link to the same
/// customer's previous complaint when they complain again.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(Feedback::Table)
                    .add_column(timestamp_with_time_zone_null(Feedback::ResponseDueAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Feedback::Table)
                    .add_column(big_integer_null(Feedback::RepeatOf))
                    .to_owned(),
            )
            .await?;
        // The overdue list: received complaints past their deadline.
        manager
            .create_index(index(
                Feedback::Table,
                &[Feedback::Status, Feedback::ResponseDueAt],
            ))
            .await?;
        manager
            .create_index(index(Feedback::Table, &[Feedback::RepeatOf]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "idx_feedback_repeat_of",
            "idx_feedback_status_response_due_at",
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Feedback::Table).to_owned())
                .await?;
        }
        for column in [Feedback::RepeatOf, Feedback::ResponseDueAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Feedback::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone)]
enum Feedback {
    Table,
    Status,
    ResponseDueAt,
    RepeatOf,
}
