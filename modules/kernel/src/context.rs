//! The application context every resolver and service function receives.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::{AccessTokens, Authenticated};
use crate::bus::{EventBus, MemoryBus, RedisBus};
use crate::cache::{Cache, MemoryCache, RedisCache};
use crate::calendar::WorkCalendar;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::DataKeys;
use crate::error::{AppError, AppResult};
use crate::files::FileStore;
use crate::module::Modules;
use crate::viewer::Viewer;

/// How many entries the in-process cache holds before evicting.
const MEMORY_CACHE_ENTRIES: u64 = 100_000;
/// How many entries the instance-local cache holds.
const LOCAL_CACHE_ENTRIES: u64 = 10_000;

/// A handle: one pointer to what every request, socket and live stream shares. A thousand idle
/// subscriptions hold several thousand of these, and every request clones one, so it is a single
/// `Arc` (one count to bump, eight bytes to keep) rather than the dozen it points to. Fields read
/// through it as if it were the parts themselves (`ctx.db`, `ctx.clock`).
#[derive(Clone)]
pub struct AppContext(Arc<Parts>);

/// What an [`AppContext`] points to.
#[derive(Clone)]
pub struct Parts {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    /// Shared by every instance (Redis when configured): counters, state that must change at once.
    pub cache: Arc<dyn Cache>,
    /// This instance only, always in-process: data that may be a few seconds stale on other
    /// instances (e.g. the list of major policy versions), read on hot paths.
    pub local: Arc<dyn Cache>,
    pub bus: Arc<dyn EventBus>,
    pub clock: Arc<dyn Clock>,
    pub modules: Arc<Modules>,
    pub tokens: AccessTokens,
    pub keys: DataKeys,
    pub files: FileStore,
    pub calendar: Arc<WorkCalendar>,
    /// The only operations that run, when `persisted_queries.allow_list` is set.
    pub allow_list: Option<Arc<crate::persisted::AllowList>>,
}

impl std::ops::Deref for AppContext {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

/// One component's readiness, for `/readyz`.
#[derive(Debug, Clone)]
pub struct Readiness {
    pub component: &'static str,
    pub ok: bool,
}

impl AppContext {
    /// Connects the database and, when configured, Redis. Migrations are the caller's to run.
    pub async fn connect(config: Config, modules: Modules, clock: Arc<dyn Clock>) -> AppResult<Self> {
        let db = crate::db::connect(&config).await?;
        let (cache, bus): (Arc<dyn Cache>, Arc<dyn EventBus>) = match &config.redis_url {
            Some(url) => {
                let conn = crate::redis_conn::connect(url).await?;
                (
                    Arc::new(RedisCache::new(conn.manager.clone(), config.redis_prefix.clone())),
                    Arc::new(RedisBus::new(conn.manager, conn.pushes, config.redis_prefix.clone())),
                )
            }
            None => (Arc::new(MemoryCache::new(MEMORY_CACHE_ENTRIES)), Arc::new(MemoryBus::new())),
        };
        let secret = match &config.token_secret {
            Some(s) => s.clone().into_bytes(),
            None => {
                tracing::warn!("XQT_TOKEN_SECRET unset: tokens are signed with a random key and die with this process");
                [uuid::Uuid::new_v4().as_bytes().as_slice(), uuid::Uuid::new_v4().as_bytes()].concat()
            }
        };
        let keys = DataKeys::load(config.data_key.as_deref(), &config.data_dir)?;
        let files = FileStore::from_config(&config)?;
        let calendar = match &config.calendar_file {
            Some(path) => WorkCalendar::from_file(path)?,
            None => WorkCalendar::built_in(),
        };
        let this_year = chrono::Datelike::year(&clock.now());
        for year in [this_year, this_year + 1] {
            if !calendar.covers(year) {
                tracing::warn!(
                    year,
                    "the holiday calendar has no data for {year}; deadlines reaching into it count weekends only until \
                     it is added (`calendar_file`)"
                );
            }
        }
        let allow_list = match &config.persisted_queries.allow_list {
            Some(path) => {
                let list = crate::persisted::AllowList::from_file(path)?;
                tracing::info!(operations = list.len(), "persisted queries: only the allow-list's operations run");
                Some(Arc::new(list))
            }
            None => None,
        };
        Ok(Self(Arc::new(Parts {
            calendar: Arc::new(calendar),
            allow_list,
            keys,
            files,
            config: Arc::new(config),
            db,
            cache,
            local: Arc::new(MemoryCache::new(LOCAL_CACHE_ENTRIES)),
            bus,
            clock,
            modules: Arc::new(modules),
            tokens: AccessTokens::new(&secret),
        })))
    }

    /// The parts, to change before the context is shared (a test's database metric callback);
    /// copied first if other handles already point to them.
    pub fn parts_mut(&mut self) -> &mut Parts {
        Arc::make_mut(&mut self.0)
    }

    pub async fn connect_with_system_clock(config: Config, modules: Modules) -> AppResult<Self> {
        Self::connect(config, modules, Arc::new(SystemClock)).await
    }

    /// Turns an `Authorization` value into who is calling: an access token whose session is still
    /// live, or an opaque token a module issued. No value is anonymous; anything else is refused.
    pub async fn authenticate(&self, authorization: Option<&str>) -> AppResult<Authenticated> {
        let Some(token) = crate::auth::bearer(authorization) else {
            return Ok(Authenticated { viewer: Viewer::Anonymous, expires_at: None });
        };
        if let Some(found) = self.modules.resolve_token(self, token).await? {
            return Ok(found);
        }
        let auth = self.tokens.verify(token, self.clock.now())?;
        if let Viewer::User { user_id, session_id } | Viewer::Admin { user_id, session_id } = auth.viewer
            && !self.modules.session_active(self, user_id, session_id).await?
        {
            return Err(AppError::new(crate::ErrorCode::Unauthenticated, "the session has ended; sign in again")
                .with("reason", "SESSION_ENDED"));
        }
        Ok(auth)
    }

    pub async fn readiness(&self) -> Vec<Readiness> {
        let db = self.db.ping().await.map_err(AppError::from).is_ok();
        let cache = self.cache.ping().await.is_ok();
        let bus = self.bus.ping().await.is_ok();
        vec![
            Readiness { component: "database", ok: db },
            Readiness { component: "cache", ok: cache },
            Readiness { component: "bus", ok: bus },
        ]
    }
}

#[cfg(test)]
mod tests {
    /// Every request, socket and live stream holds a copy of the context for its whole life (a
    /// thousand idle subscriptions hold several thousand), so a copy is one pointer. The AES-GCM
    /// key schedule inline once made it 1.2 KiB; the parts inline, 168 bytes.
    #[test]
    fn the_context_is_one_pointer() {
        let size = std::mem::size_of::<super::AppContext>();
        assert_eq!(
            size,
            std::mem::size_of::<usize>(),
            "AppContext is {size} bytes inline; it is a handle to shared parts"
        );
        assert_eq!(std::mem::size_of::<crate::crypto::DataKeys>(), std::mem::size_of::<usize>());
        assert_eq!(std::mem::size_of::<crate::auth::AccessTokens>(), std::mem::size_of::<usize>());
    }
}
