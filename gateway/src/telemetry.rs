//! Logs and traces: `tracing` events to stderr as text or JSON, and, when a
//! collector is configured, every span exported with OpenTelemetry (OTLP over
//! HTTP) so a request can be followed across the gateway, its database calls
//! and its plugin calls.

use std::io::IsTerminal;

use anyhow::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider;
use opentelemetry_http::HeaderExtractor;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{LogFormat, TelemetrySettings};

/// Keeps the span exporter alive; dropping it sends what is still buffered.
#[must_use = "dropping the guard stops exporting spans"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("exporting the last spans failed: {error}");
        }
    }
}

/// Installs the global subscriber: the log filter from `RETAIN_LOG` (default
/// `info,sqlx=warn`), logs in `format`, and spans to the collector if one is
/// configured.
pub fn init(format: LogFormat, settings: &TelemetrySettings) -> anyhow::Result<Telemetry> {
    let filter =
        EnvFilter::try_from_env("RETAIN_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Json => logs.json().boxed(),
        LogFormat::Text => logs.boxed(),
    };
    let (traces, provider) = match &settings.otlp_endpoint {
        Some(endpoint) => {
            let (layer, provider) = otlp_layer(endpoint, settings)?;
            (Some(layer), Some(provider))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(traces)
        .with(logs.with_filter(filter))
        .try_init()
        .context("installing the log subscriber")?;
    Ok(Telemetry { provider })
}

/// A layer exporting spans to the OTLP/HTTP collector at `endpoint` (its base
/// URL, e.g. `http://collector:4318`), and the provider that batches them.
pub fn otlp_layer(
    endpoint: &str,
    settings: &TelemetrySettings,
) -> anyhow::Result<(Box<dyn Layer<Registry> + Send + Sync>, SdkTracerProvider)> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .with_headers(
            (settings.otlp_headers.iter())
                .map(|(name, value)| (name.clone(), value.expose().to_owned()))
                .collect(),
        )
        .build()
        .with_context(|| format!("telemetry.otlp_endpoint: cannot export to {endpoint}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(settings.service_name.clone())
                .build(),
        )
        .build();
    let tracer = provider.tracer("retain");
    // Spans only: logs already go to stderr, and exporting every database
    // statement's debug event would swamp the collector.
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
        .boxed();
    Ok((layer, provider))
}

/// Makes `span` a child of the caller's trace when the request carries a W3C
/// `traceparent` header, so a frontend's trace continues through the gateway.
pub fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    // Without an exporter there is no trace to continue; that is not an error.
    let _ = span.set_parent(parent);
}
