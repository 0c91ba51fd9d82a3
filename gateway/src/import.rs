//! Importing another system's CSV exports: customers, products, and orders as one
//! row per order line. Every row goes through the same services (and checks) as the
//! API, inside one transaction: by default a single invalid row imports nothing.

use std::collections::HashMap;
use std::io::Read;

use chrono::{DateTime, NaiveDate, Utc};
use clap::ValueEnum;
use retain_schema::{Channel, OrderStatus};
use sea_orm::{DatabaseConnection, DatabaseTransaction, TransactionTrait};

use crate::config::Settings;
use crate::error::{ServiceError, ServiceResult};
use crate::services::catalog::{self, ProductInput};
use crate::services::customers::{self, ConsentInput, CustomerInput};
use crate::services::orders::{self, NewOrder, NewOrderItem};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportKind {
    /// external_id,name,email,phone,birthday,signup_at,tags,consent_email,consent_sms,consent_app_push,consent_social
    Customers,
    /// sku,name,category,price,currency,active
    Products,
    /// order_number,customer_external_id,placed_at,status,channel,currency,discount,sku,quantity,unit_price
    Orders,
}

impl ImportKind {
    /// The tables an import of this kind writes.
    fn tables(self) -> &'static [&'static str] {
        match self {
            Self::Customers => &["customers", "customer_tags"],
            Self::Products => &["products"],
            Self::Orders => &["orders", "order_items"],
        }
    }
}

/// Why one row was refused. `row` counts lines as a spreadsheet does (header = 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: u64,
    pub column: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct ImportReport {
    /// Records written (customers, products or orders).
    pub imported: usize,
    pub rejected: Vec<RowError>,
    /// Whether anything was written.
    pub committed: bool,
}

impl ImportReport {
    pub fn summary(&self) -> String {
        if self.committed {
            format!(
                "imported {} records, rejected {} rows",
                self.imported,
                self.rejected.len()
            )
        } else {
            format!("imported nothing: {} invalid rows", self.rejected.len())
        }
    }
}

/// One CSV row: its line number and its cells by header name.
struct Row {
    line: u64,
    cells: HashMap<String, String>,
}

impl Row {
    fn error(&self, column: &str, reason: impl Into<String>) -> RowError {
        RowError {
            row: self.line,
            column: column.to_string(),
            reason: reason.into(),
        }
    }

    /// A cell, or `None` when absent or blank.
    fn optional(&self, column: &str) -> Option<&str> {
        self.cells
            .get(column)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, column: &str) -> Result<&str, RowError> {
        self.optional(column)
            .ok_or_else(|| self.error(column, "is required"))
    }

    fn parse<T>(
        &self,
        column: &str,
        parse: impl Fn(&str) -> Option<T>,
        expected: &str,
    ) -> Result<Option<T>, RowError> {
        self.optional(column)
            .map(|v| {
                parse(v)
                    .ok_or_else(|| self.error(column, format!("expected {expected}, got {v:?}")))
            })
            .transpose()
    }
}

fn read_rows(reader: impl Read) -> anyhow::Result<Vec<Row>> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers: Vec<String> = csv
        .headers()?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let mut rows = Vec::new();
    for record in csv.records() {
        let record = record?;
        let line = record.position().map_or(0, |p| p.line());
        let cells = headers
            .iter()
            .cloned()
            .zip(record.iter().map(str::to_string))
            .collect();
        rows.push(Row { line, cells });
    }
    Ok(rows)
}

fn boolean(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" => Some(true),
        "false" | "0" | "no" | "n" => Some(false),
        _ => None,
    }
}

fn date(v: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()
}

/// RFC 3339, or a bare date meaning midnight UTC.
fn timestamp(v: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| date(v).map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()))
}

/// A decimal amount in major units ("19.90") as minor units (1990).
fn money(v: &str) -> Option<i64> {
    let (whole, fraction) = v.split_once('.').unwrap_or((v, ""));
    if fraction.len() > 2 || whole.is_empty() || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let cents: i64 = format!("{fraction:0<2}").parse().ok()?;
    if whole < 0 {
        return None;
    }
    whole.checked_mul(100)?.checked_add(cents)
}

fn enum_value<T: async_graphql::InputType>(v: &str) -> Option<T> {
    T::parse(Some(async_graphql::Value::Enum(async_graphql::Name::new(
        v.to_ascii_uppercase(),
    ))))
    .ok()
}

/// The CSV column a service field name refers to (`externalId` → `external_id`).
fn column_of(field: &str, renames: &[(&str, &str)]) -> String {
    let base = field.rsplit('.').next().unwrap_or(field);
    if let Some((_, column)) = renames.iter().find(|(f, _)| *f == base) {
        return column.to_string();
    }
    let mut column = String::new();
    for c in base.chars() {
        if c.is_ascii_uppercase() {
            column.push('_');
            column.push(c.to_ascii_lowercase());
        } else {
            column.push(c);
        }
    }
    column
}

/// Runs one record's write in a savepoint, so a refused record leaves no trace.
/// Service refusals become row errors (`row_of` finds the row a field came from);
/// database failures abort the import.
async fn write_record<'r, T>(
    txn: &DatabaseTransaction,
    row_of: impl Fn(&str) -> &'r Row,
    renames: &[(&str, &str)],
    write: impl AsyncFnOnce(&DatabaseTransaction) -> ServiceResult<T>,
) -> anyhow::Result<Result<T, RowError>> {
    let savepoint = txn.begin().await?;
    match write(&savepoint).await {
        Ok(value) => {
            savepoint.commit().await?;
            Ok(Ok(value))
        }
        Err(ServiceError::Invalid { field, reason } | ServiceError::Conflict { field, reason }) => {
            savepoint.rollback().await?;
            Ok(Err(
                row_of(&field).error(&column_of(&field, renames), reason)
            ))
        }
        Err(other) => Err(anyhow::Error::new(other).context("importing")),
    }
}

fn tally<T>(report: &mut ImportReport, outcome: Result<T, RowError>) {
    match outcome {
        Ok(_) => report.imported += 1,
        Err(error) => report.rejected.push(error),
    }
}

fn customer_input(row: &Row) -> Result<CustomerInput, RowError> {
    let tags = row
        .optional("tags")
        .map(|t| {
            t.split([';', '|'])
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Ok(CustomerInput {
        external_id: row.required("external_id")?.to_string(),
        name: row.required("name")?.to_string(),
        email: row.optional("email").map(str::to_string),
        phone: row.optional("phone").map(str::to_string),
        birthday: row.parse("birthday", date, "a date like 1990-04-30")?,
        signup_at: row.parse("signup_at", timestamp, "an RFC 3339 time or a date")?,
        tags,
        consent: ConsentInput {
            email: row.parse("consent_email", boolean, "true or false")?,
            sms: row.parse("consent_sms", boolean, "true or false")?,
            app_push: row.parse("consent_app_push", boolean, "true or false")?,
            social: row.parse("consent_social", boolean, "true or false")?,
        },
    })
}

fn product_input(row: &Row) -> Result<ProductInput, RowError> {
    Ok(ProductInput {
        sku: row.required("sku")?.to_string(),
        name: row.required("name")?.to_string(),
        category: row.required("category")?.to_string(),
        price_minor: row
            .parse("price", money, "a non-negative amount like 19.90")?
            .ok_or_else(|| row.error("price", "is required"))?,
        currency: row.optional("currency").map(str::to_string),
        active: row
            .parse("active", boolean, "true or false")?
            .unwrap_or(true),
    })
}

/// Imports `reader` as `kind`. Validation and writes share one transaction; it
/// commits only when every row is valid, or with `skip_invalid`.
pub async fn import(
    db: &DatabaseConnection,
    settings: &Settings,
    kind: ImportKind,
    reader: impl Read,
    skip_invalid: bool,
) -> anyhow::Result<ImportReport> {
    let rows = read_rows(reader)?;
    let now = Utc::now();
    let txn = db.begin().await?;
    let mut report = ImportReport::default();
    match kind {
        ImportKind::Customers => {
            for row in &rows {
                let outcome = match customer_input(row) {
                    Err(e) => Err(e),
                    Ok(input) => {
                        write_record(
                            &txn,
                            |_| row,
                            &[],
                            async |t| customers::upsert(t, &input, now).await,
                        )
                        .await?
                    }
                };
                tally(&mut report, outcome);
            }
        }
        ImportKind::Products => {
            for row in &rows {
                let outcome = match product_input(row) {
                    Err(e) => Err(e),
                    Ok(input) => {
                        write_record(
                            &txn,
                            |_| row,
                            &[("priceMinor", "price")],
                            async |t| catalog::upsert(t, &input, &settings.currency, now).await,
                        )
                        .await?
                    }
                };
                tally(&mut report, outcome);
            }
        }
        ImportKind::Orders => {
            for lines in group_by_order(&rows) {
                let outcome = match new_order(&txn, &lines).await? {
                    Err(e) => Err(e),
                    Ok(new) => {
                        let row_of = |field: &str| item_row(&lines, field);
                        write_record(&txn, row_of, ORDER_RENAMES, async |t| {
                            orders::place(t, &new, &settings.currency, now)
                                .await
                                .map(|placed| placed.order)
                        })
                        .await?
                    }
                };
                tally(&mut report, outcome);
            }
        }
    }
    report.committed = report.rejected.is_empty() || skip_invalid;
    if report.committed {
        txn.commit().await?;
        crate::database::analyze(db, kind.tables()).await?;
    } else {
        report.imported = 0;
        txn.rollback().await?;
    }
    Ok(report)
}

/// Service field names that differ from the order CSV's columns.
const ORDER_RENAMES: &[(&str, &str)] = &[
    ("customerId", "customer_external_id"),
    ("productId", "sku"),
    ("unitPriceMinor", "unit_price"),
    ("discountMinor", "discount"),
];

/// Order lines grouped by order number, in the order numbers first appear.
fn group_by_order(rows: &[Row]) -> Vec<Vec<&Row>> {
    let mut groups: Vec<Vec<&Row>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for row in rows {
        let number = row.optional("order_number").unwrap_or_default();
        match index.get(number) {
            Some(&i) if !number.is_empty() => groups[i].push(row),
            _ => {
                index.insert(number, groups.len());
                groups.push(vec![row]);
            }
        }
    }
    groups
}

/// The row an order-level or `items[i].…` field came from.
fn item_row<'r>(lines: &[&'r Row], field: &str) -> &'r Row {
    field
        .strip_prefix("items[")
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(i, _)| i.parse::<usize>().ok())
        .and_then(|i| lines.get(i).copied())
        .unwrap_or(lines[0])
}

/// An order-level cell: given on the first line, and equal on any other line that
/// repeats it.
fn order_cell<'r>(lines: &[&'r Row], column: &str) -> Result<Option<&'r str>, RowError> {
    let first = lines[0].optional(column);
    for line in &lines[1..] {
        if let Some(value) = line.optional(column)
            && Some(value) != first
        {
            let expected = first.map_or("blank".to_string(), |v| format!("{v:?}"));
            return Err(line.error(
                column,
                format!("differs from the order's first line ({expected})"),
            ));
        }
    }
    Ok(first)
}

/// Builds the order of a group of lines, resolving the customer and SKUs.
async fn new_order(
    txn: &DatabaseTransaction,
    lines: &[&Row],
) -> anyhow::Result<Result<NewOrder, RowError>> {
    let first = lines[0];
    let parsed = (|| -> Result<_, RowError> {
        let order_number = first.required("order_number")?.to_string();
        let customer = order_cell(lines, "customer_external_id")?
            .ok_or_else(|| first.error("customer_external_id", "is required"))?;
        let placed_at = match order_cell(lines, "placed_at")? {
            Some(v) => timestamp(v)
                .ok_or_else(|| first.error("placed_at", "expected an RFC 3339 time or a date"))?,
            None => return Err(first.error("placed_at", "is required")),
        };
        let status = match order_cell(lines, "status")? {
            Some(v) => enum_value(v)
                .ok_or_else(|| first.error("status", format!("unknown status {v:?}")))?,
            None => OrderStatus::Delivered,
        };
        let channel = match order_cell(lines, "channel")? {
            Some(v) => enum_value(v)
                .ok_or_else(|| first.error("channel", format!("unknown channel {v:?}")))?,
            None => Channel::Web,
        };
        let currency = order_cell(lines, "currency")?.map(str::to_string);
        let discount = match order_cell(lines, "discount")? {
            Some(v) => money(v).ok_or_else(|| {
                first.error("discount", "expected a non-negative amount like 5.00")
            })?,
            None => 0,
        };
        let mut items = Vec::with_capacity(lines.len());
        for line in lines {
            let sku = line.required("sku")?.to_string();
            let quantity = line
                .parse("quantity", |v| v.parse::<i32>().ok(), "a whole number")?
                .ok_or_else(|| line.error("quantity", "is required"))?;
            let unit_price = line.parse("unit_price", money, "a non-negative amount like 19.90")?;
            items.push((sku, quantity, unit_price));
        }
        Ok((
            order_number,
            customer.to_string(),
            placed_at,
            status,
            channel,
            currency,
            discount,
            items,
        ))
    })();
    let (order_number, customer, placed_at, status, channel, currency, discount, items) =
        match parsed {
            Ok(parsed) => parsed,
            Err(e) => return Ok(Err(e)),
        };
    let Some(customer) = customers::find_by_external_id(txn, &customer).await? else {
        return Ok(Err(first.error(
            "customer_external_id",
            "no customer has this external id",
        )));
    };
    let products = catalog::find_by_skus(txn, items.iter().map(|(sku, _, _)| sku.clone())).await?;
    let mut resolved = Vec::with_capacity(items.len());
    for (line, (sku, quantity, unit_price)) in lines.iter().zip(items) {
        let Some(product) = products.get(&sku) else {
            return Ok(Err(line.error("sku", "no product has this SKU")));
        };
        resolved.push(NewOrderItem {
            product_id: product.id,
            quantity,
            unit_price_minor: unit_price,
        });
    }
    Ok(Ok(NewOrder {
        customer_id: customer.id,
        channel,
        items: resolved,
        discount_minor: discount,
        currency,
        order_number: Some(order_number),
        placed_at: Some(placed_at),
        status,
        cap_at_list_price: false,
        idempotency_key: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_parses_major_units_exactly() {
        assert_eq!(money("19.90"), Some(1990));
        assert_eq!(money("19.9"), Some(1990));
        assert_eq!(money("7"), Some(700));
        assert_eq!(money("0.05"), Some(5));
        assert_eq!(money("1.999"), None);
        assert_eq!(money("-1"), None);
        assert_eq!(money("abc"), None);
    }

    #[test]
    fn service_fields_map_to_csv_columns() {
        assert_eq!(column_of("externalId", &[]), "external_id");
        assert_eq!(column_of("tags[2]", &[]), "tags[2]");
        assert_eq!(column_of("items[1].productId", ORDER_RENAMES), "sku");
        assert_eq!(column_of("items[0].quantity", ORDER_RENAMES), "quantity");
    }
}
