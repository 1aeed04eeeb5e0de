//! Notifications' settings: the `[notifications]` section (`XQT_NOTIFICATIONS__…`).

use serde::{Deserialize, Serialize};
use xqt_kernel::config::ConfigSection;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    pub push: PushConfig,
}

/// Who delivers pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PushProviderKind {
    /// Built in, for development and tests: each push is written to the `push_messages` table;
    /// nothing leaves the machine. Production refuses it.
    Outbox,
    /// JPush (极光推送) REST API v3, to the person's devices registered as `JPUSH`.
    Jpush,
}

/// `[notifications.push]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PushConfig {
    pub provider: PushProviderKind,
    /// JPush's API (`https://api.jpush.cn`; a local server in tests).
    pub jpush_endpoint: String,
    #[serde(deserialize_with = "xqt_kernel::config::text::optional::deserialize")]
    pub jpush_app_key: Option<String>,
    #[serde(deserialize_with = "xqt_kernel::config::text::optional::deserialize")]
    pub jpush_master_secret: Option<String>,
    /// Push to iOS through APNs' production environment (false: its sandbox, for development builds).
    pub apns_production: bool,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            provider: PushProviderKind::Outbox,
            jpush_endpoint: "https://api.jpush.cn".into(),
            jpush_app_key: None,
            jpush_master_secret: None,
            apns_production: true,
        }
    }
}

impl ConfigSection for NotificationsConfig {
    const NAME: &'static str = "notifications";

    fn validate(&self) -> Result<(), String> {
        let p = &self.push;
        if p.provider == PushProviderKind::Jpush {
            let blank = |v: &Option<String>| v.as_deref().is_none_or(|v| v.trim().is_empty());
            if blank(&p.jpush_app_key) || blank(&p.jpush_master_secret) {
                return Err("push.provider = \"jpush\" needs push.jpush_app_key and push.jpush_master_secret".into());
            }
            if !(p.jpush_endpoint.starts_with("https://") || p.jpush_endpoint.starts_with("http://")) {
                return Err("push.jpush_endpoint must be an http(s) URL".into());
            }
        }
        Ok(())
    }
}
