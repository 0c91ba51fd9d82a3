//! HTTP: GraphQL over HTTP (per the GraphQL-over-HTTP spec, which the stock
//! integration does not follow), GraphiQL, subscriptions, health and metrics.
//!
//! Media types: `application/graphql-response+json` when the client accepts it
//! (request errors then answer 400 without `data`), else `application/json` (always
//! 200 once the request is well-formed). Bodies must be `application/json`; other
//! content types get 415, unacceptable `Accept` headers 406, mutations over GET 405.
//!
//! Every GraphQL request needs an API key (`Authorization: Bearer <key>`): 401
//! without a valid one, 429 when the key's rate limit is spent. Subscriptions take
//! the key from that header or from the `connection_init` payload
//! (`{"authorization": "Bearer <key>"}`), since browsers cannot set WebSocket
//! headers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::Variables;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::http::{GraphiQLSource, MultipartOptions};
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::auth::Principal;
use crate::auth::key_ring::AuthError;
use crate::auth::policy::UNAUTHENTICATED;
use crate::database;
use crate::graphql::loaders::Loaders;
use crate::metrics::{ErrorLabels, OperationLabels};
use crate::persisted::{PersistedQueries, Refused};
use crate::services::api_keys;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";
const MULTIPART: &str = "multipart/form-data";

const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
const RATE_LIMITED: &str = "RATE_LIMITED";
const TOO_MANY_ALIASES: &str = "TOO_MANY_ALIASES";
const INTROSPECTION_DISABLED: &str = "INTROSPECTION_DISABLED";
const REQUEST_TIMEOUT: &str = "REQUEST_TIMEOUT";

pub fn router(state: AppState) -> Router {
    // Probes stay out of the request trace: orchestrators poll them several
    // times a second, and a 503 while the catalogue warms up is no error.
    let probes = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz));
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(subscriptions))
        .route("/metrics", get(metrics))
        .route(
            "/callbacks/messages",
            axum::routing::post(crate::callbacks::message_event),
        )
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let span = tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id = %id);
            crate::telemetry::continue_trace(&span, request.headers());
            span
        }))
        .merge(probes)
        // The last layer runs first: it gives every request an id (or keeps the
        // caller's), under which the trace span logs, and the response returns it.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// DataLoaders for one request, or one subscription connection.
fn loaders(state: &AppState) -> Loaders {
    let context = &state.context;
    Loaders::new(&context.db, &context.settings)
}

/// Subscriptions over WebSocket (graphql-transport-ws and graphql-ws).
async fn subscriptions(
    State(state): State<AppState>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    // A key in the upgrade request is checked before upgrading; otherwise the
    // connection_init payload must carry one.
    let from_header = match bearer(&headers) {
        Some(_) => match caller(&state, &headers, MediaType::Json).await {
            Ok(principal) => Some(principal),
            Err(refused) => return refused,
        },
        None => None,
    };
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            let schema = state.schema.clone();
            GraphQLWebSocket::new(stream, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let principal = match from_header {
                        Some(principal) => principal,
                        None => {
                            let token = payload
                                .get("authorization")
                                .and_then(serde_json::Value::as_str)
                                .and_then(|value| value.strip_prefix("Bearer "))
                                .ok_or_else(|| {
                                    async_graphql::Error::new(AuthError::Missing.to_string())
                                })?;
                            authenticate(&state, token)
                                .await
                                .map_err(|err| async_graphql::Error::new(err.to_string()))?
                        }
                    };
                    let mut data = async_graphql::Data::default();
                    data.insert(Arc::new(loaders(&state)));
                    data.insert(principal);
                    Ok(data)
                })
                .serve()
        })
}

/// The API key in `Authorization: Bearer <key>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The caller an API key (`rk_…`) or, when configured, an identity-provider
/// token names.
async fn authenticate(state: &AppState, token: &str) -> Result<Principal, AuthError> {
    let context = &state.context;
    match &context.jwt {
        Some(jwt) if !token.starts_with(api_keys::SCHEME) => Ok(jwt.verify(token)?),
        _ => context.keys.authenticate(&context.db, token).await,
    }
}

/// The authenticated caller of a request within its rate limit, or the refusal to
/// answer with.
async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    media: MediaType,
) -> Result<Principal, Response> {
    let context = &state.context;
    let outcome = match bearer(headers) {
        None => Err(AuthError::Missing),
        Some(token) => authenticate(state, token).await,
    };
    let refused = |code: &str, response: Response| {
        context
            .metrics
            .graphql_errors
            .get_or_create(&ErrorLabels { code: code.into() })
            .inc();
        response
    };
    let too_many = |wait: Duration, message: String| {
        let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut response = refusal(
            StatusCode::TOO_MANY_REQUESTS,
            media,
            RATE_LIMITED,
            format!("{message}; retry in {seconds} s"),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        refused(RATE_LIMITED, response)
    };
    let principal = match outcome {
        Ok(principal) => principal,
        Err(err @ AuthError::Throttled(wait)) => return Err(too_many(wait, err.to_string())),
        Err(err @ AuthError::Unavailable(_)) => {
            tracing::warn!(error = ?err, "authenticating a request failed");
            return Err(refused(
                SERVICE_UNAVAILABLE,
                refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    media,
                    SERVICE_UNAVAILABLE,
                    err.to_string(),
                ),
            ));
        }
        Err(err) => {
            let mut response = refusal(
                StatusCode::UNAUTHORIZED,
                media,
                UNAUTHENTICATED,
                err.to_string(),
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return Err(refused(UNAUTHENTICATED, response));
        }
    };
    if let Err(wait) = context.rate_limits.check(&principal.name) {
        return Err(too_many(
            wait,
            "the rate limit of this API key is spent".into(),
        ));
    }
    Ok(principal)
}

async fn readyz(State(state): State<AppState>) -> Response {
    if !database::ping(&state.context.db).await {
        tracing::warn!("not ready: the database does not answer");
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
    } else if state.context.catalog.is_warming_up() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "computing the catalogue facts",
        )
            .into_response()
    } else {
        (StatusCode::OK, "ready").into_response()
    }
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.context.settings.metrics_require_key
        && let Err(refused) = caller(&state, &headers, MediaType::Json).await
    {
        return refused;
    }
    let context = &state.context;
    let (open, idle) = database::pool_usage(&context.db);
    context.metrics.database_connections.set(i64::from(open));
    context.metrics.database_connections_idle.set(idle as i64);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.context.metrics.render(),
    )
        .into_response()
}

/// The response media type the client asked for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum MediaType {
    GraphqlResponse,
    Json,
}

impl MediaType {
    fn as_str(self) -> &'static str {
        match self {
            MediaType::GraphqlResponse => GRAPHQL_RESPONSE,
            MediaType::Json => JSON,
        }
    }
}

/// Picks the response media type from `Accept`; `None` when nothing we offer fits.
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    let mut fallback = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let refused = parts.any(|p| p.replace(' ', "") == "q=0");
        if refused {
            continue;
        }
        match media.as_str() {
            GRAPHQL_RESPONSE => return Some(MediaType::GraphqlResponse),
            JSON | "application/*" | "*/*" => fallback = Some(MediaType::Json),
            _ => {}
        }
    }
    fallback
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// A request refused before execution, as a GraphQL-shaped error body.
fn refusal(
    status: StatusCode,
    media: MediaType,
    code: &str,
    message: impl Into<String>,
) -> Response {
    let body = json!({ "errors": [{ "message": message.into(), "extensions": { "code": code } }] });
    json_response(status, media, &body)
}

fn json_response(status: StatusCode, media: MediaType, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&format!("{}; charset=utf-8", media.as_str())).expect("valid header"),
    );
    response
}

/// The parameters of a GraphQL request, checked for shape.
struct Params {
    query: String,
    variables: Variables,
    operation_name: Option<String>,
}

impl Params {
    fn into_request(self) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(self.query).variables(self.variables);
        request.operation_name = self.operation_name;
        request
    }
}

/// Why a request's parameters cannot be used.
#[derive(Debug)]
enum BadParams {
    /// Malformed: a 400 whatever the media type.
    Shape(String),
    /// Names a persisted query this server does not have.
    Persisted(Refused),
}

impl From<String> for BadParams {
    fn from(reason: String) -> Self {
        Self::Shape(reason)
    }
}

impl From<&str> for BadParams {
    fn from(reason: &str) -> Self {
        Self::Shape(reason.to_owned())
    }
}

impl BadParams {
    fn into_response(self, media: MediaType) -> Response {
        match self {
            Self::Shape(reason) => refusal(StatusCode::BAD_REQUEST, media, "BAD_REQUEST", reason),
            Self::Persisted(refused) => refusal(
                request_error_status(media),
                media,
                refused.code,
                refused.message,
            ),
        }
    }
}

/// The parameters of a JSON request; without `query`, the persisted operation the
/// request names by id.
fn params_from_json(body: &Value, persisted: &PersistedQueries) -> Result<Params, BadParams> {
    let Some(object) = body.as_object() else {
        return Err("the request body must be a JSON object".into());
    };
    let query = match object.get("query") {
        Some(Value::String(q)) => q.clone(),
        Some(_) => return Err("query must be a string".into()),
        None => match persisted.requested(object) {
            Some(Ok(document)) => document.to_string(),
            Some(Err(refused)) => return Err(BadParams::Persisted(refused)),
            None => return Err("query (or a persisted query's id) is required".into()),
        },
    };
    let variables = match object.get("variables") {
        None | Some(Value::Null) => Variables::default(),
        Some(v @ Value::Object(_)) => Variables::from_json(v.clone()),
        Some(_) => return Err("variables must be an object".into()),
    };
    let operation_name = match object.get("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(_) => return Err("operationName must be a string".into()),
    };
    match object.get("extensions") {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => return Err("extensions must be an object".into()),
    }
    Ok(Params {
        query,
        variables,
        operation_name,
    })
}

/// GET parameters arrive URL-encoded, `variables` and `extensions` as JSON text.
fn params_from_query_string(raw: &str, persisted: &PersistedQueries) -> Result<Params, BadParams> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw).map_err(|e| format!("bad query string: {e}"))?;
    let mut object = Map::new();
    for (key, value) in pairs {
        let parsed = match key.as_str() {
            "variables" | "extensions" => serde_json::from_str(&value)
                .map_err(|_| format!("{key} must be a JSON-encoded object"))?,
            _ => Value::String(value),
        };
        object.insert(key, parsed);
    }
    params_from_json(&Value::Object(object), persisted)
}

/// A request error (the request never ran) is a 400 for clients that accept
/// `application/graphql-response+json`, a 200 with errors for the others.
fn request_error_status(media: MediaType) -> StatusCode {
    match media {
        MediaType::GraphqlResponse => StatusCode::BAD_REQUEST,
        MediaType::Json => StatusCode::OK,
    }
}

/// What parsing the document told us before execution.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Parsed {
    /// The document does not parse.
    Malformed,
    /// It parses; the operation to run has type `kind`, if one is selected,
    /// selects `aliases` aliased fields (fragments expanded), and asks for the
    /// schema (`__schema`, `__type`) if `introspection`.
    Operation {
        kind: Option<OperationType>,
        aliases: usize,
        introspection: bool,
    },
}

impl Parsed {
    fn kind(self) -> Option<OperationType> {
        match self {
            Parsed::Operation { kind, .. } => kind,
            Parsed::Malformed => None,
        }
    }
}

/// Parses the document and looks at the operation to run; also returns its name
/// (anonymous operations have none).
fn parse(query: &str, operation_name: Option<&str>) -> (Parsed, Option<String>) {
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return (Parsed::Malformed, None);
    };
    let (name, operation) = match &document.operations {
        DocumentOperations::Single(op) => (None, Some(op)),
        DocumentOperations::Multiple(ops) => match operation_name {
            Some(name) => (Some(name.to_owned()), ops.get(name)),
            None if ops.len() == 1 => ops.iter().next().map_or((None, None), |(name, op)| {
                (Some(name.to_string()), Some(op))
            }),
            None => (None, None),
        },
    };
    let mut walk = SelectionWalk {
        document: &document,
        visited: 0,
        aliases: 0,
        introspection: false,
    };
    if let Some(op) = operation {
        walk.walk(&op.node.selection_set.node);
    }
    let parsed = Parsed::Operation {
        kind: operation.map(|op| op.node.ty),
        aliases: walk.aliases,
        introspection: walk.introspection,
    };
    (parsed, name)
}

/// Walks an operation's selections with fragment spreads expanded, counting
/// aliased fields and noting introspection. Expansion stops after a fixed number
/// of selections, so fragment cycles (refused by validation later) and fan-outs
/// cannot make the walk itself expensive; the complexity limit refuses documents
/// that large anyway.
struct SelectionWalk<'d> {
    document: &'d async_graphql::parser::types::ExecutableDocument,
    visited: usize,
    aliases: usize,
    introspection: bool,
}

impl SelectionWalk<'_> {
    const MAX_VISITS: usize = 10_000;

    fn walk(&mut self, set: &async_graphql::parser::types::SelectionSet) {
        use async_graphql::parser::types::Selection;
        for item in &set.items {
            self.visited += 1;
            if self.visited > Self::MAX_VISITS {
                return;
            }
            match &item.node {
                Selection::Field(field) => {
                    self.aliases += usize::from(field.node.alias.is_some());
                    self.introspection |=
                        matches!(field.node.name.node.as_str(), "__schema" | "__type");
                    self.walk(&field.node.selection_set.node);
                }
                Selection::InlineFragment(inline) => self.walk(&inline.node.selection_set.node),
                Selection::FragmentSpread(spread) => {
                    let document = self.document;
                    if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node)
                    {
                        self.walk(&fragment.node.selection_set.node);
                    }
                }
            }
        }
    }
}

fn operation_label(parsed: Parsed) -> &'static str {
    match parsed.kind() {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "invalid",
    }
}

async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let raw = raw.unwrap_or_default();
    if raw.is_empty() && wants_html(&headers) && state.context.settings.graphiql {
        return Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .subscription_endpoint("/graphql/ws")
                .title("Retain")
                .finish(),
        )
        .into_response();
    }
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let principal = match caller(&state, &headers, media).await {
        Ok(principal) => principal,
        Err(refused) => return refused,
    };
    let params = match params_from_query_string(&raw, &state.context.persisted) {
        Ok(params) => params,
        Err(bad) => return bad.into_response(media),
    };
    let (parsed, _) = parse(&params.query, params.operation_name.as_deref());
    if parsed.kind() == Some(OperationType::Mutation) {
        let mut response = refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            "METHOD_NOT_ALLOWED",
            "mutations must be sent with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, media, params.into_request(), principal).await
}

async fn graphql_post(State(state): State<AppState>, request: Request) -> Response {
    let headers = request.headers().clone();
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let principal = match caller(&state, &headers, media).await {
        Ok(principal) => principal,
        Err(refused) => return refused,
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with(MULTIPART) {
        return graphql_multipart(&state, media, &content_type, request, principal).await;
    }
    let mut parts = content_type.split(';').map(str::trim);
    let is_json = parts.next() == Some(JSON);
    let utf8 = parts.all(|p| !p.starts_with("charset=") || p == "charset=utf-8");
    if !is_json || !utf8 {
        return refusal(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "UNSUPPORTED_MEDIA_TYPE",
            "send GraphQL requests as application/json (UTF-8), or multipart/form-data with files",
        );
    }
    let limit = state.context.settings.limits.max_body_bytes;
    let body: Bytes = match axum::body::to_bytes(request.into_body(), limit).await {
        Ok(body) => body,
        Err(_) => {
            return refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                media,
                "PAYLOAD_TOO_LARGE",
                format!("the request body exceeds {limit} bytes"),
            );
        }
    };
    let json: Value = match serde_json::from_slice(&body) {
        Ok(json) => json,
        Err(e) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                media,
                "BAD_REQUEST",
                format!("the request body is not valid JSON: {e}"),
            );
        }
    };
    let params = match params_from_json(&json, &state.context.persisted) {
        Ok(params) => params,
        Err(bad) => return bad.into_response(media),
    };
    execute(&state, media, params.into_request(), principal).await
}

/// A request with file uploads, per the GraphQL multipart request spec
/// (`operations`, `map`, then the files). Uploads may be as large as a plugin
/// component; everything else keeps the usual body limit.
async fn graphql_multipart(
    state: &AppState,
    media: MediaType,
    content_type: &str,
    request: Request,
    principal: Principal,
) -> Response {
    let settings = &state.context.settings;
    let limit = settings.limits.max_body_bytes + settings.plugins.max_component_bytes;
    let body: Bytes = match axum::body::to_bytes(request.into_body(), limit).await {
        Ok(body) => body,
        Err(_) => {
            return refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                media,
                "PAYLOAD_TOO_LARGE",
                format!("the request body exceeds {limit} bytes"),
            );
        }
    };
    let options = MultipartOptions::default()
        .max_file_size(settings.plugins.max_component_bytes)
        .max_num_files(1);
    match async_graphql::http::receive_body(
        Some(content_type),
        futures::io::Cursor::new(body),
        options,
    )
    .await
    {
        Ok(request) => execute(state, media, request, principal).await,
        Err(async_graphql::ParseRequestError::PayloadTooLarge) => refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            media,
            "PAYLOAD_TOO_LARGE",
            format!(
                "an uploaded file exceeds {} bytes",
                settings.plugins.max_component_bytes
            ),
        ),
        Err(err) => refusal(
            StatusCode::BAD_REQUEST,
            media,
            "BAD_REQUEST",
            format!("the multipart request is malformed: {err}"),
        ),
    }
}

fn not_acceptable() -> Response {
    let mut response = (
        StatusCode::NOT_ACCEPTABLE,
        format!("accept {GRAPHQL_RESPONSE} or {JSON}"),
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Runs the request for `principal` and shapes the response per the negotiated
/// media type.
async fn execute(
    state: &AppState,
    media: MediaType,
    request: async_graphql::Request,
    principal: Principal,
) -> Response {
    let started = Instant::now();
    let context = &state.context;
    let limits = &context.settings.limits;
    let (parsed, operation_name) = parse(&request.query, request.operation_name.as_deref());
    if let Parsed::Operation {
        introspection: true,
        ..
    } = parsed
        && !context.settings.introspection
    {
        return refusal(
            StatusCode::BAD_REQUEST,
            media,
            INTROSPECTION_DISABLED,
            "introspection is disabled on this server",
        );
    }
    if let Parsed::Operation { aliases, .. } = parsed
        && aliases > limits.max_aliases
    {
        return refusal(
            StatusCode::BAD_REQUEST,
            media,
            TOO_MANY_ALIASES,
            format!(
                "the operation uses {aliases} aliases; at most {} are allowed",
                limits.max_aliases
            ),
        );
    }
    let request = request.data(Arc::new(loaders(state))).data(principal);
    let timeout = Duration::from_millis(limits.request_timeout_ms);
    let Ok(response) = tokio::time::timeout(timeout, state.schema.execute(request)).await else {
        // Dropping the execution rolls back any transaction it had open.
        return refusal(
            StatusCode::GATEWAY_TIMEOUT,
            media,
            REQUEST_TIMEOUT,
            format!(
                "the request ran longer than {} ms",
                limits.request_timeout_ms
            ),
        );
    };

    // A request error (parse, validation, variable coercion) never starts execution:
    // no data, and no error carries a path.
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let mut body = serde_json::to_value(&response).expect("a GraphQL response serialises");
    let mut all_unavailable = !response.errors.is_empty();
    if let Some(errors) = body.get_mut("errors").and_then(Value::as_array_mut) {
        for error in errors {
            let code = label_error(error, request_error, parsed);
            all_unavailable &= code == SERVICE_UNAVAILABLE;
            context
                .metrics
                .graphql_errors
                .get_or_create(&ErrorLabels { code })
                .inc();
        }
    }
    // Nothing could be answered because the database is down: say so in HTTP
    // too, so load balancers and clients retry.
    let status = if all_unavailable && response.data == async_graphql::Value::Null {
        StatusCode::SERVICE_UNAVAILABLE
    } else if request_error {
        if let Some(object) = body.as_object_mut() {
            object.remove("data");
        }
        request_error_status(media)
    } else {
        StatusCode::OK
    };
    let labels = OperationLabels {
        operation: operation_label(parsed).to_string(),
        name: context.metrics.operation_name(operation_name.as_deref()),
    };
    context
        .metrics
        .graphql_requests
        .get_or_create(&labels)
        .inc();
    context
        .metrics
        .graphql_duration
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    json_response(status, media, &body)
}

/// Gives every error an `extensions.code` (resolvers set theirs; request errors get
/// one from their kind) and returns it.
fn label_error(error: &mut Value, request_error: bool, parsed: Parsed) -> String {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let extensions = error
        .as_object_mut()
        .expect("errors are objects")
        .entry("extensions")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(code) = extensions.get("code").and_then(Value::as_str) {
        return code.to_string();
    }
    let code = if !request_error {
        "INTERNAL_SERVER_ERROR"
    } else if parsed == Parsed::Malformed {
        "GRAPHQL_PARSE_FAILED"
    } else if message.contains("nested too deep") {
        "QUERY_TOO_DEEP"
    } else if message.contains("too complex") {
        "QUERY_TOO_COMPLEX"
    } else {
        "GRAPHQL_VALIDATION_FAILED"
    };
    extensions
        .as_object_mut()
        .expect("extensions are objects")
        .insert("code".into(), Value::String(code.into()));
    code.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn accept_header_negotiation() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json));
        assert_eq!(negotiate(&accept("*/*")), Some(MediaType::Json));
        assert_eq!(
            negotiate(&accept(
                "application/json, application/graphql-response+json;q=0.9"
            )),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(negotiate(&accept("text/html")), None);
        assert_eq!(
            negotiate(&accept("application/graphql-response+json;q=0, */*")),
            Some(MediaType::Json)
        );
    }

    /// The reason a body is refused as malformed.
    fn shape_error(body: Value) -> String {
        match params_from_json(&body, &PersistedQueries::default()) {
            Err(BadParams::Shape(reason)) => reason,
            Err(BadParams::Persisted(refused)) => panic!("not a shape error: {refused:?}"),
            Ok(_) => panic!("{body} was accepted"),
        }
    }

    #[test]
    fn parameters_are_checked_for_shape() {
        let none = PersistedQueries::default();
        assert!(
            params_from_json(
                &json!({"query": "{ __typename }", "variables": null}),
                &none
            )
            .is_ok()
        );
        assert_eq!(shape_error(json!({"query": 1})), "query must be a string");
        assert_eq!(
            shape_error(json!({"query": "{a}", "variables": "x"})),
            "variables must be an object"
        );
        assert_eq!(
            shape_error(json!([])),
            "the request body must be a JSON object"
        );
        assert_eq!(
            shape_error(json!({})),
            "query (or a persisted query's id) is required"
        );
        let get =
            params_from_query_string("query=%7B__typename%7D&variables=%7B%22a%22%3A1%7D", &none)
                .unwrap();
        assert_eq!(get.query, "{__typename}");
    }
}
