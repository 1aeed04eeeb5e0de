//! Short-lived shared state: cached values, counters for rate limits and codes, presence.
//! In-process (moka) on the embedded default, Redis in production; one contract for both.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use moka::Expiry;
use moka::ops::compute::Op;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use crate::error::{AppError, AppResult};

#[async_trait]
pub trait Cache: Send + Sync + 'static {
    async fn get(&self, key: &str) -> AppResult<Option<Bytes>>;
    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> AppResult<()>;
    /// Stores only when the key is absent; true when it stored.
    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Duration) -> AppResult<bool>;
    /// True when the key existed.
    async fn delete(&self, key: &str) -> AppResult<bool>;
    /// Adds `by` to a counter; a new counter starts at 0 and lives `ttl` from its first increment.
    async fn incr(&self, key: &str, by: i64, ttl: Duration) -> AppResult<i64>;
    /// How long the key has left, `None` when absent.
    async fn ttl(&self, key: &str) -> AppResult<Option<Duration>>;
    async fn ping(&self) -> AppResult<()>;

    /// Several keys at once (one round trip on Redis: `MGET`), in the keys' order.
    async fn get_many(&self, keys: &[String]) -> AppResult<Vec<Option<Bytes>>> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.get(key).await?);
        }
        Ok(out)
    }

    /// A read of what the database also holds: an unreachable cache (Redis down) is a miss, so
    /// the caller reads the database instead of failing the request.
    async fn get_or_miss(&self, key: &str) -> Option<Bytes> {
        self.get(key).await.unwrap_or_else(|e| {
            tracing::warn!(key, error = ?e, "cache unreachable: read as a miss");
            None
        })
    }

    /// A write that only saves later reads: an unreachable cache is logged and skipped.
    async fn set_or_skip(&self, key: &str, value: Bytes, ttl: Duration) {
        if let Err(e) = self.set(key, value, ttl).await {
            tracing::warn!(key, error = ?e, "cache unreachable: not cached");
        }
    }
}

#[derive(Clone)]
struct Entry {
    value: Bytes,
    expires_at: Instant,
}

struct EntryExpiry;

impl Expiry<String, Entry> for EntryExpiry {
    fn expire_after_create(&self, _: &String, entry: &Entry, now: Instant) -> Option<Duration> {
        Some(entry.expires_at.saturating_duration_since(now))
    }
    fn expire_after_update(&self, _: &String, entry: &Entry, now: Instant, _: Option<Duration>) -> Option<Duration> {
        Some(entry.expires_at.saturating_duration_since(now))
    }
}

/// The in-process cache: bounded, per-entry expiry, atomic per-key updates.
pub struct MemoryCache {
    entries: moka::future::Cache<String, Entry>,
}

impl MemoryCache {
    pub fn new(max_entries: u64) -> Self {
        Self { entries: moka::future::Cache::builder().max_capacity(max_entries).expire_after(EntryExpiry).build() }
    }

    async fn live(&self, key: &str) -> Option<Entry> {
        self.entries.get(key).await.filter(|e| e.expires_at > Instant::now())
    }
}

fn parse_counter(value: &[u8]) -> AppResult<i64> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| AppError::internal("cache value is not a counter"))
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> AppResult<Option<Bytes>> {
        Ok(self.live(key).await.map(|e| e.value))
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> AppResult<()> {
        self.entries.insert(key.to_owned(), Entry { value, expires_at: Instant::now() + ttl }).await;
        Ok(())
    }

    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Duration) -> AppResult<bool> {
        let result = self
            .entries
            .entry(key.to_owned())
            .and_compute_with(|current| {
                let fresh = Entry { value: value.clone(), expires_at: Instant::now() + ttl };
                let op = match current {
                    Some(e) if e.value().expires_at > Instant::now() => Op::Nop,
                    _ => Op::Put(fresh),
                };
                std::future::ready(op)
            })
            .await;
        Ok(matches!(
            result,
            moka::ops::compute::CompResult::Inserted(_) | moka::ops::compute::CompResult::ReplacedWith(_)
        ))
    }

    async fn delete(&self, key: &str) -> AppResult<bool> {
        Ok(self.entries.remove(key).await.is_some_and(|e| e.expires_at > Instant::now()))
    }

    async fn incr(&self, key: &str, by: i64, ttl: Duration) -> AppResult<i64> {
        let mut bad = false;
        let result = self
            .entries
            .entry(key.to_owned())
            .and_compute_with(|current| {
                let now = Instant::now();
                let next = match current.map(|e| e.into_value()).filter(|e| e.expires_at > now) {
                    Some(e) => match parse_counter(&e.value) {
                        Ok(n) => Entry { value: Bytes::from((n + by).to_string()), expires_at: e.expires_at },
                        Err(_) => {
                            bad = true;
                            e
                        }
                    },
                    None => Entry { value: Bytes::from(by.to_string()), expires_at: now + ttl },
                };
                std::future::ready(Op::Put(next))
            })
            .await;
        if bad {
            return Err(AppError::internal(format!("cache key {key} is not a counter")));
        }
        let entry = result.into_entry().ok_or_else(|| AppError::internal("counter vanished"))?;
        parse_counter(&entry.value().value)
    }

    async fn ttl(&self, key: &str) -> AppResult<Option<Duration>> {
        Ok(self.live(key).await.map(|e| e.expires_at.saturating_duration_since(Instant::now())))
    }

    async fn ping(&self) -> AppResult<()> {
        Ok(())
    }
}

/// The Redis cache: every key under the deployment's prefix.
pub struct RedisCache {
    manager: ConnectionManager,
    prefix: String,
    breaker: crate::redis_conn::Breaker,
}

impl RedisCache {
    pub fn new(manager: ConnectionManager, prefix: impl Into<String>) -> Self {
        Self { breaker: crate::redis_conn::Breaker::new(manager.clone()), manager, prefix: prefix.into() }
    }

    fn key(&self, key: &str) -> String {
        format!("{}c:{key}", self.prefix)
    }
}

fn millis(ttl: Duration) -> u64 {
    (ttl.as_millis() as u64).max(1)
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> AppResult<Option<Bytes>> {
        let v: Option<Vec<u8>> = self.breaker.call(self.manager.clone().get(self.key(key))).await?;
        Ok(v.map(Bytes::from))
    }

    async fn get_many(&self, keys: &[String]) -> AppResult<Vec<Option<Bytes>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut mget = redis::cmd("MGET");
        for key in keys {
            mget.arg(self.key(key));
        }
        let values: Vec<Option<Vec<u8>>> = self.breaker.call(mget.query_async(&mut self.manager.clone())).await?;
        Ok(values.into_iter().map(|v| v.map(Bytes::from)).collect())
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> AppResult<()> {
        let opts = redis::SetOptions::default().with_expiration(redis::SetExpiry::PX(millis(ttl)));
        let _: () = self.breaker.call(self.manager.clone().set_options(self.key(key), value.as_ref(), opts)).await?;
        Ok(())
    }

    async fn set_if_absent(&self, key: &str, value: Bytes, ttl: Duration) -> AppResult<bool> {
        let opts = redis::SetOptions::default()
            .conditional_set(redis::ExistenceCheck::NX)
            .with_expiration(redis::SetExpiry::PX(millis(ttl)));
        let stored: Option<String> =
            self.breaker.call(self.manager.clone().set_options(self.key(key), value.as_ref(), opts)).await?;
        Ok(stored.is_some())
    }

    async fn delete(&self, key: &str) -> AppResult<bool> {
        let n: i64 = self.breaker.call(self.manager.clone().del(self.key(key))).await?;
        Ok(n > 0)
    }

    async fn incr(&self, key: &str, by: i64, ttl: Duration) -> AppResult<i64> {
        let key = self.key(key);
        // One round trip, atomic: the expiry is set only by the increment that created the key.
        let mut pipe = redis::pipe();
        pipe.atomic().incr(&key, by).cmd("PEXPIRE").arg(&key).arg(millis(ttl)).arg("NX").ignore();
        let mut manager = self.manager.clone();
        let (value,): (i64,) = self.breaker.call(pipe.query_async(&mut manager)).await?;
        Ok(value)
    }

    async fn ttl(&self, key: &str) -> AppResult<Option<Duration>> {
        let mut manager = self.manager.clone();
        let ms: i64 = self.breaker.call(redis::cmd("PTTL").arg(self.key(key)).query_async(&mut manager)).await?;
        Ok(match ms {
            -2 => None,
            -1 => Some(Duration::MAX),
            ms => Some(Duration::from_millis(ms.max(0) as u64)),
        })
    }

    async fn ping(&self) -> AppResult<()> {
        let mut manager = self.manager.clone();
        let _: String = self.breaker.call(redis::cmd("PING").query_async(&mut manager)).await?;
        Ok(())
    }
}
