//! `retain import`: CSV exports from another system, all or nothing by default.

use clap::Parser;
use retain_gateway::cli::{self, Cli};
use retain_gateway::config::Settings;
use retain_gateway::database;
use retain_gateway::import::{ImportKind, ImportReport, RowError, import};
use retain_tests::{Backend, TestGateway, on_both_backends};
use serde_json::json;

async fn run_import(
    gw: &TestGateway,
    kind: ImportKind,
    csv: &str,
    skip_invalid: bool,
) -> ImportReport {
    let settings = Settings {
        database_url: Some(gw.database_url.clone()),
        ..Settings::default()
    };
    let db = database::connect(&settings, None).await.unwrap();
    import(&db, &settings, kind, csv.as_bytes(), skip_invalid)
        .await
        .unwrap()
}

fn error(row: u64, column: &str, reason: &str) -> RowError {
    RowError {
        row,
        column: column.into(),
        reason: reason.into(),
    }
}

async fn customer_count(gw: &TestGateway) -> u64 {
    gw.query("{ customers { totalCount } }", json!({})).await["customers"]["totalCount"]
        .as_u64()
        .unwrap()
}

const CUSTOMERS: &str = "\
external_id,name,email,phone,birthday,signup_at,tags,consent_email,consent_sms,consent_app_push,consent_social
c-1,Ada Lovelace,ada@example.com,+86 138 0000 0001,1990-04-30,2024-01-02T10:00:00Z,fitness;office,true,false,yes,0
c-2,Bo Chen,,,,2024-02-03,mother-and-baby,,,,
";

async fn customers_import_and_update_by_external_id(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let report = run_import(&gw, ImportKind::Customers, CUSTOMERS, false).await;
    assert_eq!(
        (report.imported, report.rejected.len(), report.committed),
        (2, 0, true)
    );
    let ada = gw
        .query(
            r#"{ customerByExternalId(externalId: "c-1") { name email birthday tags consent { email sms appPush social } signupAt } }"#,
            json!({}),
        )
        .await;
    let ada = &ada["customerByExternalId"];
    assert_eq!(ada["birthday"], "1990-04-30");
    assert_eq!(ada["tags"], json!(["fitness", "office"]));
    assert_eq!(
        ada["consent"],
        json!({ "email": true, "sms": false, "appPush": true, "social": false })
    );

    // Re-importing updates by external id instead of duplicating.
    let renamed = CUSTOMERS.replace("Ada Lovelace", "Ada King");
    let report = run_import(&gw, ImportKind::Customers, &renamed, false).await;
    assert_eq!(report.imported, 2);
    assert_eq!(customer_count(&gw).await, 2);
    let ada = gw
        .query(
            r#"{ customerByExternalId(externalId: "c-1") { name } }"#,
            json!({}),
        )
        .await;
    assert_eq!(ada["customerByExternalId"]["name"], "Ada King");
}

async fn invalid_rows_are_reported_and_nothing_is_written(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let csv = "\
external_id,name,email,birthday,consent_email
ok-1,Good Row,good@example.com,1980-01-01,true
bad-1,Bad Email,not-an-email,,
bad-2,,x@example.com,,
bad-3,Bad Date,y@example.com,30/04/1990,
bad-4,Bad Flag,z@example.com,,maybe
ok-2,Another Good,another@example.com,,
";
    let report = run_import(&gw, ImportKind::Customers, csv, false).await;
    assert_eq!(
        report.rejected,
        vec![
            error(3, "email", "is not a valid e-mail address"),
            error(4, "name", "is required"),
            error(
                5,
                "birthday",
                "expected a date like 1990-04-30, got \"30/04/1990\""
            ),
            error(6, "consent_email", "expected true or false, got \"maybe\""),
        ]
    );
    assert!(!report.committed);
    assert_eq!(report.imported, 0);
    assert_eq!(customer_count(&gw).await, 0, "one bad row imports nothing");

    let report = run_import(&gw, ImportKind::Customers, csv, true).await;
    assert_eq!(
        (report.imported, report.rejected.len(), report.committed),
        (2, 4, true)
    );
    assert_eq!(
        customer_count(&gw).await,
        2,
        "--skip-invalid imports the valid rows"
    );
}

async fn products_and_order_lines_import(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    run_import(&gw, ImportKind::Customers, CUSTOMERS, false).await;
    let products = "\
sku,name,category,price,currency,active
MAT,Yoga mat,fitness,99.90,CNY,true
PEN,Fountain pen,office,25,,
";
    let report = run_import(&gw, ImportKind::Products, products, false).await;
    assert_eq!((report.imported, report.rejected.len()), (2, 0));

    // One row per order line; the order-level columns repeat on every line.
    let orders = "\
order_number,customer_external_id,placed_at,status,channel,currency,discount,sku,quantity,unit_price
SO-1,c-1,2025-03-01T09:30:00Z,delivered,app,CNY,10.00,MAT,1,89.90
SO-1,c-1,2025-03-01T09:30:00Z,delivered,app,CNY,10.00,PEN,2,
SO-2,c-2,2025-04-01,paid,web,,,PEN,1,
";
    let report = run_import(&gw, ImportKind::Orders, orders, false).await;
    assert_eq!(
        (report.imported, report.rejected.len()),
        (2, 0),
        "{:?}",
        report.rejected
    );
    let data = gw
        .query(
            r#"{ orders(orderBy: { field: PLACED_AT, direction: ASC }) { edges { node { orderNumber status channel subtotal { minor } discount { minor } total { minor } paidAt deliveredAt customer { externalId } items { quantity unitPrice { minor } product { sku } } } } } }"#,
            json!({}),
        )
        .await;
    let first = &data["orders"]["edges"][0]["node"];
    assert_eq!(first["orderNumber"], "SO-1");
    assert_eq!(first["status"], "DELIVERED");
    assert_eq!(first["subtotal"]["minor"], 8990 + 2 * 2500);
    assert_eq!(first["total"]["minor"], 8990 + 2 * 2500 - 1000);
    assert_eq!(first["items"][1]["product"]["sku"], "PEN");
    assert!(first["paidAt"].is_string() && first["deliveredAt"].is_string());
    assert_eq!(
        data["orders"]["edges"][1]["node"]["customer"]["externalId"],
        "c-2"
    );

    let bad = "\
order_number,customer_external_id,placed_at,status,channel,currency,discount,sku,quantity,unit_price
SO-1,c-1,2025-05-01,paid,web,,,PEN,1,
SO-3,nobody,2025-05-01,paid,web,,,PEN,1,
SO-4,c-1,2025-05-01,paid,web,,,PEN,1,
SO-4,c-2,2025-05-01,paid,web,,,PEN,1,
SO-5,c-1,2025-05-01,paid,web,,,NOPE,1,
SO-6,c-1,2025-05-01,paid,web,,,PEN,1,
SO-6,c-1,2025-05-01,paid,web,,,MAT,0,
SO-7,c-1,2025-05-01,lost,web,,,PEN,1,
";
    let report = run_import(&gw, ImportKind::Orders, bad, false).await;
    assert_eq!(
        report.rejected,
        vec![
            error(2, "order_number", "SO-1 is already used by another order"),
            error(
                3,
                "customer_external_id",
                "no customer has this external id"
            ),
            error(
                5,
                "customer_external_id",
                "differs from the order's first line (\"c-1\")"
            ),
            error(6, "sku", "no product has this SKU"),
            error(8, "quantity", "must be between 1 and 999"),
            error(9, "status", "unknown status \"lost\""),
        ]
    );
    let count = gw.query("{ orders { totalCount } }", json!({})).await;
    assert_eq!(
        count["orders"]["totalCount"], 2,
        "nothing from the bad file"
    );
}

async fn the_cli_refuses_a_file_with_invalid_rows(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.csv");
    std::fs::write(&path, "external_id,name,email\nx-1,X,nope\n").unwrap();
    let args = [
        "retain",
        "--database",
        gw.database_url.as_str(),
        "import",
        "customers",
        path.to_str().unwrap(),
    ];
    let outcome = cli::run(Cli::parse_from(args)).await;
    assert!(
        outcome
            .unwrap_err()
            .to_string()
            .contains("nothing imported")
    );
    let skip = [&args[..], &["--skip-invalid"]].concat();
    cli::run(Cli::parse_from(skip)).await.unwrap();
    assert_eq!(customer_count(&gw).await, 0);
}

on_both_backends!(
    customers_import_and_update_by_external_id,
    invalid_rows_are_reported_and_nothing_is_written,
    products_and_order_lines_import,
    the_cli_refuses_a_file_with_invalid_rows,
);
