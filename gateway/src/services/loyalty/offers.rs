//! Points-multiplier offers of campaigns: a customer who was sent a running
//! campaign's multiplier offer earns that much more on orders paid while it
//! runs.

use chrono::{DateTime, Utc};
use retain_schema::campaign::Offer;
use retain_schema::{CampaignStatus, MessageStatus, campaign, campaign_message};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::error::ServiceResult;
use crate::services::campaigns;

/// The best points multiplier on offer to a customer: the factor and the
/// campaign offering it.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferedMultiplier {
    pub factor: f64,
    pub campaign: String,
}

/// The highest multiplier among running campaigns (status and dates at `at`)
/// that sent `customer_id` a message with a points-multiplier offer. Offers do
/// not stack with each other; the level multiplier applies on top.
pub async fn best_multiplier<C: ConnectionTrait>(
    db: &C,
    customer_id: i64,
    at: DateTime<Utc>,
) -> ServiceResult<Option<OfferedMultiplier>> {
    let sent_by: Vec<i64> = campaign_message::Entity::find()
        .select_only()
        .column(campaign_message::Column::CampaignId)
        .distinct()
        .filter(campaign_message::Column::CustomerId.eq(customer_id))
        .filter(campaign_message::Column::Status.eq(MessageStatus::Sent))
        .into_tuple()
        .all(db)
        .await?;
    if sent_by.is_empty() {
        return Ok(None);
    }
    let campaigns = campaign::Entity::find()
        .filter(campaign::Column::Id.is_in(sent_by))
        .filter(campaign::Column::Status.eq(CampaignStatus::Running))
        .all(db)
        .await?;
    Ok(campaigns
        .into_iter()
        .filter(|c| campaigns::within_dates(c, at))
        .filter_map(|c| match c.offer {
            Offer::PointsMultiplier { tenths } => Some((tenths, c.name)),
            _ => None,
        })
        .max_by_key(|(tenths, _)| *tenths)
        .map(|(tenths, campaign)| OfferedMultiplier {
            factor: f64::from(tenths) / 10.0,
            campaign,
        }))
}
