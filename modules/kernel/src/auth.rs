//! Access tokens: short-lived signed JWTs naming a person and a session. The accounts module
//! issues them at sign-in; every HTTP request and WebSocket turns one into a `Viewer` here.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::viewer::Viewer;

crate::closed_set! {
    /// Who an account is to the platform: a person, or a platform operator.
    pub enum Role {
        User = "user",
        Admin = "admin",
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    sid: Uuid,
    role: Role,
    iat: i64,
    exp: i64,
}

/// A verified token: who, and until when the token holds.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub viewer: Viewer,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Cloned with the context into every request, socket and live stream: one pointer to what
/// they share (each copy of a key was a heap allocation of the secret, and the verified-token
/// cache a dozen words inline).
#[derive(Clone)]
pub struct AccessTokens {
    inner: Arc<Tokens>,
}

struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Tokens whose signature held, and what they say. A session sends the same token with
    /// every request; decoding and checking it (HS256 over the JSON claims) was a tenth of a
    /// signed-in request's CPU. Only the exact string hits; expiry is checked on every use.
    verified: moka::sync::Cache<Box<str>, Authenticated>,
}

/// Verified tokens kept; an idle one is dropped after `VERIFIED_IDLE`.
const VERIFIED_TOKENS: u64 = 100_000;
const VERIFIED_IDLE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

impl AccessTokens {
    pub fn new(secret: &[u8]) -> Self {
        let verified = moka::sync::Cache::builder().max_capacity(VERIFIED_TOKENS).time_to_idle(VERIFIED_IDLE).build();
        let (encoding, decoding) = (EncodingKey::from_secret(secret), DecodingKey::from_secret(secret));
        Self { inner: Arc::new(Tokens { encoding, decoding, verified }) }
    }

    pub fn issue(&self, user_id: Uuid, session_id: Uuid, role: Role, now: DateTime<Utc>, ttl: Duration) -> String {
        let claims = Claims { sub: user_id, sid: session_id, role, iat: now.timestamp(), exp: (now + ttl).timestamp() };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.inner.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Checks signature and expiry against `now` (the context clock, so tests can move time).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> AppResult<Authenticated> {
        let signed = match self.inner.verified.get(token) {
            Some(known) => known,
            None => {
                let signed = self.decode(token)?;
                self.inner.verified.insert(token.into(), signed.clone());
                signed
            }
        };
        if signed.expires_at.is_some_and(|at| at <= now) {
            // The client refreshes (`refreshSession`) and retries.
            return Err(AppError::new(crate::ErrorCode::Unauthenticated, "access token expired")
                .with("reason", "TOKEN_EXPIRED"));
        }
        Ok(signed)
    }

    /// The signature checked and the claims read; expiry is `verify`'s.
    fn decode(&self, token: &str) -> AppResult<Authenticated> {
        let invalid =
            || AppError::new(crate::ErrorCode::Unauthenticated, "invalid access token").with("reason", "TOKEN_INVALID");
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false; // `verify` checks it against the injected clock
        validation.required_spec_claims.clear();
        let claims =
            jsonwebtoken::decode::<Claims>(token, &self.inner.decoding, &validation).map_err(|_| invalid())?.claims;
        let expires_at = Utc.timestamp_opt(claims.exp, 0).single().ok_or_else(invalid)?;
        let viewer = match claims.role {
            Role::User => Viewer::User { user_id: claims.sub, session_id: claims.sid },
            Role::Admin => Viewer::Admin { user_id: claims.sub, session_id: claims.sid },
        };
        Ok(Authenticated { viewer, expires_at: Some(expires_at) })
    }
}

/// The token in an `Authorization` value (`Bearer <token>`, or the bare token from a
/// WebSocket init payload); `None` when there is none.
pub fn bearer(authorization: Option<&str>) -> Option<&str> {
    let value = authorization.map(str::trim).filter(|v| !v.is_empty())?;
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).unwrap_or(value).trim();
    (!token.is_empty()).then_some(token)
}

/// The bus topic announcing that a session ended (the payload is its id), so open sockets of it
/// close at once. One topic for all sessions: each instance follows it once and tells its own
/// sockets (a topic per session cost every socket a subscription and a ring buffer of its own).
pub const SESSIONS_ENDED_TOPIC: &str = "sessions-ended";

/// Where a request came from, for security logs.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub request_id: String,
    pub ip: Option<std::net::IpAddr>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let tokens = AccessTokens::new(b"test-secret-test-secret-test-secret");
        let now = Utc::now();
        let (user, session) = (Uuid::now_v7(), Uuid::now_v7());
        let t = tokens.issue(user, session, Role::Admin, now, Duration::minutes(15));
        let auth = tokens.verify(bearer(Some(&format!("Bearer {t}"))).unwrap(), now).unwrap();
        assert_eq!(auth.viewer, Viewer::Admin { user_id: user, session_id: session });
        // Known now: the same string again verifies, a copy with its signature changed does not,
        // and the known token still expires.
        assert_eq!(tokens.verify(&t, now).unwrap().viewer, auth.viewer);
        let at = t.rfind('.').unwrap() + 5;
        let swapped = if &t[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{swapped}{}", &t[..at], &t[at + 1..]);
        assert_eq!(
            tokens.verify(&tampered, now).unwrap_err().detail("reason"),
            Some(&serde_json::json!("TOKEN_INVALID"))
        );
        let late = tokens.verify(&t, now + Duration::minutes(16)).unwrap_err();
        assert_eq!(late.code(), ErrorCode::Unauthenticated);
        assert_eq!(late.detail("reason"), Some(&serde_json::json!("TOKEN_EXPIRED")));
        let garbled = tokens.verify("not.a.token", now).unwrap_err();
        assert_eq!(garbled.detail("reason"), Some(&serde_json::json!("TOKEN_INVALID")));
    }

    #[test]
    fn foreign_or_garbled_tokens_are_refused() {
        let ours = AccessTokens::new(b"one-secret-one-secret-one-secret!");
        let theirs = AccessTokens::new(b"another-secret-another-secret-xx");
        let now = Utc::now();
        let t = theirs.issue(Uuid::nil(), Uuid::nil(), Role::Admin, now, Duration::minutes(5));
        assert!(ours.verify(&t, now).is_err());
        assert!(ours.verify("not.a.token", now).is_err());
        assert_eq!(bearer(None), None);
        assert_eq!(bearer(Some("  ")), None);
        assert_eq!(bearer(Some("bare-token")), Some("bare-token"));
    }
}
