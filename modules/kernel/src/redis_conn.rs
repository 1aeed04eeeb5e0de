//! The one Redis connection an instance keeps: a multiplexed, self-reconnecting RESP3
//! `ConnectionManager` shared by the cache, counters and the event bus (pub/sub pushes arrive
//! on the same connection and subscriptions are restored after a reconnect).

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{IntoConnectionInfo, ProtocolVersion, PushInfo};
use tokio::sync::mpsc;

use crate::error::{AppError, AppResult};

pub struct RedisConnection {
    pub manager: ConnectionManager,
    pub pushes: mpsc::UnboundedReceiver<PushInfo>,
}

pub async fn connect(url: &str) -> AppResult<RedisConnection> {
    let info = url.into_connection_info().map_err(|e| AppError::internal(format!("invalid redis url: {e}")))?;
    let settings = info.redis_settings().clone().set_protocol(ProtocolVersion::RESP3);
    let info = info.set_redis_settings(settings);
    let client = redis::Client::open(info).map_err(AppError::internal)?;
    let (tx, pushes) = mpsc::unbounded_channel();
    let config = ConnectionManagerConfig::new()
        .set_push_sender(tx)
        .set_automatic_resubscription()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(5)))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(1));
    let manager = ConnectionManager::new_with_config(client, config).await.map_err(AppError::internal)?;
    Ok(RedisConnection { manager, pushes })
}

/// Fails Redis calls fast while Redis cannot be reached. Without it every call during an outage
/// waits out the connection manager's reconnection attempts (seconds), and a signed-in request
/// makes several. After a connection failure (or a call that takes longer than `CALL_TIMEOUT`)
/// the breaker opens: calls fail at once, and one background task pings Redis every
/// `PROBE_EVERY` until it answers, then closes it.
#[derive(Clone)]
pub struct Breaker {
    manager: ConnectionManager,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    probing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    recovered: Option<std::sync::Arc<dyn Fn() + Send + Sync>>,
}

/// A call on a healthy connection takes well under a millisecond; one this slow is an outage.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
const PROBE_EVERY: Duration = Duration::from_millis(250);

impl Breaker {
    pub fn new(manager: ConnectionManager) -> Self {
        Self { manager, open: Default::default(), probing: Default::default(), recovered: None }
    }

    /// Runs `recovered` each time Redis answers again after the breaker opened: what failed
    /// meanwhile (a publish) may need making up for.
    pub fn on_recovery(mut self, recovered: impl Fn() + Send + Sync + 'static) -> Self {
        self.recovered = Some(std::sync::Arc::new(recovered));
        self
    }

    /// Whether calls are failing fast now.
    pub fn is_open(&self) -> bool {
        self.open.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub async fn call<T>(&self, call: impl std::future::Future<Output = redis::RedisResult<T>>) -> AppResult<T> {
        if self.is_open() {
            return Err(AppError::internal("redis is unreachable (failing fast until it answers again)"));
        }
        match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
                    self.trip();
                }
                Err(AppError::internal(e))
            }
            Err(_) => {
                self.trip();
                Err(AppError::internal("redis did not answer in time"))
            }
        }
    }

    fn trip(&self) {
        use std::sync::atomic::Ordering;
        self.open.store(true, Ordering::Relaxed);
        if self.probing.swap(true, Ordering::Relaxed) {
            return;
        }
        tracing::warn!("redis unreachable: failing fast and probing until it answers");
        let (mut manager, open, probing) = (self.manager.clone(), self.open.clone(), self.probing.clone());
        let recovered = self.recovered.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(PROBE_EVERY).await;
                let ping = redis::cmd("PING");
                if matches!(
                    tokio::time::timeout(CALL_TIMEOUT, ping.query_async::<String>(&mut manager)).await,
                    Ok(Ok(_))
                ) {
                    open.store(false, Ordering::Relaxed);
                    probing.store(false, Ordering::Relaxed);
                    tracing::info!("redis answers again");
                    if let Some(recovered) = &recovered {
                        recovered();
                    }
                    return;
                }
            }
        });
    }
}
