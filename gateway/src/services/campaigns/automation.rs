//! Campaign automation: the scheduler every replica runs, which enrols
//! customers when a running campaign's trigger fires — birthdays and holiday
//! dates at a local hour, entering a segment. Each campaign's cursor records how
//! far it got, and each occasion's idempotency key makes enrolment happen once,
//! so neither a restart nor a second replica sends a message twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike, Utc};
use retain_schema::campaign::{self, Trigger};
use retain_schema::{CampaignStatus, customer, segment_change};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use tokio::sync::watch;

use super::enrolment::{self, Enrolled};
use crate::config::DeliverySettings;
use crate::database::month_day_of;
use crate::error::ServiceResult;

/// Customers read and enrolled per transaction.
const BATCH: u64 = 1000;

/// The scheduler of one replica.
#[derive(Clone)]
pub struct Scheduler {
    db: DatabaseConnection,
    settings: Arc<DeliverySettings>,
}

impl Scheduler {
    pub fn new(db: DatabaseConnection, settings: DeliverySettings) -> Self {
        Self {
            db,
            settings: Arc::new(settings),
        }
    }

    /// Checks triggers every automation interval until `stop` turns true.
    pub fn spawn(self, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let every = Duration::from_millis(self.settings.automation_interval_ms.max(1));
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = stop.changed() => {}
                }
                if *stop.borrow() {
                    break;
                }
                if let Err(error) = self.run_due(Utc::now()).await {
                    tracing::warn!(%error, "running campaign triggers failed");
                }
            }
        })
    }

    /// Fires every due trigger of the running campaigns as of `now`.
    pub async fn run_due(&self, now: DateTime<Utc>) -> ServiceResult<Enrolled> {
        let campaigns = campaign::Entity::find()
            .filter(campaign::Column::Status.eq(CampaignStatus::Running))
            .filter(campaign::Column::Trigger.is_not_null())
            .all(&self.db)
            .await?;
        let mut total = Enrolled::default();
        for campaign in campaigns {
            if !super::within_dates(&campaign, now) {
                continue;
            }
            let enrolled = match &campaign.trigger {
                Some(Trigger::Birthday { hour }) => self.dated(&campaign, *hour, true, now).await?,
                Some(Trigger::Dates { dates, hour }) => {
                    let today = self.local(now).format("%m-%d").to_string();
                    if dates.contains(&today) {
                        self.dated(&campaign, *hour, false, now).await?
                    } else {
                        Enrolled::default()
                    }
                }
                Some(Trigger::SegmentEntered { slot, key }) => {
                    self.entered(&campaign, slot, key, now).await?
                }
                None => Enrolled::default(),
            };
            total.add(enrolled);
        }
        Ok(total)
    }

    fn local(&self, now: DateTime<Utc>) -> DateTime<FixedOffset> {
        let offset = FixedOffset::east_opt(self.settings.utc_offset_minutes * 60)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"));
        now.with_timezone(&offset)
    }

    /// Today's occasion of a dated trigger, once its hour has come: the
    /// target's customers with a birthday today (`birthdays`), or all of them.
    async fn dated(
        &self,
        campaign: &campaign::Model,
        hour: u8,
        birthdays: bool,
        now: DateTime<Utc>,
    ) -> ServiceResult<Enrolled> {
        let local = self.local(now);
        let today = local.date_naive();
        let day_number = day_number(today);
        if local.hour() < u32::from(hour)
            || campaign.trigger_cursor.is_some_and(|c| c >= day_number)
        {
            return Ok(Enrolled::default());
        }
        let mut condition = enrolment::audience(&campaign.target);
        if birthdays {
            condition = condition.add(birthday_today(&self.db, today));
        }
        let occasion = today.format("%Y-%m-%d").to_string();
        let enrolled = self.enrol_all(campaign, condition, &occasion, now).await?;
        self.advance(campaign, day_number).await?;
        Ok(enrolled)
    }

    /// One message per entry into the segment since the cursor.
    async fn entered(
        &self,
        campaign: &campaign::Model,
        slot: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<Enrolled> {
        let mut total = Enrolled::default();
        let mut cursor = campaign.trigger_cursor.unwrap_or(0);
        loop {
            let changes = segment_change::Entity::find()
                .filter(segment_change::Column::Slot.eq(slot))
                .filter(segment_change::Column::ToSegment.eq(key))
                .filter(segment_change::Column::Id.gt(cursor))
                .order_by_asc(segment_change::Column::Id)
                .limit(BATCH)
                .all(&self.db)
                .await?;
            let Some(last) = changes.last().map(|c| c.id) else {
                break;
            };
            let customers = customer::Entity::find()
                .filter(enrolment::audience(&campaign.target))
                .filter(customer::Column::Id.is_in(changes.iter().map(|c| c.customer_id)))
                .all(&self.db)
                .await?;
            let txn = self.db.begin().await?;
            for change in &changes {
                if let Some(customer) = customers.iter().find(|c| c.id == change.customer_id) {
                    let occasion = format!("change:{}", change.id);
                    total.add(
                        enrolment::enrol(
                            &txn,
                            campaign,
                            std::slice::from_ref(customer),
                            &occasion,
                            &self.settings,
                            now,
                        )
                        .await?,
                    );
                }
            }
            txn.commit().await?;
            self.advance(campaign, last).await?;
            cursor = last;
        }
        Ok(total)
    }

    /// Enrols every customer `condition` selects, a batch per transaction.
    async fn enrol_all(
        &self,
        campaign: &campaign::Model,
        condition: Condition,
        occasion: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<Enrolled> {
        let mut total = Enrolled::default();
        let mut after = 0;
        loop {
            let customers = customer::Entity::find()
                .filter(condition.clone())
                .filter(customer::Column::Id.gt(after))
                .order_by_asc(customer::Column::Id)
                .limit(BATCH)
                .all(&self.db)
                .await?;
            let Some(last) = customers.last().map(|c| c.id) else {
                break;
            };
            let txn = self.db.begin().await?;
            total.add(
                enrolment::enrol(&txn, campaign, &customers, occasion, &self.settings, now).await?,
            );
            txn.commit().await?;
            after = last;
        }
        Ok(total)
    }

    /// Moves the campaign's cursor forward (never back, whichever replica
    /// writes last).
    async fn advance(&self, campaign: &campaign::Model, to: i64) -> ServiceResult<()> {
        campaign::Entity::update_many()
            .col_expr(campaign::Column::TriggerCursor, Expr::value(to))
            .filter(campaign::Column::Id.eq(campaign.id))
            .filter(
                Condition::any()
                    .add(campaign::Column::TriggerCursor.is_null())
                    .add(campaign::Column::TriggerCursor.lt(to)),
            )
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

/// `20261201` for 1 December 2026: dated cursors compare as numbers.
fn day_number(day: NaiveDate) -> i64 {
    i64::from(day.year()) * 10_000 + i64::from(day.month()) * 100 + i64::from(day.day())
}

/// Customers whose birthday is `today`; on 28 February of a common year, also
/// those born on 29 February.
fn birthday_today(db: &DatabaseConnection, today: NaiveDate) -> Condition {
    let column = month_day_of(db.get_database_backend(), "birthday");
    let mut days = vec![today.format("%m-%d").to_string()];
    let leap = NaiveDate::from_ymd_opt(today.year(), 2, 29).is_some();
    if !leap && today.month() == 2 && today.day() == 28 {
        days.push("02-29".into());
    }
    Condition::all()
        .add(customer::Column::Birthday.is_not_null())
        .add(sea_orm::sea_query::ExprTrait::is_in(
            Expr::cust(column),
            days,
        ))
}

/// The cursor a triggered campaign starts from when it starts running: entries
/// into its segment from then on, not the history before.
pub async fn starting_cursor(
    db: &impl sea_orm::ConnectionTrait,
    trigger: &Trigger,
) -> ServiceResult<Option<i64>> {
    Ok(match trigger {
        Trigger::SegmentEntered { .. } => Some(
            segment_change::Entity::find()
                .select_only()
                .column_as(segment_change::Column::Id.max(), "max")
                .into_tuple::<Option<i64>>()
                .one(db)
                .await?
                .flatten()
                .unwrap_or(0),
        ),
        Trigger::Birthday { .. } | Trigger::Dates { .. } => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_order_like_days() {
        let day = |y, m, d| day_number(NaiveDate::from_ymd_opt(y, m, d).unwrap());
        assert_eq!(day(2026, 12, 1), 20261201);
        assert!(day(2026, 12, 31) < day(2027, 1, 1));
    }
}
