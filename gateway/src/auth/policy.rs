//! The access policy: [`rule`] says what every field needs, and [`Policy`], a
//! schema extension, enforces it on every field of every operation — nested
//! fields included — before the resolver runs. Personal data is masked, not
//! refused, so a viewer's customer list still renders.
//!
//! Mutations fail closed: one missing from the table needs `admin`, and a test
//! checks that every mutation of the schema is listed on purpose.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{
    Context, ErrorExtensions, PathSegment, QueryPathNode, ServerError, ServerResult, Value,
};

use crate::auth::{Permission, Principal, role_name};

pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
pub const FORBIDDEN: &str = "FORBIDDEN";

/// The root types' names, as the schema calls them.
const QUERY: &str = "QueryRoot";
const MUTATION: &str = "MutationRoot";

/// What a field needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Require(Permission),
    /// Personal data: shown to holders of `ReadPii`, masked for everyone else.
    Personal(Mask),
}

/// How personal data is shown to those who may not read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mask {
    /// `a***@example.com`: enough to tell addresses apart, not to write to one.
    Email,
    /// `•••••••1234`: the last four digits, as on a receipt.
    Phone,
    /// Not shown at all (`null`).
    Hidden,
}

/// The rule for `field` of `parent_type`.
pub fn rule(parent_type: &str, field: &str) -> Rule {
    use Permission::*;
    let need = Rule::Require;
    match (parent_type, field) {
        // Fail closed: a mutation nobody listed needs admin.
        (MUTATION, _) => need(mutation_permission(field).unwrap_or(Admin)),
        (QUERY, "apiKeys" | "auditLog") => need(Admin),
        ("Customer", "email") => Rule::Personal(Mask::Email),
        ("Customer", "phone") => Rule::Personal(Mask::Phone),
        ("Customer", "birthday") => Rule::Personal(Mask::Hidden),
        _ => need(Read),
    }
}

/// The permission each mutation needs; `None` for one not listed (yet).
fn mutation_permission(mutation: &str) -> Option<Permission> {
    use Permission::*;
    Some(match mutation {
        "createCustomer" | "updateCustomer" => WriteCustomers,
        // Front-line agents redeem at the counter; only operators correct balances.
        "recordInteraction" | "submitFeedback" | "updateFeedbackStatus" | "redeemPoints" => Engage,
        "adjustPoints" => Commerce,
        "createProduct" | "updateProduct" | "placeOrder" | "updateOrderStatus" | "refundOrder"
        | "createCampaign" | "updateCampaign" | "launchCampaign" | "recordMessageEvent"
        | "retryMessage" | "recordReferral" => Commerce,
        "publishPlugin"
        | "publishRules"
        | "previewRules"
        | "activatePlugin"
        | "rollbackSlot"
        | "runSegmentation"
        | "shadowCompare"
        | "createExperiment"
        | "updateExperiment"
        | "startExperiment"
        | "stopExperiment"
        | "concludeExperiment"
        | "fitLifetimeValueModel" => Strategy,
        "eraseCustomer" | "createApiKey" | "revokeApiKey" => Admin,
        _ => return None,
    })
}

fn mask(mask: Mask, value: Value) -> Value {
    let Value::String(text) = value else {
        return Value::Null;
    };
    match mask {
        Mask::Email => match text.split_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                Value::String(format!("{first}***@{domain}"))
            }
            None => Value::Null,
        },
        Mask::Phone => {
            let digits: Vec<char> = text.chars().filter(char::is_ascii_digit).collect();
            let shown: String = digits[digits.len().saturating_sub(4)..].iter().collect();
            Value::String(format!("•••••••{shown}"))
        }
        Mask::Hidden => Value::Null,
    }
}

/// The caller may not do this: an error naming what was refused and which roles
/// may.
pub fn forbidden(
    principal: &Principal,
    what: &str,
    permission: Permission,
) -> async_graphql::Error {
    let roles: Vec<String> = permission.roles().iter().map(|r| role_name(*r)).collect();
    async_graphql::Error::new(format!(
        "{what}: the {} role may not do this (needs {})",
        role_name(principal.role),
        roles.join(" or ")
    ))
    .extend_with(|_, e| {
        e.set("code", FORBIDDEN);
        e.set("field", what);
    })
}

/// For the few checks a field's rule cannot express (filters on personal data):
/// `Ok` when the caller holds `permission`.
pub fn require(ctx: &Context<'_>, permission: Permission, what: &str) -> async_graphql::Result<()> {
    match ctx.data_opt::<Principal>() {
        Some(principal) if principal.may(permission) => Ok(()),
        Some(principal) => Err(forbidden(principal, what, permission)),
        None => Err(unauthenticated()),
    }
}

fn unauthenticated() -> async_graphql::Error {
    async_graphql::Error::new("send an API key as `Authorization: Bearer <key>`")
        .extend_with(|_, e| e.set("code", UNAUTHENTICATED))
}

/// The schema extension that applies [`rule`] to every field.
pub struct Policy;

impl ExtensionFactory for Policy {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PolicyExtension)
    }
}

struct PolicyExtension;

#[async_graphql::async_trait::async_trait]
impl Extension for PolicyExtension {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.is_for_introspection {
            return next.run(ctx, info).await;
        }
        let Some(principal) = ctx.data_opt::<Principal>() else {
            return Err(refusal(unauthenticated(), info.path_node));
        };
        match rule(info.parent_type, info.name) {
            Rule::Require(permission) if principal.may(permission) => next.run(ctx, info).await,
            Rule::Require(permission) => Err(refusal(
                forbidden(principal, info.name, permission),
                info.path_node,
            )),
            Rule::Personal(how) => {
                let value = next.run(ctx, info).await?;
                if principal.may(Permission::ReadPii) {
                    Ok(value)
                } else {
                    Ok(value.map(|v| mask(how, v)))
                }
            }
        }
    }
}

/// A refusal at `path`, as a resolver's own error would carry it.
fn refusal(error: async_graphql::Error, path: &QueryPathNode<'_>) -> ServerError {
    let mut refused = ServerError::new(error.message, None);
    refused.extensions = error.extensions;
    refused.path = path
        .to_string_vec()
        .into_iter()
        .map(|segment| match segment.parse::<usize>() {
            Ok(index) => PathSegment::Index(index),
            Err(_) => PathSegment::Field(segment),
        })
        .collect();
    refused
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields of the schema's `type_name`, from the exported SDL.
    fn fields_of(type_name: &str) -> Vec<String> {
        use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
        let document = async_graphql::parser::parse_schema(crate::graphql::sdl()).unwrap();
        document
            .definitions
            .into_iter()
            .find_map(|definition| match definition {
                TypeSystemDefinition::Type(ty) if ty.node.name.node == type_name => {
                    match ty.node.kind {
                        TypeKind::Object(object) => Some(object.fields),
                        _ => None,
                    }
                }
                _ => None,
            })
            .expect("the root type exists")
            .into_iter()
            .map(|field| field.node.name.node.to_string())
            .collect()
    }

    #[test]
    fn every_mutation_has_a_deliberate_rule() {
        for name in fields_of(MUTATION) {
            assert!(
                mutation_permission(&name).is_some(),
                "mutation {name} has no rule in auth::policy: decide who may call it"
            );
        }
        assert!(fields_of(QUERY).contains(&"auditLog".to_string()));
    }

    #[test]
    fn personal_data_is_masked() {
        let s = |t: &str| Value::String(t.into());
        assert_eq!(
            mask(Mask::Email, s("ana@example.com")),
            s("a***@example.com")
        );
        assert_eq!(mask(Mask::Phone, s("+86 138 0013 8000")), s("•••••••8000"));
        assert_eq!(mask(Mask::Hidden, s("1990-05-01")), Value::Null);
        assert_eq!(mask(Mask::Email, Value::Null), Value::Null);
    }
}
