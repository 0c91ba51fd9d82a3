//! Keyset pagination in both directions, for top-level lists and for the children
//! of many parents at once (one statement for a whole page of parents).
//!
//! A cursor is the sort value and id of a row, so pages stay stable while rows are
//! inserted, and every page is an index range scan rather than an OFFSET.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query, WindowStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Value,
};
use serde::{Deserialize, Serialize};

use crate::config::Limits;
use crate::error::{ServiceError, ServiceResult};

/// A sort column's value in a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SortValue {
    Int(i64),
    Text(String),
    Time(DateTime<Utc>),
}

impl From<SortValue> for Value {
    fn from(value: SortValue) -> Self {
        match value {
            SortValue::Int(v) => v.into(),
            SortValue::Text(v) => v.into(),
            SortValue::Time(v) => v.into(),
        }
    }
}

/// Where a page starts or ends: the sort value and id of a row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cursor {
    pub value: SortValue,
    pub id: i64,
}

impl Cursor {
    /// An opaque string for clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("cursor serialises"))
    }

    /// Parses a cursor a client sent back in argument `field`.
    pub fn decode(field: &str, text: &str) -> ServiceResult<Self> {
        URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| ServiceError::invalid(field, "is not a cursor returned by this API"))
    }
}

/// A validated request for one page: `first`/`after` forwards or `last`/`before`
/// backwards (both cursors may bound the range).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub size: u64,
    pub backward: bool,
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
}

impl PageRequest {
    pub fn new(
        first: Option<i32>,
        after: Option<&str>,
        last: Option<i32>,
        before: Option<&str>,
        limits: &Limits,
    ) -> ServiceResult<Self> {
        let check = |name: &str, n: i32| -> ServiceResult<u64> {
            if n < 0 {
                return Err(ServiceError::invalid(name, "must not be negative"));
            }
            if n as u32 > limits.max_page_size {
                return Err(ServiceError::invalid(
                    name,
                    format!(
                        "must be at most {} (the page size limit)",
                        limits.max_page_size
                    ),
                ));
            }
            Ok(n as u64)
        };
        let (size, backward) = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(ServiceError::invalid(
                    "last",
                    "cannot be combined with first",
                ));
            }
            (Some(n), None) => (check("first", n)?, false),
            (None, Some(n)) => (check("last", n)?, true),
            (None, None) => (u64::from(limits.default_page_size), before.is_some()),
        };
        Ok(Self {
            size,
            backward,
            after: after.map(|c| Cursor::decode("after", c)).transpose()?,
            before: before.map(|c| Cursor::decode("before", c)).transpose()?,
        })
    }
}

/// One page of rows in display order.
#[derive(Debug, Clone)]
pub struct Page<M> {
    pub rows: Vec<M>,
    pub has_previous: bool,
    pub has_next: bool,
}

/// How a list is ordered: a column, ties broken by id, and how to read both from a row.
pub struct SortKey<E: EntityTrait> {
    pub column: E::Column,
    pub id_column: E::Column,
    pub descending: bool,
    pub value: fn(&E::Model) -> SortValue,
    pub id: fn(&E::Model) -> i64,
}

impl<E: EntityTrait> SortKey<E> {
    pub fn cursor(&self, model: &E::Model) -> Cursor {
        Cursor {
            value: (self.value)(model),
            id: (self.id)(model),
        }
    }

    /// Rows strictly after (or before) `cursor` in display order.
    fn beyond(&self, cursor: &Cursor, after: bool) -> Condition {
        let value: Value = cursor.value.clone().into();
        let (column_past, id_past) = if after != self.descending {
            (self.column.gt(value.clone()), self.id_column.gt(cursor.id))
        } else {
            (self.column.lt(value.clone()), self.id_column.lt(cursor.id))
        };
        Condition::any()
            .add(column_past)
            .add(Condition::all().add(self.column.eq(value)).add(id_past))
    }

    fn bounds(&self, request: &PageRequest) -> Condition {
        let mut condition = Condition::all();
        if let Some(after) = &request.after {
            condition = condition.add(self.beyond(after, true));
        }
        if let Some(before) = &request.before {
            condition = condition.add(self.beyond(before, false));
        }
        condition
    }

    /// The order rows are fetched in: display order, reversed when paging backwards.
    fn fetch_order(&self, request: &PageRequest) -> Order {
        if self.descending != request.backward {
            Order::Desc
        } else {
            Order::Asc
        }
    }
}

/// Turns `size + 1` fetched rows into a page, so `hasNext`/`hasPrevious` need no
/// extra statement.
fn into_page<M>(mut rows: Vec<M>, request: &PageRequest) -> Page<M> {
    let more = rows.len() as u64 > request.size;
    rows.truncate(request.size as usize);
    if request.backward {
        rows.reverse();
        Page {
            rows,
            has_previous: more,
            has_next: request.before.is_some(),
        }
    } else {
        Page {
            rows,
            has_previous: request.after.is_some(),
            has_next: more,
        }
    }
}

/// One page of `select`.
pub async fn fetch_page<E, C>(
    db: &C,
    select: Select<E>,
    sort: &SortKey<E>,
    request: &PageRequest,
) -> ServiceResult<Page<E::Model>>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let order = sort.fetch_order(request);
    let rows = select
        .filter(sort.bounds(request))
        .order_by(sort.column, order.clone())
        .order_by(sort.id_column, order)
        .limit(request.size + 1)
        .all(db)
        .await?;
    Ok(into_page(rows, request))
}

/// How many rows `select` matches, ignoring paging.
pub async fn count<E, C>(db: &C, select: Select<E>) -> ServiceResult<u64>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    Ok(select.count(db).await?)
}

/// The same page of children for each parent, in one statement: rows are numbered
/// per parent with `ROW_NUMBER()` and cut at the page size.
pub async fn fetch_child_pages<E, C>(
    db: &C,
    select: Select<E>,
    parent_column: E::Column,
    parent_of: fn(&E::Model) -> i64,
    parent_ids: &[i64],
    sort: &SortKey<E>,
    request: &PageRequest,
) -> ServiceResult<HashMap<i64, Page<E::Model>>>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let order = sort.fetch_order(request);
    let mut inner = select
        .filter(parent_column.is_in(parent_ids.iter().copied()))
        .filter(sort.bounds(request))
        .into_query();
    inner.expr_window_as(
        Expr::cust("ROW_NUMBER()"),
        WindowStatement::partition_by(parent_column)
            .order_by(sort.column, order.clone())
            .order_by(sort.id_column, order.clone())
            .to_owned(),
        Alias::new("page_row"),
    );
    let outer = Query::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("ranked"))
        .and_where(Expr::col(Alias::new("page_row")).lte(request.size as i64 + 1))
        .order_by(Alias::new("page_row"), Order::Asc)
        .to_owned();
    let statement = db.get_database_backend().build(&outer);
    let rows = E::Model::find_by_statement(statement).all(db).await?;
    let mut grouped: HashMap<i64, Vec<E::Model>> = HashMap::new();
    for row in rows {
        grouped.entry(parent_of(&row)).or_default().push(row);
    }
    Ok(parent_ids
        .iter()
        .map(|id| {
            let rows = grouped.remove(id).unwrap_or_default();
            (*id, into_page(rows, request))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            value: SortValue::Text("Ada".into()),
            id: 42,
        };
        assert_eq!(Cursor::decode("after", &cursor.encode()).unwrap(), cursor);
        let err = Cursor::decode("after", "not-a-cursor").unwrap_err();
        assert_eq!(
            err.to_string(),
            "after: is not a cursor returned by this API"
        );
    }

    #[test]
    fn page_requests_are_validated() {
        let too_big = PageRequest::new(Some(101), None, None, None, &limits()).unwrap_err();
        assert_eq!(
            too_big.to_string(),
            "first: must be at most 100 (the page size limit)"
        );
        let negative = PageRequest::new(None, None, Some(-1), None, &limits()).unwrap_err();
        assert_eq!(negative.to_string(), "last: must not be negative");
        let both = PageRequest::new(Some(1), None, Some(1), None, &limits()).unwrap_err();
        assert_eq!(both.to_string(), "last: cannot be combined with first");
        let default = PageRequest::new(None, None, None, None, &limits()).unwrap();
        assert_eq!((default.size, default.backward), (20, false));
    }

    #[test]
    fn pages_know_their_neighbours() {
        let forward = PageRequest::new(Some(2), None, None, None, &limits()).unwrap();
        let page = into_page(vec![1, 2, 3], &forward);
        assert_eq!(page.rows, vec![1, 2]);
        assert!(page.has_next && !page.has_previous);

        let backward = PageRequest::new(None, None, Some(2), None, &limits()).unwrap();
        let page = into_page(vec![9, 8, 7], &backward);
        assert_eq!(page.rows, vec![8, 9]);
        assert!(page.has_previous && !page.has_next);
    }
}
