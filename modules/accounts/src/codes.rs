//! One-time SMS codes: 6 digits, valid 5 minutes, 5 attempts each, a new one no sooner than
//! 60 s after the last, at most 10 a day per phone. State lives in the cache (Redis when
//! configured, so every instance sees the same counters); times come from the context clock.

use std::time::Duration as StdDuration;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use xqt_kernel::crypto::token_hash;
use xqt_kernel::rate;
use xqt_kernel::{AppContext, AppError, AppResult};

use crate::error::AccountsError;
use crate::phone::Phone;

pub const VALID_FOR: Duration = Duration::minutes(5);
pub const MAX_ATTEMPTS: u32 = 5;
pub const RESEND_AFTER: Duration = Duration::seconds(60);
pub const DAILY_CAP: i64 = 10;

#[derive(Serialize, Deserialize)]
struct Pending {
    code_hash: String,
    sent_at: DateTime<Utc>,
}

fn key(phone_hash: &[u8]) -> String {
    format!("accounts:code:{}", hex_of(phone_hash))
}

/// Wrong tries against the current code, counted atomically so parallel guesses all count.
fn attempts_key(phone_hash: &[u8]) -> String {
    format!("accounts:code-attempts:{}", hex_of(phone_hash))
}

const STATE_TTL: StdDuration = StdDuration::from_secs(15 * 60);

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Codes live in the cache: while it cannot be reached, sign-in by code fails closed (nothing is
/// sent, nothing is checked) with `RATE_LIMITED` and `reason: LIMITER_UNAVAILABLE`.
fn closed(e: AppError) -> AppError {
    tracing::warn!(error = ?e, "sign-in codes paused: the cache is unreachable");
    rate::unavailable()
}

async fn load(ctx: &AppContext, key: &str) -> AppResult<Option<Pending>> {
    match ctx.cache.get(key).await.map_err(closed)? {
        Some(raw) => Ok(serde_json::from_slice(&raw).ok()),
        None => Ok(None),
    }
}

async fn store(ctx: &AppContext, key: &str, pending: &Pending) -> AppResult<()> {
    let raw = serde_json::to_vec(pending).map_err(AppError::internal)?;
    // The cache entry outlives validity a little; validity itself is checked against the clock.
    ctx.cache.set(key, Bytes::from(raw), STATE_TTL).await.map_err(closed)
}

/// Who asks for a code: the phone is chosen by a client at this address (sign-in, a guardian's
/// phone), or it is the signed-in account's own.
#[derive(Debug, Clone, Copy)]
pub enum Asker {
    Address(Option<std::net::IpAddr>),
    Account,
}

/// Sends a fresh code to `phone`, unless it is too soon or a day's codes are used up: the phone's,
/// the asking address's (`sms.per_address_per_day`), or the platform's (`sms.per_day`).
pub async fn request(ctx: &AppContext, phone: &Phone, asker: Asker) -> AppResult<()> {
    let now = ctx.clock.now();
    let hash = phone.lookup_hash(ctx);
    let key = key(&hash);
    if let Some(previous) = load(ctx, &key).await? {
        let wait = (previous.sent_at + RESEND_AFTER - now).num_seconds();
        if wait > 0 {
            return Err(AccountsError::ResendTooSoon { retry_after_secs: wait }.into());
        }
    }
    let daily = rate::Limit {
        name: "accounts.codes-a-day",
        max: DAILY_CAP,
        window: rate::Window::ChinaDay,
        uncounted: rate::Uncounted::Refuse,
    };
    if rate::hit(ctx, daily, &hex_of(&hash)).await?.is_err() {
        return Err(AccountsError::DailyCapReached.into());
    }
    let caps = &ctx.config.section::<crate::config::AccountsConfig>().sms;
    if let Asker::Address(Some(ip)) = asker {
        let by_address = rate::Limit {
            name: "accounts.codes-a-day-per-address",
            max: caps.per_address_per_day,
            window: rate::Window::ChinaDay,
            uncounted: rate::Uncounted::Refuse,
        };
        if let Err(e) = rate::hit(ctx, by_address, &ip.to_string()).await? {
            tracing::warn!(%ip, "sms codes refused: the address's daily cap is used up");
            let reason = "ADDRESS_DAILY_CAP";
            return Err(AccountsError::SmsCapReached { reason, retry_after_secs: e.retry_after_secs }.into());
        }
    }
    let overall = rate::Limit {
        name: "accounts.codes-a-day-overall",
        max: caps.per_day,
        window: rate::Window::ChinaDay,
        uncounted: rate::Uncounted::Refuse,
    };
    if let Err(e) = rate::hit(ctx, overall, "all").await? {
        tracing::error!(cap = caps.per_day, "sms codes refused: the platform's daily cap is used up");
        let reason = "PLATFORM_DAILY_CAP";
        return Err(AccountsError::SmsCapReached { reason, retry_after_secs: e.retry_after_secs }.into());
    }
    let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
    store(ctx, &key, &Pending { code_hash: token_hash(&code), sent_at: now }).await?;
    ctx.cache.delete(&attempts_key(&hash)).await.map_err(closed)?;
    crate::sms::deliver(ctx, phone, &code, now + VALID_FOR).await
}

/// Checks a code; a right one is used up, a wrong one counts against the attempts.
pub async fn verify(ctx: &AppContext, phone: &Phone, code: &str) -> AppResult<()> {
    let hash = phone.lookup_hash(ctx);
    let (key, attempts_key) = (key(&hash), attempts_key(&hash));
    let Some(pending) = load(ctx, &key).await? else {
        return Err(AccountsError::CodeMissing.into());
    };
    if ctx.clock.now() > pending.sent_at + VALID_FOR {
        ctx.cache.delete(&key).await.map_err(closed)?;
        return Err(AccountsError::CodeExpired.into());
    }
    let tries = ctx.cache.incr(&attempts_key, 1, STATE_TTL).await.map_err(closed)?;
    if tries > i64::from(MAX_ATTEMPTS) {
        return Err(AccountsError::CodeAttemptsExhausted.into());
    }
    if !xqt_kernel::crypto::constant_time_eq(token_hash(code.trim()).as_bytes(), pending.code_hash.as_bytes()) {
        return Err(if tries == i64::from(MAX_ATTEMPTS) {
            AccountsError::CodeAttemptsExhausted
        } else {
            AccountsError::CodeWrong
        }
        .into());
    }
    ctx.cache.delete(&key).await.map_err(closed)?;
    ctx.cache.delete(&attempts_key).await.map_err(closed)?;
    Ok(())
}
