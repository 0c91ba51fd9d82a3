//! Property tests: generated inputs against the real gateway, bounded so they run in
//! every CI build. `PROPTEST_CASES=N` runs N cases of each for a longer hunt.
//!
//! - Customer filters: random filter trees must select exactly the customers a
//!   model of the same semantics selects, on both backends.
//! - The CSV importer: random files must either import whole or report every bad
//!   row by line and column and write nothing.
//! - Plugin publishing: random damage to a valid component must be refused with an
//!   error naming the `component` field, never a crash or another kind of error.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use retain_gateway::config::Settings;
use retain_gateway::error::ServiceError;
use retain_gateway::import::{self, ImportKind};
use retain_tests::{Backend, TestGateway, guests};
use serde_json::{Value, json};

/// Cases per property in CI unless `PROPTEST_CASES` says otherwise.
fn runner(default_cases: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(default_cases);
    TestRunner::new(Config {
        cases,
        // Shrinking replays cases against the live gateway; a few hundred steps
        // find a small counterexample without making a failure take minutes.
        max_shrink_iters: 500,
        ..Config::default()
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

// ---------------------------------------------------------------------------
// Customer filters
// ---------------------------------------------------------------------------

const NAMES: [&str; 6] = [
    "Ann Lee",
    "anna Park",
    "Bob Stone",
    "Carla Diaz",
    "carl Ito",
    "Dan",
];
const TAGS: [&str; 4] = ["fitness", "yoga", "tea", "wine"];
const CUSTOMERS: usize = 24;

/// One seeded customer, as the model sees it.
#[derive(Debug, Clone)]
struct Customer {
    external_id: String,
    name: String,
    tags: BTreeSet<String>,
    consent_email: bool,
    consent_sms: bool,
    /// Days after 2026-01-01.
    signup_day: i64,
}

/// Deterministic, varied customers: every name, tag subset and consent pattern
/// appears, so generated filters select different subsets.
fn customers() -> Vec<Customer> {
    (0..CUSTOMERS)
        .map(|index| Customer {
            external_id: format!("c{index:02}"),
            name: NAMES[index % NAMES.len()].to_owned(),
            tags: TAGS
                .iter()
                .enumerate()
                .filter(|(bit, _)| (index * 7 + 3) >> bit & 1 == 1)
                .map(|(_, tag)| (*tag).to_owned())
                .collect(),
            consent_email: index % 2 == 0,
            consent_sms: index % 3 == 0,
            signup_day: (index as i64 * 11) % 60,
        })
        .collect()
}

fn signup_at(day: i64) -> String {
    (chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("a date") + chrono::Duration::days(day))
        .and_hms_opt(9, 30, 0)
        .expect("a time")
        .and_utc()
        .to_rfc3339()
}

#[derive(Debug, Clone)]
enum Text {
    Eq(String),
    Ne(String),
    In(Vec<String>),
    StartsWith(String),
}

#[derive(Debug, Clone)]
enum Filter {
    Name(Text),
    ExternalId(Text),
    TagsAny(Vec<String>),
    TagsAll(Vec<String>),
    TagsNone(Vec<String>),
    ConsentEmail(bool),
    ConsentSms(bool),
    SignupAfter(i64),
    SignupBefore(i64),
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    /// `{}`: no criteria at all.
    Empty,
}

fn text() -> impl Strategy<Value = Text> {
    // Names, their prefixes in other cases, and values nobody has.
    let value = prop_oneof![
        proptest::sample::select(NAMES.to_vec()).prop_map(str::to_owned),
        proptest::sample::select(vec!["c00", "c07", "c23", "nobody", "", "ann", "CARL", "b"])
            .prop_map(str::to_owned),
    ];
    prop_oneof![
        value.clone().prop_map(Text::Eq),
        value.clone().prop_map(Text::Ne),
        proptest::collection::vec(value.clone(), 0..3).prop_map(Text::In),
        value.prop_map(Text::StartsWith),
    ]
}

fn tags() -> impl Strategy<Value = Vec<String>> {
    let tag = proptest::sample::select(vec!["fitness", "YOGA", " tea ", "wine", "golf"])
        .prop_map(str::to_owned);
    proptest::collection::vec(tag, 0..3)
}

fn filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        text().prop_map(Filter::Name),
        text().prop_map(Filter::ExternalId),
        tags().prop_map(Filter::TagsAny),
        tags().prop_map(Filter::TagsAll),
        tags().prop_map(Filter::TagsNone),
        any::<bool>().prop_map(Filter::ConsentEmail),
        any::<bool>().prop_map(Filter::ConsentSms),
        (0i64..60).prop_map(Filter::SignupAfter),
        (0i64..60).prop_map(Filter::SignupBefore),
        Just(Filter::Empty),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Filter::And),
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Filter::Or),
            inner.prop_map(|filter| Filter::Not(Box::new(filter))),
        ]
    })
}

impl Text {
    fn to_json(&self) -> Value {
        match self {
            Text::Eq(value) => json!({ "eq": value }),
            Text::Ne(value) => json!({ "ne": value }),
            Text::In(values) => json!({ "in": values }),
            Text::StartsWith(prefix) => json!({ "startsWith": prefix }),
        }
    }

    fn matches(&self, value: &str) -> bool {
        match self {
            Text::Eq(wanted) => value == wanted,
            Text::Ne(unwanted) => value != unwanted,
            Text::In(values) => values.iter().any(|candidate| candidate == value),
            Text::StartsWith(prefix) => value
                .to_ascii_lowercase()
                .starts_with(&prefix.to_ascii_lowercase()),
        }
    }
}

/// Tags are compared trimmed and lowercase, as they are stored.
fn normalised(tags: &[String]) -> Vec<String> {
    tags.iter().map(|tag| tag.trim().to_lowercase()).collect()
}

impl Filter {
    fn to_json(&self) -> Value {
        match self {
            Filter::Name(text) => json!({ "name": text.to_json() }),
            Filter::ExternalId(text) => json!({ "externalId": text.to_json() }),
            Filter::TagsAny(tags) => json!({ "tags": { "any": tags } }),
            Filter::TagsAll(tags) => json!({ "tags": { "all": tags } }),
            Filter::TagsNone(tags) => json!({ "tags": { "none": tags } }),
            Filter::ConsentEmail(wanted) => json!({ "consentEmail": wanted }),
            Filter::ConsentSms(wanted) => json!({ "consentSms": wanted }),
            Filter::SignupAfter(day) => json!({ "signupAt": { "gt": signup_at(*day) } }),
            Filter::SignupBefore(day) => json!({ "signupAt": { "lte": signup_at(*day) } }),
            Filter::And(filters) => {
                json!({ "and": filters.iter().map(Filter::to_json).collect::<Vec<_>>() })
            }
            Filter::Or(filters) => {
                json!({ "or": filters.iter().map(Filter::to_json).collect::<Vec<_>>() })
            }
            Filter::Not(filter) => json!({ "not": filter.to_json() }),
            Filter::Empty => json!({}),
        }
    }

    /// The documented semantics: criteria all hold, `and` of nothing holds, `or` of
    /// nothing does not, `not` is the complement.
    fn matches(&self, customer: &Customer) -> bool {
        match self {
            Filter::Name(text) => text.matches(&customer.name),
            Filter::ExternalId(text) => text.matches(&customer.external_id),
            Filter::TagsAny(tags) => normalised(tags)
                .iter()
                .any(|tag| customer.tags.contains(tag)),
            Filter::TagsAll(tags) => normalised(tags)
                .iter()
                .all(|tag| customer.tags.contains(tag)),
            Filter::TagsNone(tags) => !normalised(tags)
                .iter()
                .any(|tag| customer.tags.contains(tag)),
            Filter::ConsentEmail(wanted) => customer.consent_email == *wanted,
            Filter::ConsentSms(wanted) => customer.consent_sms == *wanted,
            Filter::SignupAfter(day) => customer.signup_day > *day,
            Filter::SignupBefore(day) => customer.signup_day <= *day,
            Filter::And(filters) => filters.iter().all(|filter| filter.matches(customer)),
            Filter::Or(filters) => filters.iter().any(|filter| filter.matches(customer)),
            Filter::Not(filter) => !filter.matches(customer),
            Filter::Empty => true,
        }
    }
}

async fn seed_customers(gateway: &TestGateway, customers: &[Customer]) {
    for customer in customers {
        let input = json!({
            "externalId": customer.external_id,
            "name": customer.name,
            "tags": customer.tags,
            "signupAt": signup_at(customer.signup_day),
            "consent": { "email": customer.consent_email, "sms": customer.consent_sms },
        });
        gateway
            .query(
                "mutation($input: CustomerInput!) { createCustomer(input: $input) { id } }",
                json!({ "input": input }),
            )
            .await;
    }
}

/// The external ids the gateway selects for `filter`, and its `totalCount`.
async fn selected(
    gateway: &TestGateway,
    filter: &Value,
) -> Result<(BTreeSet<String>, i64), String> {
    let reply = gateway
        .post(
            "query($filter: CustomerFilter) { customers(first: 100, filter: $filter) { \
             totalCount edges { node { externalId } } } }",
            json!({ "filter": filter }),
        )
        .await;
    if reply.status != 200 || reply.body.get("errors").is_some() {
        return Err(format!("status {}: {}", reply.status, reply.body));
    }
    let connection = &reply.body["data"]["customers"];
    let ids = connection["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|edge| edge["node"]["externalId"].as_str().map(str::to_owned))
        .collect();
    Ok((ids, connection["totalCount"].as_i64().unwrap_or(-1)))
}

fn filters_select_what_the_model_selects(backend: Backend) {
    let runtime = runtime();
    let model = customers();
    let gateway = runtime.block_on(async {
        let gateway = TestGateway::start(backend).await;
        seed_customers(&gateway, &model).await;
        gateway
    });
    runner(64)
        .run(&filter(), |filter| {
            let expected: BTreeSet<String> = model
                .iter()
                .filter(|customer| filter.matches(customer))
                .map(|customer| customer.external_id.clone())
                .collect();
            let (ids, total) = runtime
                .block_on(selected(&gateway, &filter.to_json()))
                .map_err(TestCaseError::fail)?;
            prop_assert_eq!(&ids, &expected, "filter {}", filter.to_json());
            prop_assert_eq!(total, expected.len() as i64, "filter {}", filter.to_json());
            Ok(())
        })
        .unwrap();
    runtime.block_on(gateway.shut_down());
}

#[test]
fn filters_select_what_the_model_selects_sqlite() {
    filters_select_what_the_model_selects(Backend::Sqlite);
}

#[test]
fn filters_select_what_the_model_selects_postgres() {
    filters_select_what_the_model_selects(Backend::Postgres);
}

// ---------------------------------------------------------------------------
// CSV importer
// ---------------------------------------------------------------------------

const CUSTOMER_HEADER: &str = "external_id,name,email,phone,birthday,signup_at,tags,consent_email,consent_sms,consent_app_push,consent_social";
const COLUMNS: usize = 11;

/// A cell: mostly plausible values of every column's kind, some malformed, some
/// with CSV quoting hazards.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(vec![
            "", "x1", "Ann", "ann@example.com", "not-an-email", "+8613800000000", "12",
            "1990-02-28", "1990-02-30", "2026-01-01T00:00:00Z", "yesterday", "yoga;tea",
            "true", "false", "maybe", "0", "1",
        ])
        .prop_map(str::to_owned),
        1 => "[ -~]{0,12}",
        1 => Just("\"quoted, with comma\"".to_owned()),
        1 => Just("\"unterminated".to_owned()),
        1 => Just("é中文".to_owned()),
    ]
}

fn csv_file() -> impl Strategy<Value = (String, usize)> {
    let row = proptest::collection::vec(cell(), COLUMNS - 1..=COLUMNS + 1);
    proptest::collection::vec(row, 0..8).prop_map(|rows| {
        let count = rows.len();
        let body: Vec<String> = rows.into_iter().map(|cells| cells.join(",")).collect();
        (format!("{CUSTOMER_HEADER}\n{}\n", body.join("\n")), count)
    })
}

#[test]
fn the_csv_importer_imports_whole_files_or_reports_every_bad_row() {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let settings = Settings::default();
    let case = std::cell::Cell::new(0);
    runner(96)
        .run(&csv_file(), |(file, rows)| {
            case.set(case.get() + 1);
            runtime.block_on(async {
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join(format!("{}.db", case.get())).display()
                );
                let mut settings = settings.clone();
                settings.database_url = Some(url);
                let db = retain_gateway::database::connect(&settings, None)
                    .await
                    .unwrap();
                retain_gateway::database::migrate(&db).await.unwrap();
                let outcome = import::import(
                    &db,
                    &settings,
                    ImportKind::Customers,
                    file.as_bytes(),
                    false,
                )
                .await;
                let stored = customer_count(&db).await;
                match outcome {
                    // Unreadable CSV (an unterminated quote, say) is refused whole.
                    Err(error) => {
                        prop_assert_eq!(stored, 0, "a refused file wrote rows: {}", error);
                        prop_assert!(!error.to_string().is_empty());
                    }
                    Ok(report) if report.committed => {
                        prop_assert!(report.rejected.is_empty());
                        prop_assert!(report.imported <= rows);
                        // Rows with the same external id update one customer.
                        prop_assert!(stored as usize <= report.imported);
                        prop_assert_eq!(stored == 0, report.imported == 0);
                    }
                    Ok(report) => {
                        prop_assert_eq!(stored, 0, "an invalid file wrote rows");
                        prop_assert!(!report.rejected.is_empty());
                        for rejected in &report.rejected {
                            // Line numbers as a spreadsheet counts them: the header is 1.
                            prop_assert!(
                                (2..=rows as u64 + 1).contains(&rejected.row),
                                "{:?}",
                                rejected
                            );
                            prop_assert!(
                                !rejected.column.is_empty() && !rejected.reason.is_empty(),
                                "{:?}",
                                rejected
                            );
                        }
                    }
                }
                db.close().await.unwrap();
                Ok(())
            })
        })
        .unwrap();
}

async fn customer_count(db: &sea_orm::DatabaseConnection) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    retain_schema::customer::Entity::find()
        .count(db)
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------
// Plugin publishing
// ---------------------------------------------------------------------------

/// Damage done to a valid component.
#[derive(Debug, Clone)]
enum Damage {
    /// XOR one byte at a relative position with a non-zero mask.
    Flip { at: f64, mask: u8 },
    /// Keep only a leading share of the bytes.
    Truncate { keep: f64 },
    /// Insert bytes at a relative position.
    Insert { at: f64, bytes: Vec<u8> },
    /// Arbitrary bytes with a wasm header, or without.
    Replace { magic: bool, bytes: Vec<u8> },
}

fn damage() -> impl Strategy<Value = Vec<Damage>> {
    let one = prop_oneof![
        4 => (0.0..1.0f64, 1..=255u8).prop_map(|(at, mask)| Damage::Flip { at, mask }),
        1 => (0.0..1.0f64).prop_map(|keep| Damage::Truncate { keep }),
        1 => (0.0..1.0f64, proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Damage::Insert { at, bytes }),
        1 => (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(magic, bytes)| Damage::Replace { magic, bytes }),
    ];
    proptest::collection::vec(one, 1..4)
}

fn apply(component: &[u8], damage: &[Damage]) -> Vec<u8> {
    let mut bytes = component.to_vec();
    let position = |at: f64, len: usize| ((at * len as f64) as usize).min(len.saturating_sub(1));
    for step in damage {
        match step {
            Damage::Flip { at, mask } if !bytes.is_empty() => {
                let index = position(*at, bytes.len());
                bytes[index] ^= mask;
            }
            Damage::Flip { .. } => {}
            Damage::Truncate { keep } => bytes.truncate((keep * bytes.len() as f64) as usize),
            Damage::Insert {
                at,
                bytes: inserted,
            } => {
                let index = position(*at, bytes.len() + 1);
                bytes.splice(index..index, inserted.iter().copied());
            }
            Damage::Replace {
                magic,
                bytes: replacement,
            } => {
                bytes = if *magic {
                    b"\0asm\x0d\0\x01\0".to_vec()
                } else {
                    Vec::new()
                };
                bytes.extend_from_slice(replacement);
            }
        }
    }
    bytes
}

#[test]
fn damaged_components_are_refused_naming_the_field() {
    let runtime = runtime();
    let gateway = runtime.block_on(TestGateway::start(Backend::Sqlite));
    let state = gateway.context.clone();
    let published = std::cell::Cell::new(0);
    runner(48)
        .run(&damage(), |damage| {
            let bytes = apply(guests::BIG_SPENDERS, &damage);
            let outcome = runtime.block_on(retain_gateway::plugins::registry::publish(
                &state.db,
                state.slots.engine(),
                &bytes,
                state.settings.plugins.max_component_bytes,
                &retain_gateway::auth::Principal::cli(),
                chrono::Utc::now(),
            ));
            match outcome {
                // Damage that leaves a working segmenter (a flipped byte in a name,
                // say) may publish; it went through every check.
                Ok(_) => published.set(published.get() + 1),
                // Conflict: a damaged copy that still works claims the name and
                // version an earlier damaged copy published.
                Err(
                    ServiceError::Invalid { field, reason }
                    | ServiceError::Conflict { field, reason },
                ) => {
                    prop_assert_eq!(field.as_str(), "component");
                    prop_assert!(!reason.is_empty());
                }
                Err(other) => prop_assert!(false, "{damage:?} gave {other:?}"),
            }
            Ok(())
        })
        .unwrap();
    eprintln!("{} damaged components still published", published.get());
    // The gateway keeps serving after all of it.
    let data = runtime.block_on(gateway.query("{ slots { name } }", json!({})));
    assert!(data["slots"].is_array());
    runtime.block_on(gateway.shut_down());
}
