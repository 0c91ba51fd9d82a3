//! Typed filter inputs: per-scalar filters and the `and`/`or`/`not` combinators every
//! domain filter shares. Each becomes a SQL condition, so filtering happens in the
//! database.

use async_graphql::{ID, InputObject, InputType};
use chrono::{DateTime, NaiveDate, Utc};
use retain_schema::{
    CampaignKind, CampaignStatus, Channel, FeedbackCategory, FeedbackStatus, OrderStatus,
};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, Condition, Value};

use crate::error::ServiceResult;
use crate::graphql::ids::{self, NodeKind};

/// Text comparisons. `startsWith` ignores case (on SQLite, the case of ASCII letters
/// only).
#[derive(InputObject, Default, Debug)]
pub struct StringFilter {
    pub eq: Option<String>,
    pub ne: Option<String>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<String>>,
    pub starts_with: Option<String>,
}

impl StringFilter {
    pub fn condition(&self, column: impl ColumnTrait) -> Condition {
        let mut c = Condition::all();
        if let Some(v) = &self.eq {
            c = c.add(column.eq(v.as_str()));
        }
        if let Some(v) = &self.ne {
            c = c.add(column.ne(v.as_str()));
        }
        if let Some(v) = &self.in_ {
            c = c.add(column.is_in(v.iter().map(String::as_str)));
        }
        if let Some(prefix) = &self.starts_with {
            // Both sides go through the database's own `lower()`, so a prefix typed
            // exactly always matches, whatever the backend lowercases; comparing a
            // leading substring needs no LIKE escaping.
            let length = i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX);
            let leading = Func::cust("SUBSTR")
                .arg(Expr::col(column.as_column_ref()))
                .arg(1)
                .arg(length);
            c = c.add(Expr::expr(Func::lower(leading)).eq(Func::lower(Expr::val(prefix.as_str()))));
        }
        c
    }
}

/// `DateTime<Utc>` under a name the `concrete` attribute can parse.
pub type Timestamp = DateTime<Utc>;

/// Comparisons over an ordered scalar.
#[derive(InputObject, Default, Debug)]
#[graphql(concrete(name = "IntFilter", params(i64)))]
#[graphql(concrete(name = "DateTimeFilter", params(Timestamp)))]
#[graphql(concrete(name = "DateFilter", params(NaiveDate)))]
pub struct RangeFilter<T: InputType> {
    pub eq: Option<T>,
    pub ne: Option<T>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<T>>,
    pub gt: Option<T>,
    pub gte: Option<T>,
    pub lt: Option<T>,
    pub lte: Option<T>,
}

impl<T: InputType + Clone + Into<Value>> RangeFilter<T> {
    pub fn condition(&self, column: impl ColumnTrait) -> Condition {
        let mut c = Condition::all();
        let one = |v: &Option<T>| v.clone();
        if let Some(v) = one(&self.eq) {
            c = c.add(column.eq(v));
        }
        if let Some(v) = one(&self.ne) {
            c = c.add(column.ne(v));
        }
        if let Some(v) = &self.in_ {
            c = c.add(column.is_in(v.iter().cloned()));
        }
        if let Some(v) = one(&self.gt) {
            c = c.add(column.gt(v));
        }
        if let Some(v) = one(&self.gte) {
            c = c.add(column.gte(v));
        }
        if let Some(v) = one(&self.lt) {
            c = c.add(column.lt(v));
        }
        if let Some(v) = one(&self.lte) {
            c = c.add(column.lte(v));
        }
        c
    }
}

/// Membership in a set of enum values.
#[derive(InputObject, Default, Debug)]
#[graphql(concrete(name = "OrderStatusFilter", params(OrderStatus)))]
#[graphql(concrete(name = "ChannelFilter", params(Channel)))]
#[graphql(concrete(name = "CampaignKindFilter", params(CampaignKind)))]
#[graphql(concrete(name = "CampaignStatusFilter", params(CampaignStatus)))]
#[graphql(concrete(name = "FeedbackCategoryFilter", params(FeedbackCategory)))]
#[graphql(concrete(name = "FeedbackStatusFilter", params(FeedbackStatus)))]
pub struct EnumFilter<T: InputType> {
    pub eq: Option<T>,
    pub ne: Option<T>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<T>>,
}

impl<T: InputType + Copy + Into<Value>> EnumFilter<T> {
    pub fn condition(&self, column: impl ColumnTrait) -> Condition {
        let mut c = Condition::all();
        if let Some(v) = self.eq {
            c = c.add(column.eq(v));
        }
        if let Some(v) = self.ne {
            c = c.add(column.ne(v));
        }
        if let Some(v) = &self.in_ {
            c = c.add(column.is_in(v.iter().copied()));
        }
        c
    }
}

/// Global-id equality and membership.
#[derive(InputObject, Default, Debug)]
pub struct IdFilter {
    pub eq: Option<ID>,
    #[graphql(name = "in")]
    pub in_: Option<Vec<ID>>,
}

impl IdFilter {
    pub fn condition(
        &self,
        field: &str,
        column: impl ColumnTrait,
        kind: NodeKind,
    ) -> ServiceResult<Condition> {
        let mut c = Condition::all();
        if let Some(id) = &self.eq {
            c = c.add(column.eq(ids::decode(&format!("{field}.eq"), id, kind)?));
        }
        if let Some(list) = &self.in_ {
            let rows = list
                .iter()
                .enumerate()
                .map(|(i, id)| ids::decode(&format!("{field}.in[{i}]"), id, kind))
                .collect::<ServiceResult<Vec<i64>>>()?;
            c = c.add(column.is_in(rows));
        }
        Ok(c)
    }
}

/// A domain filter with its own criteria plus `and`, `or` and `not`.
pub trait BooleanFilter: Sized {
    /// The filter's own criteria, all of which must hold.
    fn criteria(&self) -> ServiceResult<Condition>;
    fn and(&self) -> Option<&[Self]>;
    fn or(&self) -> Option<&[Self]>;
    fn not(&self) -> Option<&Self>;

    fn condition(&self) -> ServiceResult<Condition> {
        let mut all = self.criteria()?;
        for filter in self.and().unwrap_or_default() {
            all = all.add(filter.condition()?);
        }
        if let Some(alternatives) = self.or() {
            let mut any = Condition::any();
            for filter in alternatives {
                any = any.add(filter.condition()?);
            }
            all = all.add(any);
        }
        if let Some(negated) = self.not() {
            // `NOT COALESCE(c, FALSE)`, not `NOT c`: a comparison with a missing
            // value is unknown, and the complement must still include those rows.
            let matched = Func::coalesce([Expr::from(negated.condition()?), Expr::val(false)]);
            all = all.add(Expr::from(matched).not());
        }
        Ok(all)
    }
}

/// Implements [`BooleanFilter`]'s combinators for a filter with `and`, `or` and
/// `not` fields, given its criteria function.
macro_rules! boolean_filter {
    ($filter:ty, $criteria:expr) => {
        impl $crate::graphql::filters::BooleanFilter for $filter {
            fn criteria(&self) -> $crate::error::ServiceResult<sea_orm::Condition> {
                $criteria(self)
            }
            fn and(&self) -> Option<&[Self]> {
                self.and.as_deref()
            }
            fn or(&self) -> Option<&[Self]> {
                self.or.as_deref()
            }
            fn not(&self) -> Option<&Self> {
                self.not.as_deref()
            }
        }
    };
}
pub(crate) use boolean_filter;

/// Sort direction.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Direction {
    #[default]
    Asc,
    Desc,
}
