//! JPush (极光推送) REST API v3: `POST /v3/push` with HTTP Basic auth (`appKey:masterSecret`),
//! a JSON push object addressed to the person's registration ids (the id the JPush SDK gives the
//! app, registered as platform `JPUSH`), a notification for Android and iOS, and options
//! (`apns_production`, `apns_collapse_id`, a day's `time_to_live`). Success is `200
//! {"sendno","msg_id"}`; refusals are `{"error":{"code","message"}}`: 1011 (none of the ids is
//! known: those devices are gone), 1004 (authentication), 2002 (rate limited), 1000/5xx (try
//! again).

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use xqt_kernel::{AppContext, AppError, AppResult};

use super::{Push, PushGateway, PushPlatform};
use crate::config::PushConfig;

/// JPush takes at most this many registration ids per push.
pub const AUDIENCE_MAX: usize = 1000;

pub struct Jpush {
    endpoint: String,
    authorization: String,
    apns_production: bool,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Refusal {
    error: Option<RefusalBody>,
}

#[derive(Deserialize)]
struct RefusalBody {
    code: i64,
    message: Option<String>,
}

/// One HTTP client for every push: its connection pool and TLS roots are made once, not per
/// person pushed to.
fn http() -> reqwest::Client {
    static CLIENT: std::sync::LazyLock<reqwest::Client> = std::sync::LazyLock::new(|| {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default()
    });
    CLIENT.clone()
}

impl Jpush {
    /// From `[notifications.push]`, checked at load to hold the app key and master secret.
    pub fn new(config: &PushConfig) -> Self {
        let key = config.jpush_app_key.clone().unwrap_or_default();
        let secret = config.jpush_master_secret.clone().unwrap_or_default();
        Self {
            endpoint: format!("{}/v3/push", config.jpush_endpoint.trim_end_matches('/')),
            authorization: format!("Basic {}", STANDARD.encode(format!("{key}:{secret}"))),
            apns_production: config.apns_production,
            http: http(),
        }
    }

    /// The push object for these registration ids.
    pub fn body(&self, ids: &[String], push: &Push<'_>) -> Value {
        let extras = json!({ "kind": push.kind.to_string() });
        // A call rings now or not at all: highest priority, and no late delivery after the ring.
        let urgent = push.kind.urgent();
        let ttl = if urgent { 60 } else { 86_400 };
        let mut options = json!({ "apns_production": self.apns_production, "time_to_live": ttl });
        if let Some(key) = push.collapse_key {
            options["apns_collapse_id"] = json!(key);
        }
        let mut android = json!({ "alert": push.body, "title": push.title, "extras": extras });
        let mut ios =
            json!({ "alert": { "title": push.title, "body": push.body }, "sound": "default", "extras": extras });
        if urgent {
            android["priority"] = json!(2);
            android["category"] = json!("call");
            ios["interruption-level"] = json!("time-sensitive");
        }
        json!({
            "platform": ["android", "ios"],
            "audience": { "registration_id": ids },
            "notification": { "android": android, "ios": ios },
            "options": options,
        })
    }

    /// Pushes to every JPush device of `users` who hold the push consent now, up to
    /// `AUDIENCE_MAX` devices a call, whoever they belong to.
    async fn send(&self, ctx: &AppContext, users: &[Uuid], push: &Push<'_>) -> AppResult<()> {
        // Nobody without a registered device and the push consent is pushed to.
        let devices: Vec<(String, Uuid)> = super::reachable_devices_of(ctx, users)
            .await?
            .into_iter()
            .filter(|d| d.platform == PushPlatform::Jpush)
            .map(|d| (d.token, d.user_id))
            .collect();
        for chunk in devices.chunks(AUDIENCE_MAX) {
            let ids: Vec<String> = chunk.iter().map(|(id, _)| id.clone()).collect();
            let resp = self
                .http
                .post(&self.endpoint)
                .header("authorization", &self.authorization)
                .json(&self.body(&ids, push))
                .send()
                .await
                .map_err(|e| AppError::internal(format!("jpush unreachable: {e}")))?;
            let status = resp.status();
            if status.is_success() {
                continue;
            }
            let refusal = resp.json::<Refusal>().await.ok().and_then(|r| r.error);
            let (code, message) = refusal.map_or((0, String::new()), |r| (r.code, r.message.unwrap_or_default()));
            if code == 1011 {
                // None of these ids is known to JPush any more (the app was removed): forget them.
                for (id, user) in chunk {
                    super::forget_device(ctx, *user, PushPlatform::Jpush, id).await?;
                }
                tracing::info!(devices = chunk.len(), "jpush knows none of these devices; forgotten");
                continue;
            }
            // Authentication (1004), parameters (1003), rate limits (2002), its faults (1000, 5xx):
            // the job that pushes tries again later and gives up after its attempts.
            return Err(AppError::internal(format!("jpush refused the push: HTTP {status}, code {code}: {message}")));
        }
        Ok(())
    }
}

#[async_trait]
impl PushGateway for Jpush {
    async fn push(&self, ctx: &AppContext, user: Uuid, push: &Push<'_>) -> AppResult<()> {
        self.send(ctx, &[user], push).await
    }

    /// iOS replaces the shown notification with the one of the same `apns_collapse_id`.
    async fn replace(&self, ctx: &AppContext, user: Uuid, push: &Push<'_>) -> AppResult<()> {
        self.replace_many(ctx, &[user], push).await
    }

    async fn push_many(&self, ctx: &AppContext, users: &[Uuid], push: &Push<'_>) -> AppResult<()> {
        self.send(ctx, users, push).await
    }

    async fn replace_many(&self, ctx: &AppContext, users: &[Uuid], push: &Push<'_>) -> AppResult<()> {
        if push.collapse_key.is_none() {
            return Ok(());
        }
        self.send(ctx, users, push).await
    }
}
