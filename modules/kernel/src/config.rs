//! The one typed configuration, read once at start-up: defaults here, then an optional TOML
//! file (`XQT_CONFIG`), then `XQT_*` environment variables (nested keys with `__`).

use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Test,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `development`, `test` or `production`; production turns introspection and suggestions off.
    pub env: Environment,
    /// Address the HTTP server binds.
    pub listen: String,
    /// Where the embedded database and local files live.
    pub data_dir: PathBuf,
    /// PostgreSQL (or SQLite) URL; unset means the embedded SQLite file `<data_dir>/xqt.db`.
    pub database_url: Option<String>,
    /// Largest number of pooled database connections.
    pub database_max_connections: u32,
    /// Redis URL; unset means the in-process cache, counters and event bus.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel, so several deployments can share one Redis.
    pub redis_prefix: String,
    /// Secret that signs access tokens. Required in production; elsewhere a random one per start.
    pub token_secret: Option<String>,
    /// Key that seals personal identifiers at rest and keys their lookup hashes. Required in
    /// production; elsewhere kept in `<data_dir>/data.key`, created on first start.
    pub data_key: Option<String>,
    /// A holiday calendar file replacing the built-in one (same TOML shape), for a new year's notice.
    pub calendar_file: Option<PathBuf>,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    pub accounts: AccountsConfig,
    pub privacy: PrivacyConfig,
    pub jobs: JobsConfig,
    pub chat: ChatConfig,
    pub log_format: LogFormat,
    /// `tracing` filter directives, e.g. `info,xqt=debug`.
    pub log_filter: String,
    pub limits: Limits,
    pub websocket: WebSocketConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub max_depth: usize,
    /// Total weight of a query; list fields count their page size times their children.
    pub max_complexity: usize,
    pub max_aliases: usize,
    /// Largest batch of operations in one POST; 0 turns batching off.
    pub max_batch: usize,
    pub max_body_bytes: usize,
    pub default_page_size: usize,
    pub max_page_size: usize,
    /// `None` follows `env`: on everywhere but production.
    pub introspection: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountsConfig {
    pub access_token_minutes: i64,
    pub refresh_token_days: i64,
    /// Sign-in and security records are kept this long (Cybersecurity Law Art. 21: ≥ 180).
    pub security_log_days: i64,
    /// Failed password sign-ins in a row before the account is locked.
    pub lockout_after_failures: i32,
    pub lockout_minutes: i64,
    /// Sign-in attempts per client address per minute (a school's NAT puts a class behind one).
    pub sign_ins_per_minute_per_ip: i64,
    /// Requests one partner API token may make per minute.
    pub partner_requests_per_minute: i64,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self {
            access_token_minutes: 15,
            refresh_token_days: 30,
            security_log_days: 180,
            lockout_after_failures: 5,
            lockout_minutes: 15,
            sign_ins_per_minute_per_ip: 120,
            partner_requests_per_minute: 600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Statistics given to partners leave out every group with fewer people than this (SHR-4).
    pub min_group_size: u32,
    /// Analytics events are kept this many days, then deleted.
    pub analytics_retention_days: i64,
    /// A child's account whose guardian has not confirmed within this many days is erased (MIN-2).
    pub guardian_confirm_days: i64,
    /// Days between proving a cancellation and carrying it out, during which the person can
    /// withdraw it; at most 14, inside the 15-working-day deadline.
    pub cancellation_cooling_off_days: i64,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            min_group_size: 10,
            analytics_retention_days: 180,
            guardian_confirm_days: 7,
            cancellation_cooling_off_days: 7,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Run background jobs in this process (retention, erasure, deadlines).
    pub enabled: bool,
    /// How often an idle runner looks for due jobs.
    pub poll_interval_ms: u64,
    /// How long a claimed job is reserved; a worker that died releases it when this runs out.
    pub lease_secs: i64,
    /// Tries before a failing job is given up (each retry waits twice as long, from 30 s).
    pub max_attempts: i32,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self { enabled: true, poll_interval_ms: 1000, lease_secs: 300, max_attempts: 5 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    /// How long after sending the sender may edit a text message.
    pub edit_window_secs: i64,
    /// How long after sending the sender may recall a message (group owners and admins: always).
    pub recall_window_secs: i64,
    /// An unanswered call invitation becomes a missed call after this long.
    pub ring_timeout_secs: i64,
    /// Longest text message, in characters.
    pub max_text_chars: usize,
    /// Largest group, owner included.
    pub max_group_members: usize,
    /// A person counts as online this long after their last live connection said so.
    pub presence_ttl_secs: u64,
    /// Messages one person may send per minute (retries of a stored message do not count).
    pub messages_per_minute: i64,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            edit_window_secs: 600,
            recall_window_secs: 120,
            ring_timeout_secs: 60,
            max_text_chars: 5000,
            max_group_members: 500,
            presence_ttl_secs: 60,
            messages_per_minute: 60,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebSocketConfig {
    pub init_timeout_secs: u64,
    pub ping_interval_secs: u64,
    pub max_subscriptions: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            env: Environment::Development,
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_max_connections: 10,
            redis_url: None,
            redis_prefix: "xqt:".into(),
            token_secret: None,
            data_key: None,
            calendar_file: None,
            trust_forwarded_for: false,
            accounts: AccountsConfig::default(),
            privacy: PrivacyConfig::default(),
            jobs: JobsConfig::default(),
            chat: ChatConfig::default(),
            log_format: LogFormat::Text,
            log_filter: "info".into(),
            limits: Limits::default(),
            websocket: WebSocketConfig::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 10,
            max_complexity: 2000,
            max_aliases: 30,
            max_batch: 10,
            max_body_bytes: 1024 * 1024,
            default_page_size: 20,
            max_page_size: 100,
            introspection: None,
        }
    }
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        Self { init_timeout_secs: 10, ping_interval_secs: 15, max_subscriptions: 20 }
    }
}

#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Defaults, then the file named by `XQT_CONFIG` (if any), then `XQT_*` variables.
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment())
    }

    pub fn figment() -> Figment {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Ok(path) = std::env::var("XQT_CONFIG") {
            figment = figment.merge(Toml::file_exact(path));
        }
        // XQT_CONFIG names the file; XQT_TEST_* belong to the test harness, not the server.
        let server_keys = Env::prefixed("XQT_")
            .filter(|key| key != "config" && !key.as_str().to_ascii_lowercase().starts_with("test_"));
        figment.merge(server_keys.split("__"))
    }

    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let config: Config = figment.extract().map_err(|e| ConfigError(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        if l.max_depth == 0 || l.max_complexity == 0 || l.max_body_bytes == 0 {
            return Err(ConfigError("limits.max_depth, max_complexity and max_body_bytes must be positive".into()));
        }
        if l.default_page_size == 0 || l.default_page_size > l.max_page_size {
            return Err(ConfigError("limits.default_page_size must be between 1 and limits.max_page_size".into()));
        }
        if self.websocket.max_subscriptions == 0 || self.websocket.init_timeout_secs == 0 {
            return Err(ConfigError("websocket.max_subscriptions and init_timeout_secs must be positive".into()));
        }
        if self.accounts.security_log_days < 180 {
            return Err(ConfigError(
                "accounts.security_log_days must be at least 180 (Cybersecurity Law Art. 21)".into(),
            ));
        }
        if self.accounts.access_token_minutes < 1
            || self.accounts.refresh_token_days < 1
            || self.accounts.lockout_after_failures < 1
        {
            return Err(ConfigError("accounts token lifetimes and lockout threshold must be positive".into()));
        }
        let c = &self.chat;
        if c.edit_window_secs < 0 || c.recall_window_secs < 0 || c.ring_timeout_secs < 5 || c.presence_ttl_secs < 5 {
            return Err(ConfigError(
                "chat.edit_window_secs and recall_window_secs must not be negative; ring_timeout_secs and \
                 presence_ttl_secs at least 5"
                    .into(),
            ));
        }
        if !(1..=100_000).contains(&c.max_text_chars)
            || !(2..=10_000).contains(&c.max_group_members)
            || c.messages_per_minute < 1
        {
            return Err(ConfigError(
                "chat.max_text_chars 1 to 100000; chat.max_group_members 2 to 10000; chat.messages_per_minute positive"
                    .into(),
            ));
        }
        if self.privacy.min_group_size < 2
            || self.privacy.analytics_retention_days < 1
            || self.privacy.guardian_confirm_days < 1
            || !(0..=14).contains(&self.privacy.cancellation_cooling_off_days)
        {
            return Err(ConfigError(
                "privacy.min_group_size must be at least 2; analytics_retention_days and guardian_confirm_days \
                 positive; cancellation_cooling_off_days 0 to 14"
                    .into(),
            ));
        }
        if self.jobs.lease_secs < 10 || self.jobs.max_attempts < 1 || self.jobs.poll_interval_ms == 0 {
            return Err(ConfigError(
                "jobs.lease_secs must be at least 10, jobs.max_attempts and jobs.poll_interval_ms positive".into(),
            ));
        }
        if self.env == Environment::Production {
            match &self.token_secret {
                Some(s) if s.len() >= 32 => {}
                _ => return Err(ConfigError("production needs XQT_TOKEN_SECRET of at least 32 characters".into())),
            }
            match &self.data_key {
                Some(s) if s.len() >= 32 => {}
                _ => return Err(ConfigError("production needs XQT_DATA_KEY of at least 32 characters".into())),
            }
        }
        Ok(())
    }

    pub fn introspection_enabled(&self) -> bool {
        self.limits.introspection.unwrap_or(self.env != Environment::Production)
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("xqt.db")
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return figment::Error, not ours
mod tests {
    use super::*;
    use figment::Jail;

    /// Every key of the configuration, nested ones as `section.key`.
    fn keys(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
        for (k, v) in value.as_object().into_iter().flatten() {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match v {
                serde_json::Value::Object(_) => keys(v, &key, out),
                _ => out.push(key),
            }
        }
    }

    #[test]
    fn every_setting_is_documented_in_the_readme() {
        let readme = include_str!("../../../README.md");
        let mut all = Vec::new();
        keys(&serde_json::to_value(Config::default()).unwrap(), "", &mut all);
        assert!(all.len() > 40, "{all:?}");
        let missing: Vec<&String> = all.iter().filter(|k| !readme.contains(&format!("`{k}`"))).collect();
        assert!(missing.is_empty(), "settings missing from README.md's configuration table: {missing:?}");
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = Config::default();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.limits.max_depth, 10);
        assert_eq!(c.limits.max_aliases, 30);
        assert_eq!(c.limits.max_batch, 10);
        assert!(c.introspection_enabled());
    }

    #[test]
    fn env_overrides_file_which_overrides_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file("xqt.toml", "listen = \"0.0.0.0:9000\"\n[limits]\nmax_depth = 7\nmax_aliases = 5\n")?;
            jail.set_env("XQT_CONFIG", "xqt.toml");
            jail.set_env("XQT_LIMITS__MAX_ALIASES", "12");
            jail.set_env("XQT_REDIS_URL", "redis://127.0.0.1:6379");
            let c = Config::load().expect("config loads");
            assert_eq!(c.listen, "0.0.0.0:9000");
            assert_eq!(c.limits.max_depth, 7);
            assert_eq!(c.limits.max_aliases, 12);
            assert_eq!(c.redis_url.as_deref(), Some("redis://127.0.0.1:6379"));
            Ok(())
        });
    }

    #[test]
    fn the_test_harness_variables_are_not_config() {
        Jail::expect_with(|jail| {
            jail.set_env("XQT_TEST_DATABASE_URL", "postgres://127.0.0.1/test");
            jail.set_env("XQT_TEST_REDIS_URL", "redis://127.0.0.1:6379");
            let c = Config::load().expect("the server starts beside the test harness's variables");
            assert_eq!(c.database_url, None);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        Jail::expect_with(|jail| {
            jail.set_env("XQT_LIMITS__MAX_DEPTHS", "3");
            assert!(Config::load().is_err(), "a misspelt key must not be ignored");
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("XQT_LIMITS__MAX_DEPTH", "0");
            assert!(Config::load().is_err());
            Ok(())
        });
    }

    #[test]
    fn security_logs_cannot_be_kept_shorter_than_the_law_asks() {
        Jail::expect_with(|jail| {
            jail.set_env("XQT_ACCOUNTS__SECURITY_LOG_DAYS", "90");
            assert!(Config::load().is_err(), "Cybersecurity Law Art. 21 wants at least six months");
            jail.set_env("XQT_ACCOUNTS__SECURITY_LOG_DAYS", "365");
            assert_eq!(Config::load().expect("a longer period is fine").accounts.security_log_days, 365);
            Ok(())
        });
    }

    #[test]
    fn production_requires_a_token_secret_and_turns_introspection_off() {
        Jail::expect_with(|jail| {
            jail.set_env("XQT_ENV", "production");
            assert!(Config::load().is_err());
            jail.set_env("XQT_TOKEN_SECRET", "0123456789abcdef0123456789abcdef");
            assert!(Config::load().is_err(), "a data key is required too");
            jail.set_env("XQT_DATA_KEY", "fedcba9876543210fedcba9876543210");
            let c = Config::load().expect("loads with a secret");
            assert!(!c.introspection_enabled());
            Ok(())
        });
    }
}
