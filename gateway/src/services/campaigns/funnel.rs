//! A campaign's funnel per channel: enrolled → touched (sent) → delivered →
//! opened → clicked → added to cart → paid → repurchased. After a click, the
//! customer's add-to-cart interactions and paid orders within the campaign's
//! attribution window count for the message: one paid order converts it, a
//! second within the window is a repurchase.

use retain_schema::MessageChannel;
use sea_orm::{ConnectionTrait, FromQueryResult};

use crate::database::statement;
use crate::error::ServiceResult;
use crate::services::profile::purchased_sql_list;

/// One channel's funnel.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct ChannelFunnel {
    pub channel: MessageChannel,
    pub enrolled: i64,
    pub suppressed: i64,
    pub touched: i64,
    pub delivered: i64,
    pub opened: i64,
    pub clicked: i64,
    pub added_to_cart: i64,
    pub paid: i64,
    pub repurchased: i64,
    /// Paid revenue attributed to clicks, in minor units.
    pub revenue: i64,
    pub dead: i64,
}

/// The funnel of `campaign_id`, one row per channel it used.
pub async fn funnel(
    db: &impl ConnectionTrait,
    campaign_id: i64,
) -> ServiceResult<Vec<ChannelFunnel>> {
    let purchased = purchased_sql_list();
    let window = "o.customer_id = m.customer_id AND o.placed_at >= m.clicked_at \
                  AND o.placed_at <= m.attributed_until";
    let mut rows = ChannelFunnel::find_by_statement(statement(
        db.get_database_backend(),
        &format!(
            "SELECT channel, \
                    CAST(COUNT(*) AS BIGINT) AS enrolled, \
                    CAST(SUM(CASE WHEN status = 'suppressed' THEN 1 ELSE 0 END) AS BIGINT) AS suppressed, \
                    CAST(SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) AS BIGINT) AS touched, \
                    CAST(SUM(CASE WHEN delivered_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS delivered, \
                    CAST(SUM(CASE WHEN opened_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS opened, \
                    CAST(SUM(CASE WHEN clicked_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS clicked, \
                    CAST(SUM(carted) AS BIGINT) AS added_to_cart, \
                    CAST(SUM(CASE WHEN orders >= 1 THEN 1 ELSE 0 END) AS BIGINT) AS paid, \
                    CAST(SUM(CASE WHEN orders >= 2 THEN 1 ELSE 0 END) AS BIGINT) AS repurchased, \
                    CAST(COALESCE(SUM(revenue), 0) AS BIGINT) AS revenue, \
                    CAST(SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END) AS BIGINT) AS dead \
             FROM (SELECT m.channel, m.status, m.delivered_at, m.opened_at, m.clicked_at, \
                          CASE WHEN m.clicked_at IS NOT NULL AND EXISTS \
                               (SELECT 1 FROM interactions i WHERE i.customer_id = m.customer_id \
                                AND i.kind = 'add_to_cart' AND i.occurred_at >= m.clicked_at \
                                AND i.occurred_at <= m.attributed_until) THEN 1 ELSE 0 END AS carted, \
                          (SELECT COUNT(*) FROM orders o WHERE {window} AND o.status IN ({purchased})) AS orders, \
                          (SELECT SUM(o.total_minor) FROM orders o WHERE {window} AND o.status IN ({purchased})) AS revenue \
                   FROM campaign_messages m WHERE m.campaign_id = ?) per_message \
             GROUP BY channel"
        ),
        vec![campaign_id.into()],
    ))
    .all(db)
    .await?;
    rows.sort_by_key(|r| format!("{:?}", r.channel));
    Ok(rows)
}
