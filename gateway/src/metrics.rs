//! Prometheus metrics, rendered at `/metrics`.

use std::collections::HashSet;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// `query`, `mutation`, `subscription`, or `invalid` when the request never ran.
    pub operation: String,
    /// The operation's name (see [`Metrics::operation_name`]).
    pub name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginLabels {
    /// `name@version`.
    pub plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PluginCallLabels {
    pub plugin: String,
    /// `ok`, or the failure: `deadline`, `memory`, `trap`, `refused`, `bad_output`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SlotLabels {
    pub slot: String,
    /// The version the slot serves now (`name@version`).
    pub plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub channel: String,
    /// `sent`, `retry` (failed, tried again later) or `dead`.
    pub outcome: String,
}

/// Distinct operation names labelled before the rest count as `other`: names
/// come from clients, and each one is a new time series.
const OPERATION_NAMES_KEPT: usize = 200;
/// Longer names are more likely generated than written by a frontend team.
const OPERATION_NAME_MAX_LEN: usize = 64;

/// Every metric the gateway exports.
pub struct Metrics {
    registry: Registry,
    /// SQL statements sent to the database; lets tests and benchmarks prove that
    /// nested queries cost a fixed number of statements.
    pub sql_statements: Counter,
    pub graphql_requests: Family<OperationLabels, Counter>,
    pub graphql_duration: Family<OperationLabels, Histogram>,
    pub graphql_errors: Family<ErrorLabels, Counter>,
    pub plugin_calls: Family<PluginCallLabels, Counter>,
    pub plugin_call_duration: Family<PluginLabels, Histogram>,
    pub plugin_quarantines: Family<PluginLabels, Counter>,
    /// 1 for the version each slot serves.
    pub slot_serving: Family<SlotLabels, Gauge>,
    pub database_connections: Gauge,
    pub database_connections_idle: Gauge,
    /// Campaign message delivery attempts by channel and outcome.
    pub campaign_messages: Family<DeliveryLabels, Counter>,
    operation_names: Mutex<HashSet<String>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("retain");
        let sql_statements = Counter::default();
        registry.register(
            "sql_statements",
            "SQL statements executed",
            sql_statements.clone(),
        );
        let graphql_requests = Family::<OperationLabels, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL requests by operation type and name",
            graphql_requests.clone(),
        );
        let graphql_duration = Family::<OperationLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0002, 2.0, 16))
        });
        registry.register(
            "graphql_request_duration_seconds",
            "GraphQL request latency by operation type and name",
            graphql_duration.clone(),
        );
        let graphql_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "graphql_errors",
            "GraphQL errors by extensions.code",
            graphql_errors.clone(),
        );
        let plugin_calls = Family::<PluginCallLabels, Counter>::default();
        registry.register(
            "plugin_calls",
            "Strategy plugin calls by version and outcome",
            plugin_calls.clone(),
        );
        let plugin_call_duration = Family::<PluginLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.00002, 2.0, 16))
        });
        registry.register(
            "plugin_call_duration_seconds",
            "Strategy plugin call latency by version, instantiation included",
            plugin_call_duration.clone(),
        );
        let plugin_quarantines = Family::<PluginLabels, Counter>::default();
        registry.register(
            "plugin_quarantines",
            "Versions this replica quarantined",
            plugin_quarantines.clone(),
        );
        let slot_serving = Family::<SlotLabels, Gauge>::default();
        registry.register(
            "slot_serving",
            "The version each slot serves (1)",
            slot_serving.clone(),
        );
        let database_connections = Gauge::default();
        registry.register(
            "database_connections",
            "Open pooled database connections",
            database_connections.clone(),
        );
        let database_connections_idle = Gauge::default();
        registry.register(
            "database_connections_idle",
            "Idle pooled database connections",
            database_connections_idle.clone(),
        );
        let campaign_messages = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "campaign_messages",
            "Campaign message delivery attempts by channel and outcome",
            campaign_messages.clone(),
        );
        Self {
            registry,
            sql_statements,
            graphql_requests,
            graphql_duration,
            graphql_errors,
            plugin_calls,
            plugin_call_duration,
            plugin_quarantines,
            slot_serving,
            database_connections,
            database_connections_idle,
            campaign_messages,
            operation_names: Mutex::default(),
        }
    }
}

impl Metrics {
    /// The label for an operation `name`: itself, `anonymous`, or `other` once
    /// [`OPERATION_NAMES_KEPT`] names are in use or for an unusually long name.
    pub fn operation_name(&self, name: Option<&str>) -> String {
        let Some(name) = name else {
            return "anonymous".into();
        };
        if name.len() > OPERATION_NAME_MAX_LEN {
            return "other".into();
        }
        let mut names = self.operation_names.lock().expect("operation names lock");
        if names.contains(name) || names.len() < OPERATION_NAMES_KEPT {
            names.insert(name.to_owned());
            name.to_owned()
        } else {
            "other".into()
        }
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_are_bounded() {
        let metrics = Metrics::default();
        assert_eq!(metrics.operation_name(None), "anonymous");
        assert_eq!(metrics.operation_name(Some(&"x".repeat(65))), "other");
        for index in 0..OPERATION_NAMES_KEPT {
            let name = format!("Op{index}");
            assert_eq!(metrics.operation_name(Some(&name)), name);
        }
        assert_eq!(metrics.operation_name(Some("OneTooMany")), "other");
        assert_eq!(metrics.operation_name(Some("Op0")), "Op0");
    }
}
