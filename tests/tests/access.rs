//! Who may do what: API keys, roles on every mutation, masked personal data, the
//! audit log, rate limits and request limits.

use std::time::Duration;

use retain_tests::{Backend, TestGateway, guests, on_both_backends};
use serde_json::{Value, json};

const ROLES: [&str; 5] = ["viewer", "agent", "operator", "strategist", "admin"];

/// Every mutation, with arguments that are refused on their merits (unknown ids,
/// empty names), so an allowed role gets some other error than FORBIDDEN and
/// nothing is written either way; and the roles that may call it.
const MUTATIONS: &[(&str, &str, &[&str])] = &[
    (
        "createCustomer",
        r#"createCustomer(input: { externalId: "", name: "" }) { id }"#,
        &["agent", "operator", "admin"],
    ),
    (
        "updateCustomer",
        r#"updateCustomer(id: "x", input: {}) { id }"#,
        &["agent", "operator", "admin"],
    ),
    (
        "eraseCustomer",
        r#"eraseCustomer(id: "x") { id }"#,
        &["admin"],
    ),
    (
        "recordInteraction",
        r#"recordInteraction(input: { customerId: "x", kind: LOGIN, channel: WEB }) { id }"#,
        &["agent", "operator", "admin"],
    ),
    (
        "submitFeedback",
        r#"submitFeedback(input: { customerId: "x", category: QUALITY }) { id }"#,
        &["agent", "operator", "admin"],
    ),
    (
        "updateFeedbackStatus",
        r#"updateFeedbackStatus(id: "x", status: CLOSED) { id }"#,
        &["agent", "operator", "admin"],
    ),
    (
        "fitLifetimeValueModel",
        r#"fitLifetimeValueModel(slot: "none") { customers }"#,
        &["strategist", "admin"],
    ),
    (
        "createProduct",
        r#"createProduct(input: { sku: "", name: "", category: "", priceMinor: -1 }) { id }"#,
        &["operator", "admin"],
    ),
    (
        "updateProduct",
        r#"updateProduct(id: "x", input: {}) { id }"#,
        &["operator", "admin"],
    ),
    (
        "placeOrder",
        r#"placeOrder(input: { customerId: "x", channel: WEB, items: [] }) { id }"#,
        &["operator", "admin"],
    ),
    (
        "updateOrderStatus",
        r#"updateOrderStatus(id: "x", status: PAID) { id }"#,
        &["operator", "admin"],
    ),
    (
        "refundOrder",
        r#"refundOrder(input: { orderId: "x", amountMinor: 0 }) { replayed }"#,
        &["operator", "admin"],
    ),
    (
        "recordReferral",
        r#"recordReferral(input: { campaignId: "x", referrerId: "x", referredId: "x" }) { id }"#,
        &["operator", "admin"],
    ),
    (
        "redeemPoints",
        r#"redeemPoints(customerId: "x", points: 0, idempotencyKey: "") { replayed }"#,
        &["agent", "operator", "admin"],
    ),
    (
        "adjustPoints",
        r#"adjustPoints(customerId: "x", points: 0, reason: "") { replayed }"#,
        &["operator", "admin"],
    ),
    (
        "createCampaign",
        r#"createCampaign(input: { name: "", kind: WIN_BACK, channels: [] }) { id }"#,
        &["operator", "admin"],
    ),
    (
        "updateCampaign",
        r#"updateCampaign(id: "x", input: {}) { id }"#,
        &["operator", "admin"],
    ),
    (
        "launchCampaign",
        r#"launchCampaign(id: "x") { campaign { id } }"#,
        &["operator", "admin"],
    ),
    (
        "recordMessageEvent",
        r#"recordMessageEvent(messageId: -1, event: OPENED) { id }"#,
        &["operator", "admin"],
    ),
    (
        "retryMessage",
        r#"retryMessage(messageId: -1) { id }"#,
        &["operator", "admin"],
    ),
    (
        "activatePlugin",
        r#"activatePlugin(slot: "tier", plugin: "none@0") { name }"#,
        &["strategist", "admin"],
    ),
    (
        "publishRules",
        r#"publishRules(slot: "none", source: "") { alreadyPublished }"#,
        &["strategist", "admin"],
    ),
    (
        "previewRules",
        r#"previewRules(slot: "none", source: "") { customers }"#,
        &["strategist", "admin"],
    ),
    (
        "rollbackSlot",
        r#"rollbackSlot(slot: "none") { name }"#,
        &["strategist", "admin"],
    ),
    (
        "runSegmentation",
        r#"runSegmentation(slot: "none") { status }"#,
        &["strategist", "admin"],
    ),
    (
        "shadowCompare",
        r#"shadowCompare(slot: "none", candidate: "none@0") { customers }"#,
        &["strategist", "admin"],
    ),
    (
        "createExperiment",
        r#"createExperiment(input: { key: "", slot: "none", variants: [] }) { key }"#,
        &["strategist", "admin"],
    ),
    (
        "updateExperiment",
        r#"updateExperiment(key: "none", changes: {}) { key }"#,
        &["strategist", "admin"],
    ),
    (
        "startExperiment",
        r#"startExperiment(key: "none") { key }"#,
        &["strategist", "admin"],
    ),
    (
        "stopExperiment",
        r#"stopExperiment(key: "none") { key }"#,
        &["strategist", "admin"],
    ),
    (
        "concludeExperiment",
        r#"concludeExperiment(key: "none", winner: "a") { experiment { key } }"#,
        &["strategist", "admin"],
    ),
    (
        "createApiKey",
        r#"createApiKey(name: "", role: VIEWER) { key }"#,
        &["admin"],
    ),
    (
        "revokeApiKey",
        r#"revokeApiKey(key: "none") { name }"#,
        &["admin"],
    ),
];

fn code(reply: &retain_tests::Reply) -> String {
    reply.body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn keys_by_role(gw: &TestGateway) -> Vec<(&'static str, String)> {
    let mut keys = Vec::new();
    for role in ROLES {
        keys.push((role, gw.create_key(role).await));
    }
    keys
}

const JWT_SECRET: &str = "the identity provider's shared secret, 32+ bytes";

/// A token from the test identity provider: HS256 with the shared secret, or
/// RS256 with the test key pair in `tests/fixtures`.
fn jwt(algorithm: jsonwebtoken::Algorithm, subject: &str, role: &str, expires_in: i64) -> String {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let claims = json!({
        "sub": subject, "iss": "https://id.shop.example", "aud": "retain",
        "exp": chrono::Utc::now().timestamp() + expires_in, "retain_role": role,
    });
    let key = match algorithm {
        jsonwebtoken::Algorithm::RS256 => {
            EncodingKey::from_rsa_pem(include_bytes!("../fixtures/jwt-test-rsa-private.pem"))
                .expect("the test key")
        }
        _ => EncodingKey::from_secret(JWT_SECRET.as_bytes()).expect("the shared secret"),
    };
    encode(&Header::new(algorithm), &claims, &key).expect("a token")
}

async fn identity_provider_tokens_carry_a_role(backend: Backend) {
    use jsonwebtoken::Algorithm::{HS256, RS256};
    let gw = TestGateway::start_with(backend, |s| {
        s.jwt.hs256_secret = Some(retain_gateway::config::Secret::new(JWT_SECRET));
        s.jwt.rs256_public_key = Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/jwt-test-rsa-public.pem"),
        );
        s.jwt.issuer = Some("https://id.shop.example".into());
        s.jwt.audience = Some("retain".into());
    })
    .await;
    let viewer = jwt(HS256, "ana", "viewer", 600);
    let reply = gw
        .post_as(
            Some(&viewer),
            "{ customers(first: 1) { totalCount } }",
            json!({}),
        )
        .await;
    assert!(reply.body.get("errors").is_none(), "{:#}", reply.body);
    let reply = gw
        .post_as(
            Some(&viewer),
            r#"mutation { createCustomer(input: { externalId: "x", name: "X" }) { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&reply), "FORBIDDEN");

    // An admin signed in at the provider: RS256, and named in the audit log.
    let admin = jwt(RS256, "bo", "admin", 600);
    let reply = gw
        .post_as(
            Some(&admin),
            r#"mutation { createApiKey(name: "from-sso", role: VIEWER) { key } }"#,
            json!({}),
        )
        .await;
    assert!(reply.body.get("errors").is_none(), "{:#}", reply.body);
    let audit = gw
        .query(
            "{ auditLog(first: 1) { edges { node { actor action } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        audit["auditLog"]["edges"][0]["node"],
        json!({ "actor": "jwt:bo", "action": "key.create" })
    );

    let refused = [
        (
            jwt(HS256, "ana", "viewer", -3600),
            "the token is refused: it has expired",
        ),
        (
            jwt(HS256, "ana", "owner", 600),
            "the token is refused: retain_role is \"owner\", not one of viewer, agent, operator, strategist, admin",
        ),
    ];
    for (token, message) in refused {
        let reply = gw
            .post_as(
                Some(&token),
                "{ customers(first: 1) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(reply.status, 401, "{:#}", reply.body);
        assert_eq!(code(&reply), "UNAUTHENTICATED");
        assert_eq!(reply.body["errors"][0]["message"], message);
    }
    // API keys keep working next to tokens.
    let reply = gw
        .post("{ customers(first: 1) { totalCount } }", json!({}))
        .await;
    assert!(reply.body.get("errors").is_none(), "{:#}", reply.body);
}

async fn requests_without_a_valid_key_are_refused(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    for key in [
        None,
        Some("rk_000000000000_00000000000000000000000000000000"),
        Some("nonsense"),
    ] {
        let reply = gw.post_as(key, "{ __typename }", json!({})).await;
        assert_eq!(reply.status, 401, "{key:?}: {:#}", reply.body);
        assert_eq!(code(&reply), "UNAUTHENTICATED");
        assert!(reply.body.get("data").is_none());
    }
    let bare = reqwest::Client::new();
    let response = bare
        .get(gw.url("/graphql?query=%7B__typename%7D"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    for open in ["/healthz", "/readyz", "/metrics"] {
        let response = bare.get(gw.url(open)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{open} needs no key");
    }
    // Every response carries a request id, the caller's own when it sent one.
    let traced = bare
        .get(gw.url("/healthz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(traced.headers()["x-request-id"], "trace-me-42");
    let fresh = bare.get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(fresh.headers()["x-request-id"].len(), 36, "a UUID");
}

async fn every_role_meets_the_permission_table(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let keys = keys_by_role(&gw).await;
    for (name, selection, allowed) in MUTATIONS {
        for (role, key) in &keys {
            let reply = gw
                .post_as(Some(key), &format!("mutation {{ {selection} }}"), json!({}))
                .await;
            let code = code(&reply);
            if allowed.contains(role) {
                assert!(
                    !code.is_empty() && code != "FORBIDDEN",
                    "{role} may call {name}: {:#}",
                    reply.body
                );
            } else {
                assert_eq!(
                    code, "FORBIDDEN",
                    "{role} may not call {name}: {:#}",
                    reply.body
                );
                let message = reply.body["errors"][0]["message"].as_str().unwrap();
                assert!(
                    message.contains(&format!("the {role} role may not")),
                    "{message}"
                );
                assert_eq!(reply.body["errors"][0]["path"], json!([name]));
            }
        }
    }
    // publishPlugin takes an upload.
    let publish =
        "mutation($file: Upload!) { publishPlugin(component: $file) { alreadyPublished } }";
    for (role, key) in &keys {
        let reply = gw
            .upload_as(key, publish, json!({ "file": null }), "file", b"not wasm")
            .await;
        let allowed = matches!(*role, "strategist" | "admin");
        assert_eq!(
            code(&reply) == "FORBIDDEN",
            !allowed,
            "{role}: {:#}",
            reply.body
        );
    }
    // Reads: everyone reads the shop, only admins read keys and the audit log.
    for (role, key) in &keys {
        let reply = gw
            .post_as(
                Some(key),
                "{ customers(first: 1) { totalCount } slots { name } }",
                json!({}),
            )
            .await;
        assert!(
            reply.body.get("errors").is_none(),
            "{role}: {:#}",
            reply.body
        );
        for admin_only in [
            "{ apiKeys { name } }",
            "{ auditLog(first: 1) { totalCount } }",
        ] {
            let reply = gw.post_as(Some(key), admin_only, json!({})).await;
            assert_eq!(
                code(&reply) == "FORBIDDEN",
                *role != "admin",
                "{role} {admin_only}"
            );
        }
    }
}

/// A customer with every kind of personal data, and an order, so the customer
/// can be reached through a nested field too.
async fn customer_with_pii(gw: &TestGateway) -> Value {
    let customer = gw
        .query(
            r#"mutation { createCustomer(input: { externalId: "p-1", name: "Pia", email: "pia@example.com", phone: "+86 138 0013 8000", birthday: "1990-05-01" }) { id } }"#,
            json!({}),
        )
        .await["createCustomer"]["id"]
        .clone();
    let product = gw
        .query(
            r#"mutation { createProduct(input: { sku: "P", name: "Pen", category: "office", priceMinor: 300 }) { id } }"#,
            json!({}),
        )
        .await["createProduct"]["id"]
        .clone();
    gw.query(
        "mutation($c: ID!, $p: ID!) { placeOrder(input: { customerId: $c, channel: WEB, items: [{ productId: $p, quantity: 1 }] }) { id } }",
        json!({ "c": customer, "p": product }),
    )
    .await;
    customer
}

async fn personal_data_is_masked_for_roles_without_it(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    customer_with_pii(&gw).await;
    let keys = keys_by_role(&gw).await;
    let query = "{ customers(first: 1) { edges { node { name email phone birthday } } } orders(first: 1) { edges { node { customer { email } } } } }";
    for (role, key) in &keys {
        let reply = gw.post_as(Some(key), query, json!({})).await;
        assert!(
            reply.body.get("errors").is_none(),
            "{role}: {:#}",
            reply.body
        );
        let customer = &reply.body["data"]["customers"]["edges"][0]["node"];
        let nested = &reply.body["data"]["orders"]["edges"][0]["node"]["customer"];
        assert_eq!(customer["name"], "Pia");
        if matches!(*role, "agent" | "operator" | "admin") {
            assert_eq!(customer["email"], "pia@example.com", "{role}");
            assert_eq!(customer["phone"], "+86 138 0013 8000");
            assert_eq!(customer["birthday"], "1990-05-01");
            assert_eq!(nested["email"], "pia@example.com");
        } else {
            assert_eq!(customer["email"], "p***@example.com", "{role}");
            assert_eq!(customer["phone"], "•••••••8000");
            assert_eq!(customer["birthday"], Value::Null);
            assert_eq!(
                nested["email"], "p***@example.com",
                "nested fields are masked too"
            );
        }
    }
    // Filtering on personal data would reveal it: refused for masked roles,
    // however deep in and/or/not it hides.
    let filter = r#"{ customers(filter: { or: [{ name: { eq: "x" } }, { not: { email: { startsWith: "pia" } } }] }) { totalCount } }"#;
    let (_, viewer) = &keys[0];
    let reply = gw.post_as(Some(viewer), filter, json!({})).await;
    assert_eq!(code(&reply), "FORBIDDEN");
    assert_eq!(
        reply.body["errors"][0]["extensions"]["field"],
        "filter.email"
    );
    let (_, agent) = &keys[1];
    let reply = gw.post_as(Some(agent), filter, json!({})).await;
    assert!(reply.body.get("errors").is_none(), "{:#}", reply.body);
}

async fn revoked_keys_stop_working_at_once(backend: Backend) {
    let gw = TestGateway::start_with(backend, |s| s.plugins.poll_interval_ms = 100).await;
    let other = gw.replica().await;
    let key = gw.create_key("operator").await;
    for replica in [&gw, &other] {
        let reply = replica
            .post_as(Some(&key), "{ __typename }", json!({}))
            .await;
        assert_eq!(reply.status, 200, "the key works before revocation");
    }
    // A key's first 15 characters are its public prefix.
    let revoked = gw
        .query(
            "mutation($k: String!) { revokeApiKey(key: $k) { name revokedAt } }",
            json!({ "k": &key[..15] }),
        )
        .await;
    assert!(revoked["revokeApiKey"]["revokedAt"].is_string());
    let reply = gw.post_as(Some(&key), "{ __typename }", json!({})).await;
    assert_eq!(
        reply.status, 401,
        "refused by the replica that revoked it, at once"
    );
    // The other replica had the key verified in memory; it learns of the
    // revocation by polling.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let reply = other.post_as(Some(&key), "{ __typename }", json!({})).await;
        if reply.status == 401 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the replica still accepts the key"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn privileged_changes_are_audited(backend: Backend) {
    let gw = TestGateway::start(backend).await;
    let strategist = gw.create_key("strategist").await;
    let published = gw
        .upload_as(
            &strategist,
            "mutation($file: Upload!) { publishPlugin(component: $file) { plugin { reference } } }",
            json!({ "file": null }),
            "file",
            guests::BIG_SPENDERS,
        )
        .await;
    assert!(
        published.body.get("errors").is_none(),
        "{:#}",
        published.body
    );
    let reference = published.body["data"]["publishPlugin"]["plugin"]["reference"].clone();
    let reply = gw
        .post_as(
            Some(&strategist),
            "mutation($p: String!) { activatePlugin(slot: \"spend\", plugin: $p, resegment: false) { name history { actor } } }",
            json!({ "p": reference }),
        )
        .await;
    assert!(reply.body.get("errors").is_none(), "{:#}", reply.body);
    let actor = reply.body["data"]["activatePlugin"]["history"][0]["actor"].clone();
    assert!(
        actor.as_str().unwrap().starts_with("key:strategist-"),
        "{actor}"
    );
    let customer = customer_with_pii(&gw).await;
    gw.query(
        "mutation($id: ID!) { eraseCustomer(id: $id) { erasedAt } }",
        json!({ "id": customer }),
    )
    .await;

    let log = gw
        .query(
            "{ auditLog(first: 10) { totalCount edges { node { actor actorRole action target detail } } } }",
            json!({}),
        )
        .await;
    let entries: Vec<&Value> = log["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .collect();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Newest first: erase, activate, publish, the strategist's key, and the
    // harness's admin key, created from the command line's side.
    assert_eq!(
        actions,
        [
            "customer.erase",
            "plugin.activate",
            "plugin.publish",
            "key.create",
            "key.create"
        ]
    );
    assert_eq!(log["auditLog"]["totalCount"], 5);
    assert_eq!(entries[4]["actor"], "cli");
    assert_eq!(entries[0]["actorRole"], "ADMIN");
    assert_eq!(entries[1]["actor"], actor);
    assert_eq!(entries[1]["actorRole"], "STRATEGIST");
    assert_eq!(entries[1]["target"], "spend");
    assert_eq!(entries[1]["detail"]["plugin"], reference);
    assert_eq!(entries[2]["target"], reference);
    assert_eq!(entries[3]["detail"]["role"], "strategist");
    let only = gw
        .query(
            "{ auditLog(action: \"plugin.publish\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(only["auditLog"]["totalCount"], 1);
}

/// Made-up keys cost a database lookup each; past the replica's lookup budget
/// they are refused with 429 before reaching the database, while a key the replica
/// has verified keeps working.
async fn a_flood_of_made_up_keys_is_throttled(backend: Backend) {
    let gw = TestGateway::start_with(backend, |s| s.limits.key_lookups_per_second = 5).await;
    let viewer = gw.create_key("viewer").await;
    let verified = gw.post_as(Some(&viewer), "{ __typename }", json!({})).await;
    assert_eq!(verified.status, 200, "{:#}", verified.body);

    let started = std::time::Instant::now();
    let mut unauthenticated = 0u64;
    let mut throttled = 0u64;
    for attempt in 0..60u64 {
        let made_up = format!("rk_{attempt:012x}_{:032x}", attempt * 7919);
        let reply = gw
            .post_as(Some(&made_up), "{ __typename }", json!({}))
            .await;
        match reply.status {
            401 => unauthenticated += 1,
            429 => {
                assert_eq!(code(&reply), "RATE_LIMITED");
                throttled += 1;
            }
            other => panic!("a made-up key got {other}: {:#}", reply.body),
        }
        if attempt % 10 == 0 {
            let still = gw.post_as(Some(&viewer), "{ __typename }", json!({})).await;
            assert_eq!(
                still.status, 200,
                "the verified key during the flood: {:#}",
                still.body
            );
        }
    }
    // The bucket holds 5 lookups and refills 5 a second; the admin and viewer keys
    // took two. Every other lookup is a made-up key that reached the database.
    let seconds = started.elapsed().as_secs() + 1;
    assert!(
        2 + unauthenticated <= 5 + 5 * seconds,
        "{unauthenticated} made-up keys reached the database in {seconds} s"
    );
    assert!(
        throttled > 0,
        "none of 60 made-up keys was throttled in {seconds} s"
    );
}

async fn a_spent_rate_limit_refuses_with_retry_after(backend: Backend) {
    let gw = TestGateway::start_with(backend, |s| {
        s.limits.rate_per_second = 1;
        s.limits.rate_burst = 3;
    })
    .await;
    // The harness's admin key is a caller like any other; a fresh key has a full
    // bucket of its own.
    let key = {
        let data = gw
            .post(
                "mutation { createApiKey(name: \"limited\", role: VIEWER) { key } }",
                json!({}),
            )
            .await;
        data.body["data"]["createApiKey"]["key"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for _ in 0..3 {
        let reply = gw.post_as(Some(&key), "{ __typename }", json!({})).await;
        assert_eq!(reply.status, 200);
    }
    let response = reqwest::Client::new()
        .post(gw.url("/graphql"))
        .bearer_auth(&key)
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
}

async fn request_limits_refuse_with_a_code(backend: Backend) {
    let gw = TestGateway::start_with(backend, |s| {
        s.limits.max_aliases = 3;
        s.limits.request_timeout_ms = 150;
        s.limits.batch_window_ms = 1_000;
        s.introspection = false;
    })
    .await;
    // Aliases counted through fragments.
    let aliased =
        "query { ...F ...F } fragment F on QueryRoot { a: slots { name } b: slots { name } }";
    let reply = gw.post(aliased, json!({})).await;
    assert_eq!(reply.status, 400, "{:#}", reply.body);
    assert_eq!(code(&reply), "TOO_MANY_ALIASES");
    assert!(
        reply.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("4 aliases")
    );

    // A loader waits a second for its batch: longer than the 150 ms allowed.
    gw.query(
        r#"mutation { createCustomer(input: { externalId: "t", name: "Tim", tags: ["x"] }) { id } }"#,
        json!({}),
    )
    .await;
    let slow = "{ customers(first: 1) { edges { node { tags } } } }";
    let reply = gw.post(slow, json!({})).await;
    assert_eq!(reply.status, 504, "{:#}", reply.body);
    assert_eq!(code(&reply), "REQUEST_TIMEOUT");

    let reply = gw.post("{ __schema { types { name } } }", json!({})).await;
    assert_eq!(code(&reply), "INTROSPECTION_DISABLED", "{:#}", reply.body);
}

on_both_backends!(
    identity_provider_tokens_carry_a_role,
    requests_without_a_valid_key_are_refused,
    every_role_meets_the_permission_table,
    personal_data_is_masked_for_roles_without_it,
    revoked_keys_stop_working_at_once,
    privileged_changes_are_audited,
    a_spent_rate_limit_refuses_with_retry_after,
    a_flood_of_made_up_keys_is_throttled,
    request_limits_refuse_with_a_code,
);
