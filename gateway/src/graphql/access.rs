//! API keys and the audit log, for admins.

use async_graphql::{Context, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use retain_schema::{Role, api_key, audit_entry};
use sea_orm::{ColumnTrait, Condition};

use crate::app::{app_context, caller};
use crate::graphql::connection::Conn;
use crate::graphql::errors::GqlResultExt;
use crate::graphql::pages::{PageArgs, list_connection};
use crate::paging::{SortKey, SortValue};
use crate::services::api_keys;

pub struct ApiKey(api_key::Model);

/// A key that lets a client call the API with a role. The key itself is shown
/// only once, by `createApiKey`.
#[Object]
impl ApiKey {
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn role(&self) -> Role {
        self.0.role
    }
    /// The key's first characters, to recognise it by; not enough to use it.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

pub struct AuditEntry(audit_entry::Model);

/// A privileged change: who made it, what it was, and when.
#[Object]
impl AuditEntry {
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// `key:NAME`, or `cli` for the command line.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    async fn actor_role(&self) -> Role {
        self.0.actor_role
    }
    /// e.g. `plugin.activate`, `customer.erase`, `key.revoke`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    async fn target(&self) -> &str {
        &self.0.target
    }
    async fn detail(&self) -> Json<serde_json::Value> {
        Json(self.0.detail.clone())
    }
}

/// A new key: store `key` now, it cannot be shown again.
#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    pub api_key: ApiKey,
    pub key: String,
}

#[derive(Default)]
pub struct AccessQuery;

#[Object]
impl AccessQuery {
    /// Every API key, newest first.
    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<ApiKey>> {
        let db = &app_context(ctx).db;
        Ok(api_keys::list(db)
            .await
            .gql()?
            .into_iter()
            .map(ApiKey)
            .collect())
    }

    /// Privileged changes, newest first; `action` keeps one kind.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(0) as usize * child_complexity + 1")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        action: Option<String>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<AuditEntry>> {
        let mut condition = Condition::all();
        if let Some(action) = action {
            condition = condition.add(audit_entry::Column::Action.eq(action));
        }
        let sort: SortKey<audit_entry::Entity> = SortKey {
            column: audit_entry::Column::Id,
            id_column: audit_entry::Column::Id,
            descending: true,
            value: |m: &audit_entry::Model| SortValue::Int(m.id),
            id: |m: &audit_entry::Model| m.id,
        };
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        list_connection(ctx, condition, sort, args, AuditEntry).await
    }
}

#[derive(Default)]
pub struct AccessMutation;

#[Object]
impl AccessMutation {
    /// Creates a key with `role`. The answer holds the key, which is stored only
    /// as a hash: keep it now.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        name: String,
        role: Role,
    ) -> Result<CreateApiKeyPayload> {
        let db = &app_context(ctx).db;
        let created = api_keys::create(db, &name, role, caller(ctx)?, Utc::now())
            .await
            .gql()?;
        Ok(CreateApiKeyPayload {
            api_key: ApiKey(created.key),
            key: created.secret,
        })
    }

    /// Revokes the key with this name or prefix; requests with it fail at once.
    async fn revoke_api_key(&self, ctx: &Context<'_>, key: String) -> Result<ApiKey> {
        let app = app_context(ctx);
        let revoked = api_keys::revoke(&app.db, &key, caller(ctx)?, Utc::now())
            .await
            .gql()?;
        app.keys.forget(&revoked.prefix);
        Ok(ApiKey(revoked))
    }
}
