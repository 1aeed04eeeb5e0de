//! The one rate limiter: at most so many events per window for one subject, counted in the
//! shared cache (Redis in production), so every instance counts together. Windows follow the
//! clock — a clock minute, or a calendar day in China — so a test that moves the clock moves them.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use crate::clock::china_date;
use crate::context::AppContext;
use crate::error::{AppError, AppResult, ErrorCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The current clock minute.
    Minute,
    /// The current calendar day in China (UTC+8): what daily caps count.
    ChinaDay,
}

/// At most `max` events per `window`, for the subjects of one kind (`name`, e.g. `chat.send`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub name: &'static str,
    pub max: i64,
    pub window: Window,
    pub uncounted: Uncounted,
}

/// What a limit does while its counter (Redis) cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uncounted {
    /// Refuses (fails closed): sign-in attempts and SMS codes, where an uncounted attempt is what
    /// a password guesser or an SMS pump waits for. `RATE_LIMITED`, `reason: LIMITER_UNAVAILABLE`.
    Refuse,
    /// Lets the event through, logged (fails open): ordinary traffic keeps working.
    Allow,
}

/// Seconds a client is told to wait while a fail-closed limiter cannot count.
pub const UNAVAILABLE_RETRY_SECS: i64 = 30;

/// The refusal of a fail-closed limit whose counter cannot be reached.
pub fn unavailable() -> AppError {
    AppError::new(ErrorCode::RateLimited, "this is paused for a moment while the service recovers; try again shortly")
        .with("reason", "LIMITER_UNAVAILABLE")
        .with("retryAfter", UNAVAILABLE_RETRY_SECS)
}

/// Past the limit: when the window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    pub retry_after_secs: i64,
}

impl Exceeded {
    /// `RATE_LIMITED` with `retryAfter`, for limits whose module says nothing more.
    pub fn error(self, message: impl Into<String>) -> AppError {
        AppError::new(ErrorCode::RateLimited, message).with("retryAfter", self.retry_after_secs)
    }
}

impl Window {
    /// The window `now` falls in, as a key part, and the seconds until it ends.
    fn at(self, now: DateTime<Utc>) -> (String, i64) {
        match self {
            Window::Minute => (format!("m{}", now.timestamp().div_euclid(60)), 60 - now.timestamp().rem_euclid(60)),
            Window::ChinaDay => {
                let day = china_date(now);
                let next =
                    day.succ_opt().expect("a next day").and_hms_opt(0, 0, 0).expect("midnight") - Duration::hours(8);
                (format!("d{day}"), (next - now.naive_utc()).num_seconds().max(1))
            }
        }
    }

    fn length(self) -> StdDuration {
        match self {
            Window::Minute => StdDuration::from_secs(60),
            Window::ChinaDay => StdDuration::from_secs(24 * 3600),
        }
    }
}

/// Counts one event for `subject` against `limit`: `Ok(Err(Exceeded))` once it is past it.
pub async fn hit(ctx: &AppContext, limit: Limit, subject: &str) -> AppResult<Result<(), Exceeded>> {
    let (window, retry_after_secs) = limit.window.at(ctx.clock.now());
    let key = format!("rate:{}:{subject}:{window}", limit.name);
    // Kept a window longer than it counts, so a clock a little behind another still finds it.
    let used = match ctx.cache.incr(&key, 1, limit.window.length() * 2).await {
        Ok(used) => used,
        Err(e) => {
            tracing::warn!(limit = limit.name, error = ?e, "rate limit not counted: the cache is unreachable");
            return match limit.uncounted {
                Uncounted::Refuse => Err(unavailable()),
                Uncounted::Allow => Ok(Ok(())),
            };
        }
    };
    Ok(if used > limit.max { Err(Exceeded { retry_after_secs }) } else { Ok(()) })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn windows_end_on_the_clock_minute_and_at_midnight_in_china() {
        let at = Utc.with_ymd_and_hms(2026, 11, 29, 15, 59, 45).unwrap(); // 23:59:45 in China
        assert_eq!(Window::Minute.at(at), ("m".to_owned() + &(at.timestamp() / 60).to_string(), 15));
        assert_eq!(Window::ChinaDay.at(at), ("d2026-11-29".to_owned(), 15));
        let after = at + Duration::seconds(20);
        assert_eq!(Window::ChinaDay.at(after).0, "d2026-11-30");
        assert_eq!(Window::ChinaDay.at(after).1, 24 * 3600 - 5);
    }
}
