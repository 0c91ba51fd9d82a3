//! Persisted queries: operations a frontend registers ahead of time, in an Apollo
//! persisted-query manifest produced by its build. Clients may send an operation's
//! id instead of its text (`extensions.persistedQuery.sha256Hash`, as Apollo Client
//! does, or `documentId`, as the GraphQL-over-HTTP proposal does). In allow-list
//! mode the gateway runs nothing else, so a leaked key cannot be used to send
//! arbitrary, expensive documents; admin keys stay exempt so operators can still
//! investigate with GraphiQL.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerError, ServerResult, Variables};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::auth::{Permission, Principal};
use crate::config::PersistedQuerySettings;

pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
pub const PERSISTED_QUERY_NOT_ALLOWED: &str = "PERSISTED_QUERY_NOT_ALLOWED";

/// The manifest's format, as `@apollo/generate-persisted-query-manifest` writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    format: String,
    version: u32,
    operations: Vec<ManifestOperation>,
}

#[derive(Deserialize)]
struct ManifestOperation {
    id: String,
    body: String,
}

/// A manifest that cannot be used, with the reason.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("persisted_queries.allow_list needs persisted_queries.manifest")]
    AllowListWithoutManifest,
    #[error("cannot read the persisted-query manifest {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("persisted-query manifest {path}: {reason}")]
    Invalid { path: String, reason: String },
}

/// Why a request's document was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

/// The registered operations, by the hex SHA-256 of their text.
#[derive(Debug, Default)]
pub struct PersistedQueries {
    documents: HashMap<String, Arc<str>>,
    allow_list: bool,
}

impl PersistedQueries {
    pub fn load(settings: &PersistedQuerySettings) -> Result<Self, ManifestError> {
        let Some(path) = &settings.manifest else {
            if settings.allow_list {
                return Err(ManifestError::AllowListWithoutManifest);
            }
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).map_err(|error| ManifestError::Unreadable {
            path: path.display().to_string(),
            reason: error.to_string(),
        })?;
        Self::parse(&text, settings.allow_list).map_err(|reason| ManifestError::Invalid {
            path: path.display().to_string(),
            reason,
        })
    }

    fn parse(text: &str, allow_list: bool) -> Result<Self, String> {
        let manifest: Manifest =
            serde_json::from_str(text).map_err(|error| format!("not a manifest: {error}"))?;
        if manifest.format != "apollo-persisted-query-manifest" || manifest.version != 1 {
            return Err(format!(
                "format {:?} version {} is not apollo-persisted-query-manifest version 1",
                manifest.format, manifest.version
            ));
        }
        let mut documents = HashMap::new();
        for (index, operation) in manifest.operations.into_iter().enumerate() {
            let hash = sha256_hex(&operation.body);
            // The id is what clients send; it must name the text it stands for, or a
            // client could be served another operation than the one it was built with.
            if operation.id != hash {
                return Err(format!(
                    "operations[{index}].id is {}, but the SHA-256 of its body is {hash}",
                    operation.id
                ));
            }
            documents.insert(hash, Arc::from(operation.body));
        }
        Ok(Self {
            documents,
            allow_list,
        })
    }

    /// The text of the operation a request names by id: `documentId`
    /// (`sha256:<hex>` or `<hex>`) or `extensions.persistedQuery.sha256Hash`.
    /// `None` when the request names none.
    pub fn requested(
        &self,
        request: &serde_json::Map<String, Value>,
    ) -> Option<Result<Arc<str>, Refused>> {
        let id = requested_id(request)?;
        let found = id.and_then(|id| {
            let hex = id.strip_prefix("sha256:").unwrap_or(id);
            self.documents.get(&hex.to_ascii_lowercase()).cloned()
        });
        Some(found.ok_or_else(|| {
            Refused {
                code: PERSISTED_QUERY_NOT_FOUND,
                message:
                    "the persisted query is not registered on this server; send its full text \
                      or register it in the manifest"
                        .into(),
            }
        }))
    }

    /// The schema extension that enforces allow-list mode, when it is on.
    pub fn allow_list(self: &Arc<Self>) -> Option<AllowList> {
        self.allow_list.then(|| AllowList(Arc::clone(self)))
    }
}

/// Refuses, on every transport (HTTP and subscriptions), any document that is not a
/// registered operation, unless the caller is an admin.
pub struct AllowList(Arc<PersistedQueries>);

impl ExtensionFactory for AllowList {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AllowListExtension(Arc::clone(&self.0)))
    }
}

struct AllowListExtension(Arc<PersistedQueries>);

#[async_graphql::async_trait::async_trait]
impl Extension for AllowListExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let exempt = ctx
            .data_opt::<Principal>()
            .is_some_and(|principal| principal.may(Permission::Admin));
        if exempt || self.0.documents.contains_key(&sha256_hex(query)) {
            return next.run(ctx, query, variables).await;
        }
        let mut refused = ServerError::new(
            "this server runs registered operations only; send a registered operation's \
             id or its exact text",
            None,
        );
        refused.extensions = Some({
            let mut extensions = async_graphql::ErrorExtensionValues::default();
            extensions.set("code", PERSISTED_QUERY_NOT_ALLOWED);
            extensions
        });
        Err(refused)
    }
}

/// The id field a request carries, if any: `Some(None)` when one is present but is
/// not a string.
fn requested_id(request: &serde_json::Map<String, Value>) -> Option<Option<&str>> {
    if let Some(id) = request.get("documentId") {
        return Some(id.as_str());
    }
    let hash = request
        .get("extensions")?
        .get("persistedQuery")?
        .get("sha256Hash")?;
    Some(hash.as_str())
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const QUERY: &str = "query Me { customers(first: 1) { totalCount } }";

    fn manifest(id: &str) -> String {
        json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{ "id": id, "name": "Me", "type": "query", "body": QUERY }],
        })
        .to_string()
    }

    fn request(value: Value) -> serde_json::Map<String, Value> {
        value.as_object().expect("an object").clone()
    }

    #[test]
    fn operations_are_found_by_either_id_form() {
        let hash = sha256_hex(QUERY);
        let persisted = PersistedQueries::parse(&manifest(&hash), false).unwrap();
        let apollo = request(json!({
            "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } }
        }));
        assert_eq!(&*persisted.requested(&apollo).unwrap().unwrap(), QUERY);
        let document_id = request(json!({ "documentId": format!("sha256:{hash}") }));
        assert_eq!(&*persisted.requested(&document_id).unwrap().unwrap(), QUERY);
        assert!(
            persisted
                .requested(&request(json!({ "query": QUERY })))
                .is_none()
        );
    }

    #[test]
    fn unknown_and_malformed_ids_are_not_found() {
        let persisted = PersistedQueries::parse(&manifest(&sha256_hex(QUERY)), false).unwrap();
        for body in [
            json!({ "documentId": "sha256:00" }),
            json!({ "documentId": 7 }),
            json!({ "extensions": { "persistedQuery": { "sha256Hash": null } } }),
        ] {
            let refused = persisted.requested(&request(body)).unwrap().unwrap_err();
            assert_eq!(refused.code, PERSISTED_QUERY_NOT_FOUND);
        }
    }

    #[test]
    fn a_manifest_id_must_be_the_hash_of_its_body() {
        let error = PersistedQueries::parse(&manifest("abc"), true).unwrap_err();
        assert_eq!(
            error,
            format!(
                "operations[0].id is abc, but the SHA-256 of its body is {}",
                sha256_hex(QUERY)
            )
        );
    }

    #[test]
    fn other_manifest_formats_are_refused() {
        let error = PersistedQueries::parse(
            &json!({ "format": "relay", "version": 1, "operations": [] }).to_string(),
            true,
        )
        .unwrap_err();
        assert!(
            error.contains("not apollo-persisted-query-manifest version 1"),
            "{error}"
        );
    }

    #[test]
    fn allow_list_mode_needs_a_manifest() {
        let settings = PersistedQuerySettings {
            manifest: None,
            allow_list: true,
        };
        assert!(matches!(
            PersistedQueries::load(&settings),
            Err(ManifestError::AllowListWithoutManifest)
        ));
    }
}
