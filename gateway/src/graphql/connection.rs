//! Relay connections from service pages, and the shared `Money` type.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, SimpleObject};

use crate::paging::{Cursor, Page};

/// Fields every connection carries besides `edges` and `pageInfo`.
#[derive(SimpleObject)]
pub struct Totals {
    /// How many items match, ignoring paging. Only computed when asked for.
    pub total_count: u64,
}

pub type Conn<N> = Connection<String, N, Totals>;

/// Whether the client selected `totalCount` on the connection being resolved, so the
/// count statement runs only when needed.
pub fn wants_total(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

/// A connection from a page of rows; `total` is 0 when not asked for.
pub fn connection<M, N>(
    page: Page<M>,
    total: Option<u64>,
    cursor: impl Fn(&M) -> Cursor,
    node: impl Fn(M) -> N,
) -> Conn<N>
where
    N: async_graphql::OutputType,
{
    let mut conn = Connection::with_additional_fields(
        page.has_previous,
        page.has_next,
        Totals {
            total_count: total.unwrap_or(0),
        },
    );
    conn.edges.extend(
        page.rows
            .into_iter()
            .map(|row| Edge::new(cursor(&row).encode(), node(row))),
    );
    conn
}

/// An amount of money: integer minor units and an ISO 4217 currency.
#[derive(SimpleObject, Clone, Debug)]
pub struct Money {
    /// Minor units (cents, fen): 12345 is 123.45.
    pub minor: i64,
    pub currency: String,
    /// The amount in major units as a decimal string, e.g. "123.45".
    pub amount: String,
}

impl Money {
    pub fn new(minor: i64, currency: &str) -> Self {
        let sign = if minor < 0 { "-" } else { "" };
        let abs = minor.unsigned_abs();
        Self {
            minor,
            currency: currency.to_string(),
            amount: format!("{sign}{}.{:02}", abs / 100, abs % 100),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Money;

    #[test]
    fn money_formats_minor_units() {
        assert_eq!(Money::new(12345, "CNY").amount, "123.45");
        assert_eq!(Money::new(-5, "CNY").amount, "-0.05");
        assert_eq!(Money::new(0, "CNY").amount, "0.00");
    }
}
