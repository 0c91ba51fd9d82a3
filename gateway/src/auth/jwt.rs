//! Tokens from the shop's own identity provider, accepted besides API keys for
//! frontends that already sign their users in: JWTs signed with HS256 (a shared
//! secret) or RS256 (the provider's public key), whose issuer, audience, expiry
//! and subject are checked, and whose role claim names a Retain role.
//!
//! Tokens are verified on every request (a signature check, no SQL statement);
//! they cannot be revoked here, so providers should issue short-lived ones.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use retain_schema::Role;
use sea_orm::Iterable;
use serde::Deserialize;

use crate::auth::{Principal, role_name};
use crate::config::JwtSettings;

/// Why a token was refused, in words the client may see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the token is refused: {0}")]
pub struct TokenRefused(pub String);

/// What this gateway reads from a token besides the standard claims.
#[derive(Debug, Deserialize)]
struct Claims {
    /// Optional here so that a missing subject is reported as such by the
    /// required-claims check, not as a malformed token.
    sub: Option<String>,
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

/// The configured keys and the checks every token passes.
pub struct JwtVerifier {
    hs256: Option<DecodingKey>,
    rs256: Option<DecodingKey>,
    issuer: String,
    audience: String,
    role_claim: String,
    leeway_secs: u64,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("hs256", &self.hs256.is_some())
            .field("rs256", &self.rs256.is_some())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl JwtVerifier {
    /// The verifier `settings` describe, or `None` when no key is configured. A
    /// key without an issuer and an audience is a configuration error: a token
    /// any other application of the provider got would pass otherwise.
    pub fn from_settings(settings: &JwtSettings) -> anyhow::Result<Option<Self>> {
        if settings.hs256_secret.is_none() && settings.rs256_public_key.is_none() {
            return Ok(None);
        }
        let (Some(issuer), Some(audience)) = (&settings.issuer, &settings.audience) else {
            anyhow::bail!("jwt: a key is configured, so jwt.issuer and jwt.audience are required");
        };
        let hs256 = settings
            .hs256_secret
            .as_ref()
            .map(|secret| {
                if secret.expose().len() < 32 {
                    anyhow::bail!("jwt.hs256_secret: must be at least 32 bytes");
                }
                DecodingKey::from_secret(secret.expose().as_bytes())
                    .map_err(|err| anyhow::anyhow!("jwt.hs256_secret: {err}"))
            })
            .transpose()?;
        let rs256 = settings
            .rs256_public_key
            .as_ref()
            .map(|path| {
                let pem = std::fs::read(path).map_err(|err| {
                    anyhow::anyhow!("jwt.rs256_public_key: reading {}: {err}", path.display())
                })?;
                DecodingKey::from_rsa_pem(&pem).map_err(|err| {
                    anyhow::anyhow!(
                        "jwt.rs256_public_key: {} is not a PEM RSA public key: {err}",
                        path.display()
                    )
                })
            })
            .transpose()?;
        Ok(Some(Self {
            hs256,
            rs256,
            issuer: issuer.clone(),
            audience: audience.clone(),
            role_claim: settings.role_claim.clone(),
            leeway_secs: settings.leeway_secs,
        }))
    }

    /// The caller a token names, if its signature and claims hold.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenRefused> {
        let refuse = |reason: &str| TokenRefused(reason.to_owned());
        let header = decode_header(token).map_err(|_| refuse("it is not a JWT"))?;
        let key = match header.alg {
            Algorithm::HS256 => self.hs256.as_ref(),
            Algorithm::RS256 => self.rs256.as_ref(),
            _ => None,
        }
        .ok_or_else(|| TokenRefused(format!("{:?} tokens are not accepted", header.alg)))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.leeway = self.leeway_secs;
        let claims = decode::<Claims>(token, key, &validation)
            .map_err(|err| TokenRefused(describe(err.kind())))?
            .claims;
        let subject = claims.sub.ok_or_else(|| refuse("it has no sub claim"))?;
        let role = claims
            .other
            .get(&self.role_claim)
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| TokenRefused(format!("it has no {} claim", self.role_claim)))?;
        let role = Role::iter()
            .find(|r| role_name(*r) == role)
            .ok_or_else(|| {
                let names: Vec<String> = Role::iter().map(role_name).collect();
                TokenRefused(format!(
                    "{} is {role:?}, not one of {}",
                    self.role_claim,
                    names.join(", ")
                ))
            })?;
        Ok(Principal {
            name: format!("jwt:{subject}"),
            role,
        })
    }
}

/// Why `jsonwebtoken` refused a token, without echoing the token.
fn describe(kind: &jsonwebtoken::errors::ErrorKind) -> String {
    use jsonwebtoken::errors::ErrorKind::*;
    match kind {
        InvalidSignature => "the signature does not match".into(),
        ExpiredSignature => "it has expired".into(),
        ImmatureSignature => "it is not valid yet".into(),
        InvalidIssuer => "it was issued by another issuer".into(),
        InvalidAudience => "it is meant for another audience".into(),
        MissingRequiredClaim(claim) => format!("it has no {claim} claim"),
        InvalidAlgorithm => "its algorithm does not match the key".into(),
        _ => "it is malformed".into(),
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    use super::*;
    use crate::config::Secret;

    const SECRET: &str = "a-shared-secret-of-at-least-32-bytes!";

    fn verifier() -> JwtVerifier {
        JwtVerifier::from_settings(&JwtSettings {
            hs256_secret: Some(Secret::new(SECRET)),
            issuer: Some("https://id.example.com".into()),
            audience: Some("retain".into()),
            ..JwtSettings::default()
        })
        .unwrap()
        .unwrap()
    }

    fn token(claims: serde_json::Value, secret: &str) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    fn claims() -> serde_json::Value {
        json!({
            "sub": "user-7", "iss": "https://id.example.com", "aud": "retain",
            "exp": jsonwebtoken::get_current_timestamp() + 600, "retain_role": "agent",
        })
    }

    fn with(change: serde_json::Value) -> serde_json::Value {
        let mut claims = claims();
        for (name, value) in change.as_object().unwrap() {
            claims[name] = value.clone();
        }
        claims
    }

    #[test]
    fn a_valid_token_names_its_subject_and_role() {
        let principal = verifier().verify(&token(claims(), SECRET)).unwrap();
        assert_eq!(principal.name, "jwt:user-7");
        assert_eq!(principal.role, Role::Agent);
    }

    #[test]
    fn every_failed_check_is_named() {
        let past = jsonwebtoken::get_current_timestamp() - 3600;
        let cases = [
            (
                token(claims(), "another-secret-of-at-least-32-bytes!!"),
                "the token is refused: the signature does not match",
            ),
            (
                token(with(json!({ "exp": past })), SECRET),
                "the token is refused: it has expired",
            ),
            (
                token(with(json!({ "iss": "https://evil.example.com" })), SECRET),
                "the token is refused: it was issued by another issuer",
            ),
            (
                token(with(json!({ "aud": "billing" })), SECRET),
                "the token is refused: it is meant for another audience",
            ),
            (
                token(with(json!({ "retain_role": "owner" })), SECRET),
                "the token is refused: retain_role is \"owner\", not one of viewer, agent, operator, strategist, admin",
            ),
            (
                token(with(json!({ "retain_role": null })), SECRET),
                "the token is refused: it has no retain_role claim",
            ),
            (
                "not.a.jwt".to_owned(),
                "the token is refused: it is not a JWT",
            ),
        ];
        for (token, message) in cases {
            assert_eq!(verifier().verify(&token).unwrap_err().to_string(), message);
        }
        let mut claims = claims();
        claims.as_object_mut().unwrap().remove("sub");
        assert_eq!(
            verifier()
                .verify(&token(claims, SECRET))
                .unwrap_err()
                .to_string(),
            "the token is refused: it has no sub claim"
        );
    }

    #[test]
    fn an_algorithm_without_a_key_is_refused() {
        let rs = encode(
            &Header::new(Algorithm::HS384),
            &claims(),
            &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(
            verifier().verify(&rs).unwrap_err().to_string(),
            "the token is refused: HS384 tokens are not accepted"
        );
    }

    #[test]
    fn keys_need_an_issuer_an_audience_and_length() {
        let without_audience = JwtSettings {
            hs256_secret: Some(Secret::new(SECRET)),
            issuer: Some("https://id.example.com".into()),
            ..JwtSettings::default()
        };
        assert!(JwtVerifier::from_settings(&without_audience).is_err());
        let short = JwtSettings {
            hs256_secret: Some(Secret::new("short")),
            issuer: Some("i".into()),
            audience: Some("a".into()),
            ..JwtSettings::default()
        };
        assert_eq!(
            JwtVerifier::from_settings(&short).unwrap_err().to_string(),
            "jwt.hs256_secret: must be at least 32 bytes"
        );
        assert!(
            JwtVerifier::from_settings(&JwtSettings::default())
                .unwrap()
                .is_none()
        );
    }
}
