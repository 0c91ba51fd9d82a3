use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use super::index;

/// Memberships keyed by slot instead of by run. A run used to write every
/// customer's membership anew and drop the previous run's, millions of rows per
/// run; now it stages only the memberships that differ from the slot's current
/// ones (`segment_run_updates`) and applies them in the transaction that
/// publishes it, so readers still never see half a run.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// Holds the memberships while the table is rebuilt.
const HOLDING: &str = "segment_memberships_rekeyed";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let postgres = db.get_database_backend() == DbBackend::Postgres;
        // Only the current run's memberships of each slot are ever read.
        rebuild_memberships(
            manager,
            string_len(SegmentMemberships::Slot, 64),
            "SELECT s.name AS slot, m.customer_id, m.segment, m.score \
             FROM segment_memberships m JOIN slots s ON s.current_run_id = m.run_id",
            // Room on every page for a new version of each row, so a run that
            // rescores everyone updates in place without touching the indexes
            // (heap-only tuples). 877,526 rescored memberships: 8.3 s at the
            // default fill, 2.2–3.6 s at half.
            postgres.then_some("ALTER TABLE segment_memberships SET (fillfactor = 50)"),
        )
        .await?;
        manager
            .create_table(memberships_table(
                SegmentRunUpdates::Table,
                big_integer(SegmentRunUpdates::RunId),
            ))
            .await?;
        if postgres {
            // Staged rows live only until their run publishes or fails, and a
            // crash ends the run that staged them: not worth the write-ahead log
            // (877,526 rows staged in 1.3 s instead of 2.1 s).
            db.execute_unprepared("ALTER TABLE segment_run_updates SET UNLOGGED")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SegmentRunUpdates::Table).to_owned())
            .await?;
        rebuild_memberships(
            manager,
            big_integer(SegmentMemberships::RunId),
            "SELECT s.current_run_id AS run_id, m.customer_id, m.segment, m.score \
             FROM segment_memberships m JOIN slots s ON s.name = m.slot \
             WHERE s.current_run_id IS NOT NULL",
            None,
        )
        .await
    }

    /// The table is dropped and rebuilt: all of it or nothing, on SQLite too.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// Rebuilds `segment_memberships` keyed by `key` and customer, keeping the rows
/// `keep` selects (key, customer_id, segment, score). `storage` runs on the empty
/// table, before the rows go back in.
async fn rebuild_memberships(
    manager: &SchemaManager<'_>,
    key: ColumnDef,
    keep: &str,
    storage: Option<&str>,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let key_name = key.get_column_name();
    db.execute_unprepared(&format!("CREATE TABLE {HOLDING} AS {keep}"))
        .await?;
    manager
        .drop_table(Table::drop().table(SegmentMemberships::Table).to_owned())
        .await?;
    manager
        .create_table(memberships_table(SegmentMemberships::Table, key))
        .await?;
    // Segment filters, campaign audiences and counts per segment.
    manager
        .create_index(index(
            SegmentMemberships::Table,
            &[
                Alias::new(&key_name),
                Alias::new(Membership::Segment.to_string()),
                Alias::new(Membership::CustomerId.to_string()),
            ],
        ))
        .await?;
    if let Some(storage) = storage {
        db.execute_unprepared(storage).await?;
    }
    db.execute_unprepared(&format!(
        "INSERT INTO segment_memberships ({key_name}, customer_id, segment, score) \
         SELECT {key_name}, customer_id, segment, score FROM {HOLDING}"
    ))
    .await?;
    manager
        .drop_table(Table::drop().table(Alias::new(HOLDING)).to_owned())
        .await
}

/// Memberships (segment and score) keyed by `key` and customer.
fn memberships_table(table: impl IntoIden + 'static, mut key: ColumnDef) -> TableCreateStatement {
    let key_name = Alias::new(key.get_column_name());
    Table::create()
        .table(table)
        .col(&mut key)
        .col(big_integer(Membership::CustomerId))
        .col(string_len(Membership::Segment, 64))
        .col(double(Membership::Score))
        .primary_key(Index::create().col(key_name).col(Membership::CustomerId))
        .to_owned()
}

#[derive(DeriveIden, Clone)]
enum SegmentMemberships {
    Table,
    Slot,
    RunId,
}

#[derive(DeriveIden, Clone)]
enum SegmentRunUpdates {
    Table,
    RunId,
}

/// The columns every membership table has besides its key.
#[derive(DeriveIden, Clone)]
enum Membership {
    CustomerId,
    Segment,
    Score,
}
