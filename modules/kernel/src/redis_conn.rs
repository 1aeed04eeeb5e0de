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
        .set_connection_timeout(Some(Duration::from_secs(5)))
        .set_response_timeout(Some(Duration::from_secs(5)))
        .set_max_delay(Duration::from_secs(2));
    let manager = ConnectionManager::new_with_config(client, config).await.map_err(AppError::internal)?;
    Ok(RedisConnection { manager, pushes })
}
