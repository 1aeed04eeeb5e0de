//! Partners and their API tokens. A token is `xqt_pat_<random>_<checksum>`: the checksum lets a
//! mistyped or made-up token be refused without a lookup; only its SHA-256 is stored; its
//! scopes are ones the modules declare; it must expire; it can be revoked at once.

use std::collections::BTreeSet;
use std::time::Duration as StdDuration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, SqlErr};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use xqt_kernel::auth::Authenticated;
use xqt_kernel::crypto::token_hash;
use xqt_kernel::rate;
use xqt_kernel::text::Text;
use xqt_kernel::{AppContext, AppError, AppResult, Viewer, ids};

use crate::entity::{api_token, partner};
use crate::error::AccountsError;

pub const TOKEN_PREFIX: &str = "xqt_pat_";
const CHECKSUM_LEN: usize = 6;
pub const MAX_DAYS: i64 = 366;
/// How long a token's state is cached between database checks; revoking overwrites it at once.
const TOKEN_STATE_TTL: StdDuration = StdDuration::from_secs(60);
/// `last_used_at` is written at most this often per token, not on every request.
const LAST_USED_GRANULARITY: Duration = Duration::minutes(1);

fn checksum(body: &str) -> String {
    token_hash(body)[..CHECKSUM_LEN].to_owned()
}

fn mint() -> String {
    let body = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
    format!("{TOKEN_PREFIX}{body}_{}", checksum(&body))
}

/// Shape and checksum only; says nothing about whether the token exists.
pub fn well_formed(token: &str) -> bool {
    token
        .strip_prefix(TOKEN_PREFIX)
        .and_then(|rest| rest.rsplit_once('_'))
        .is_some_and(|(body, sum)| body.len() == 32 && sum == checksum(body))
}

pub async fn create_partner(ctx: &AppContext, name: &str) -> AppResult<partner::Model> {
    let name = &Text::line(2, 100).check(name).map_err(|m| crate::error::invalid("name", m))?;
    let row = partner::ActiveModel {
        id: Set(ids::new_id()),
        name: Set(name.to_owned()),
        created_at: Set(ctx.clock.now()),
        disabled_at: Set(None),
    };
    match row.insert(&ctx.db).await {
        Ok(p) => Ok(p),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(AccountsError::PartnerNameTaken.into())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn partners(ctx: &AppContext) -> AppResult<Vec<partner::Model>> {
    Ok(partner::Entity::find().order_by_asc(partner::Column::Name).all(&ctx.db).await?)
}

pub async fn find_partner(ctx: &AppContext, name_or_id: &str) -> AppResult<Option<partner::Model>> {
    if let Ok(id) = Uuid::parse_str(name_or_id) {
        return Ok(partner::Entity::find_by_id(id).one(&ctx.db).await?);
    }
    Ok(partner::Entity::find().filter(partner::Column::Name.eq(name_or_id.trim())).one(&ctx.db).await?)
}

/// Issues a token; the returned secret is shown once and never stored.
pub async fn create_token(
    ctx: &AppContext,
    created_by: Option<Uuid>,
    partner_id: Uuid,
    name: &str,
    scopes: &[String],
    valid_days: i64,
) -> AppResult<(String, api_token::Model)> {
    let partner =
        partner::Entity::find_by_id(partner_id).one(&ctx.db).await?.ok_or(AccountsError::NotFound("partner"))?;
    if partner.disabled_at.is_some() {
        return Err(AccountsError::PartnerDisabled.into());
    }
    let name = &Text::line(1, 100).check(name).map_err(|m| crate::error::invalid("name", m))?;
    if !(1..=MAX_DAYS).contains(&valid_days) {
        return Err(AccountsError::Invalid {
            field: "validDays",
            message: format!("1 to {MAX_DAYS} days; tokens must expire"),
        }
        .into());
    }
    let scopes: BTreeSet<String> = scopes.iter().map(|s| s.trim().to_owned()).collect();
    if scopes.is_empty() {
        return Err(AccountsError::Invalid { field: "scopes", message: "name at least one scope".into() }.into());
    }
    if let Some(unknown) = scopes.iter().find(|s| ctx.modules.scope(s).is_none()) {
        return Err(AccountsError::Invalid {
            field: "scopes",
            message: format!(
                "no module declares the scope `{unknown}`; the scopes are: {}",
                ctx.modules.scopes().iter().map(|(_, s)| s.id).collect::<Vec<_>>().join(", ")
            ),
        }
        .into());
    }
    let token = mint();
    let now = ctx.clock.now();
    let row = api_token::ActiveModel {
        id: Set(ids::new_id()),
        partner_id: Set(partner_id),
        name: Set(name.to_owned()),
        token_hash: Set(token_hash(&token)),
        prefix: Set(token[..TOKEN_PREFIX.len() + 4].to_owned()),
        scopes: Set(scopes.into_iter().collect::<Vec<_>>().join(" ")),
        expires_at: Set(now + Duration::days(valid_days)),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_by: Set(created_by),
        created_at: Set(now),
    }
    .insert(&ctx.db)
    .await?;
    tracing::info!(partner = %partner_id, token = %row.id, "partner token issued");
    Ok((token, row))
}

pub async fn tokens(ctx: &AppContext, partner_id: Option<Uuid>) -> AppResult<Vec<api_token::Model>> {
    let mut q = api_token::Entity::find();
    if let Some(p) = partner_id {
        q = q.filter(api_token::Column::PartnerId.eq(p));
    }
    Ok(q.order_by_asc(api_token::Column::CreatedAt).all(&ctx.db).await?)
}

pub async fn revoke(ctx: &AppContext, token_id: Uuid) -> AppResult<bool> {
    let Some(row) = api_token::Entity::find_by_id(token_id).one(&ctx.db).await? else {
        return Err(AccountsError::NotFound("token").into());
    };
    let revoked = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(ctx.clock.now()))
        .filter(api_token::Column::Id.eq(token_id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(&ctx.db)
        .await?
        .rows_affected
        > 0;
    // Every instance sees the revocation at its next request, not after the cache lapses.
    ctx.cache.set(&state_key(&row.token_hash), Bytes::from_static(b"null"), TOKEN_STATE_TTL).await?;
    Ok(revoked)
}

#[derive(Serialize, Deserialize)]
struct TokenState {
    id: Uuid,
    partner_id: Uuid,
    scopes: BTreeSet<String>,
    expires_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

fn state_key(hash: &str) -> String {
    format!("accounts:pat:{hash}")
}

/// A token's state, cached only where the cache is shared (Redis): there a revocation, from the
/// API or from `xqt token revoke` in another process, overwrites it for every instance. On the
/// embedded default the cache is this process's own, which the CLI cannot reach, so each request
/// reads the database and a revocation takes effect at once there too.
async fn state(ctx: &AppContext, hash: &str) -> AppResult<Option<TokenState>> {
    let key = state_key(hash);
    let shared = ctx.config.redis_url.is_some();
    if shared && let Some(raw) = ctx.cache.get_or_miss(&key).await {
        return serde_json::from_slice(&raw).map_err(AppError::internal);
    }
    let row = api_token::Entity::find().filter(api_token::Column::TokenHash.eq(hash)).one(&ctx.db).await?;
    let live = match row {
        Some(t) if t.revoked_at.is_none() => {
            let partner_live =
                partner::Entity::find_by_id(t.partner_id).one(&ctx.db).await?.is_some_and(|p| p.disabled_at.is_none());
            partner_live.then(|| TokenState {
                id: t.id,
                partner_id: t.partner_id,
                scopes: t.scopes.split_whitespace().map(str::to_owned).collect(),
                expires_at: t.expires_at,
                last_used_at: t.last_used_at,
            })
        }
        _ => None,
    };
    if shared {
        ctx.cache
            .set_or_skip(&key, Bytes::from(serde_json::to_vec(&live).map_err(AppError::internal)?), TOKEN_STATE_TTL)
            .await;
    }
    Ok(live)
}

/// Turns a partner token into a viewer, or refuses it: malformed, unknown, revoked, expired,
/// or over its rate.
pub async fn resolve(ctx: &AppContext, token: &str) -> AppResult<Option<Authenticated>> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let refused = |why: &'static str| AppError::from(AccountsError::PartnerTokenRefused(why));
    if !well_formed(token) {
        return Err(refused("is malformed"));
    }
    let hash = token_hash(token);
    let Some(live) = state(ctx, &hash).await? else { return Err(refused("is not valid or was revoked")) };
    let now = ctx.clock.now();
    if live.expires_at <= now {
        return Err(refused("has expired"));
    }
    let max = ctx.config.section::<crate::config::AccountsConfig>().partner_requests_per_minute;
    let limit = rate::Limit {
        name: "accounts.partner-token",
        max,
        window: rate::Window::Minute,
        uncounted: rate::Uncounted::Allow,
    };
    rate::hit(ctx, limit, &live.id.to_string())
        .await?
        .map_err(|e| e.error(format!("at most {max} requests a minute per token")))?;
    if live.last_used_at.is_none_or(|at| now - at >= LAST_USED_GRANULARITY) {
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
            .filter(api_token::Column::Id.eq(live.id))
            .exec(&ctx.db)
            .await?;
        if let Err(e) = ctx.cache.delete(&state_key(&hash)).await {
            tracing::warn!(error = ?e, "a token's last use not refreshed in the cache: it is unreachable");
        }
    }
    Ok(Some(Authenticated {
        viewer: Viewer::Partner { token_id: live.id, partner_id: live.partner_id, scopes: live.scopes },
        expires_at: Some(live.expires_at),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_are_well_formed_and_a_changed_character_is_caught() {
        let t = mint();
        assert!(t.starts_with(TOKEN_PREFIX) && well_formed(&t), "{t}");
        let mut chars: Vec<char> = t.chars().collect();
        let i = TOKEN_PREFIX.len() + 3;
        chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
        assert!(!well_formed(&chars.into_iter().collect::<String>()));
        assert!(!well_formed("xqt_pat_short_abcdef"));
        assert!(!well_formed("not-a-token"));
    }
}
