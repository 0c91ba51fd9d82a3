//! The exposure log: the first time each customer is served their variant, once
//! per experiment and bucket version. Requests hand exposures to a background
//! writer that inserts them in batches, off the hot path; `flush` on shutdown
//! writes whatever is still buffered.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use retain_schema::experiment_exposure;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, Set};
use tokio::sync::{mpsc, oneshot};

use crate::error::ServiceResult;

/// Exposures written per INSERT: six values each stays below both backends'
/// bind-parameter limits.
const INSERT_CHUNK: usize = 1000;
/// Exposures this replica remembers having logged, so repeated reads of the same
/// customer do not reach the database; past it, the memory starts over (the
/// insert is idempotent anyway).
const REMEMBERED: usize = 1_000_000;

/// One customer's first service in an experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    pub experiment_id: i64,
    pub bucket_version: i32,
    pub customer_id: i64,
    pub variant: i32,
    pub exposed_at: DateTime<Utc>,
    pub converts_until: DateTime<Utc>,
}

enum Command {
    Log(Vec<Exposure>),
    Flush(oneshot::Sender<()>),
}

/// The buffered writer of exposures.
pub struct ExposureLog {
    sender: mpsc::UnboundedSender<Command>,
    logged: Mutex<HashSet<(i64, i32, i64)>>,
}

impl ExposureLog {
    /// Starts the background writer on the current runtime; it writes what was
    /// logged at least every `flush_every`.
    pub fn start(db: DatabaseConnection, flush_every: Duration) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(write_in_batches(db, receiver, flush_every));
        Self {
            sender,
            logged: Mutex::default(),
        }
    }

    /// Buffers exposures this replica has not logged yet; never waits.
    pub fn log(&self, exposures: impl IntoIterator<Item = Exposure>) {
        let fresh: Vec<Exposure> = {
            let mut logged = self.logged.lock().expect("not poisoned");
            if logged.len() > REMEMBERED {
                logged.clear();
            }
            exposures
                .into_iter()
                .filter(|e| logged.insert((e.experiment_id, e.bucket_version, e.customer_id)))
                .collect()
        };
        if !fresh.is_empty() && self.sender.send(Command::Log(fresh)).is_err() {
            tracing::error!("the exposure writer has stopped; exposures were not logged");
        }
    }

    /// Waits until everything logged so far is written.
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.sender.send(Command::Flush(done)).is_ok() {
            let _ = written.await;
        }
    }
}

async fn write_in_batches(
    db: DatabaseConnection,
    mut commands: mpsc::UnboundedReceiver<Command>,
    flush_every: Duration,
) {
    let mut pending: Vec<Exposure> = Vec::new();
    let mut ticker = tokio::time::interval(flush_every.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Log(exposures)) => pending.extend(exposures),
                Some(Command::Flush(done)) => {
                    write_pending(&db, &mut pending).await;
                    let _ = done.send(());
                }
                None => {
                    write_pending(&db, &mut pending).await;
                    return;
                }
            },
            _ = ticker.tick() => write_pending(&db, &mut pending).await,
        }
    }
}

/// Writes the buffer; on a database error the exposures stay buffered for the
/// next tick, so an outage delays them instead of losing them.
async fn write_pending(db: &DatabaseConnection, pending: &mut Vec<Exposure>) {
    if pending.is_empty() {
        return;
    }
    match insert(db, pending).await {
        Ok(()) => pending.clear(),
        Err(error) => {
            tracing::warn!(%error, buffered = pending.len(), "writing exposures failed; retrying")
        }
    }
}

/// Inserts exposures, keeping the first of each customer: the insert is
/// idempotent, so replicas and retries may log the same customer twice.
pub async fn insert(db: &impl ConnectionTrait, exposures: &[Exposure]) -> ServiceResult<()> {
    for chunk in exposures.chunks(INSERT_CHUNK) {
        let rows = chunk.iter().map(|e| experiment_exposure::ActiveModel {
            experiment_id: Set(e.experiment_id),
            bucket_version: Set(e.bucket_version),
            customer_id: Set(e.customer_id),
            variant: Set(e.variant),
            exposed_at: Set(e.exposed_at),
            converts_until: Set(e.converts_until),
        });
        // The primary key is (experiment, bucket version, customer).
        experiment_exposure::Entity::insert_many(rows)
            .on_conflict_do_nothing()
            .exec(db)
            .await?;
    }
    Ok(())
}
