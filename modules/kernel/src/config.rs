//! The one typed configuration, read once at start-up: defaults, then an optional TOML file
//! (`XQT_CONFIG`), then `XQT_*` environment variables (nested keys with `__`). This file holds
//! the kernel's own settings; each module declares its section (`[chat]`, `[accounts]`, …) as a
//! `ConfigSection` through its `Module` value, read from the same sources, and reads it back with
//! `config.section::<T>()`. A key nobody declared is refused.

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Text settings that may look like numbers (an app id `7438807359`, an all-digit secret): an
/// environment variable's value is read as a number when it looks like one, and this takes it
/// back as the text it was. (A value whose leading zeros matter is quoted: `XQT_…='"007"'`.)
pub mod text {
    use serde::Deserializer;
    use serde::de::{Error, Visitor};

    struct Text;

    impl Visitor<'_> for Text {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("text")
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u128<E: Error>(self, v: u128) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i128<E: Error>(self, v: i128) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_bool<E: Error>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        d.deserialize_any(Text)
    }

    /// The same for an optional setting.
    pub mod optional {
        use serde::{Deserialize, Deserializer};

        #[derive(Deserialize)]
        struct Wrapped(#[serde(deserialize_with = "super::deserialize")] String);

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
            Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
        }
    }
}

/// A module's own settings: its section of the configuration, with its defaults (`Default`),
/// docs (on its fields) and checks. Unknown keys in it are refused
/// (`#[serde(default, deny_unknown_fields)]` on the struct).
pub trait ConfigSection: Serialize + DeserializeOwned + Default + Clone + Send + Sync + 'static {
    /// The section's key: `[chat]` in the file, `XQT_CHAT__…` in the environment.
    const NAME: &'static str;
    /// Refuses values the module cannot run with, saying which and why.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// A loaded section, its type erased.
type AnySection = Arc<dyn Any + Send + Sync>;

/// A section as the registry holds it, its type erased: how to read, check and show it.
#[derive(Clone)]
pub struct SectionSpec {
    pub name: &'static str,
    type_id: TypeId,
    defaults: fn() -> serde_json::Value,
    load: fn(Option<Value>) -> Result<AnySection, ConfigError>,
}

impl SectionSpec {
    pub fn of<T: ConfigSection>() -> Self {
        fn load<T: ConfigSection>(value: Option<Value>) -> Result<AnySection, ConfigError> {
            let section: T = match value {
                Some(v) => v.deserialize().map_err(|e| ConfigError(format!("[{}] {e}", T::NAME)))?,
                None => T::default(),
            };
            section.validate().map_err(|e| ConfigError(format!("{}.{e}", T::NAME)))?;
            Ok(Arc::new(section))
        }
        fn defaults<T: ConfigSection>() -> serde_json::Value {
            serde_json::to_value(T::default()).unwrap_or_default()
        }
        Self { name: T::NAME, type_id: TypeId::of::<T>(), defaults: defaults::<T>, load: load::<T> }
    }

    /// The section's defaults, as JSON (the README's configuration table is checked against them).
    pub fn defaults(&self) -> serde_json::Value {
        (self.defaults)()
    }
}

/// The modules' sections, read and checked; keyed by their type.
#[derive(Clone, Default)]
pub struct Sections(BTreeMap<&'static str, (TypeId, AnySection)>);

impl std::fmt::Debug for Sections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

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
    #[serde(deserialize_with = "text::optional::deserialize")]
    pub token_secret: Option<String>,
    /// Key that seals personal identifiers at rest and keys their lookup hashes. Required in
    /// production; elsewhere kept in `<data_dir>/data.key`, created on first start.
    #[serde(deserialize_with = "text::optional::deserialize")]
    pub data_key: Option<String>,
    /// A holiday calendar file replacing the built-in one (same TOML shape), for a new year's notice.
    pub calendar_file: Option<PathBuf>,
    /// Take the client address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Web origins whose pages may call the API from a browser (`https://app.example.com`,
    /// exactly). Unset: none in production; any `http://localhost` or `http://127.0.0.1` port
    /// elsewhere, for a frontend's dev server.
    pub cors_origins: Option<Vec<String>>,
    /// Where GraphiQL's built assets are (`npm ci && npm run build` in `web/`); served at
    /// `/graphql` outside production.
    pub graphiql_dir: PathBuf,
    /// Bearer token `/metrics` asks for. Unset: `/metrics` is open outside production and not
    /// served in production (where it would tell anyone the traffic and error rates).
    #[serde(deserialize_with = "text::optional::deserialize")]
    pub metrics_token: Option<String>,
    pub tls: TlsConfig,
    pub files: FilesConfig,
    pub persisted_queries: PersistedQueriesConfig,
    pub jobs: JobsConfig,
    pub log_format: LogFormat,
    /// `tracing` filter directives, e.g. `info,xqt=debug`.
    pub log_filter: String,
    pub limits: Limits,
    pub websocket: WebSocketConfig,
    /// Each module's section, by type (`section::<T>()`).
    #[serde(skip)]
    pub sections: Sections,
}

/// Persisted queries: Apollo's automatic persisted queries (a hash stands for a query the
/// server has seen), kept in the shared cache so every instance knows them; or, with
/// `allow_list`, only the operations of a persisted-query manifest run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersistedQueriesConfig {
    /// An Apollo persisted-query manifest (`{"format":"apollo-persisted-query-manifest",
    /// "version":1,"operations":[{"id":"<sha256>","body":"…"}]}`): set, only its operations run.
    pub allow_list: Option<PathBuf>,
    /// How long an automatically persisted query is kept after it was last registered.
    pub ttl_days: u32,
}

impl Default for PersistedQueriesConfig {
    fn default() -> Self {
        Self { allow_list: None, ttl_days: 30 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub max_depth: usize,
    /// Total weight of a query; list fields count their page size times their children.
    pub max_complexity: usize,
    pub max_aliases: usize,
    /// Field selections and fragment spreads written in one document (before fragments expand;
    /// complexity weighs the expansion).
    pub max_fields: usize,
    /// Directives written in one document.
    pub max_directives: usize,
    /// Largest batch of operations in one POST; 0 turns batching off.
    pub max_batch: usize,
    pub max_body_bytes: usize,
    pub default_page_size: usize,
    pub max_page_size: usize,
    /// `None` follows `env`: on everywhere but production.
    pub introspection: Option<bool>,
}

/// Encrypted transmission (POLICY SEC-3): the server speaks HTTPS and WSS itself with
/// `cert_file` and `key_file`, or sits behind a TLS-terminating proxy (`behind_proxy`). Production
/// refuses to start with neither.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first). With `key_file`, every connection is TLS; a renewed
    /// certificate written over these files is picked up without a restart.
    pub cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for `cert_file`.
    pub key_file: Option<PathBuf>,
    /// TLS ends at a proxy in front of this server: requests count as encrypted only when one of
    /// `trusted_proxies` says so with `X-Forwarded-Proto: https`; others are refused
    /// (`HTTPS_REQUIRED`), except the health and readiness probes.
    pub behind_proxy: bool,
    /// Addresses (`10.0.0.5`) or networks (`10.0.0.0/8`) of the proxies whose
    /// `X-Forwarded-Proto` is believed. Needed with `behind_proxy`.
    pub trusted_proxies: Vec<String>,
}

/// Where uploaded files are kept: `<data_dir>/files` on this machine, or an S3-compatible store
/// every instance shares (Aliyun OSS, Tencent COS, Huawei OBS, MinIO, …).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilesConfig {
    pub store: FileStoreKind,
    /// With the local folder: a second instance behind the same load balancer cannot read it, so
    /// production starts on it only when this says there is one instance.
    pub single_instance: bool,
    pub s3_bucket: Option<String>,
    /// The store's endpoint (`https://oss-cn-hangzhou.aliyuncs.com`, `https://cos.ap-shanghai.myqcloud.com`,
    /// `http://127.0.0.1:9000`); unset: AWS's own for `s3_region`.
    pub s3_endpoint: Option<String>,
    pub s3_region: String,
    #[serde(deserialize_with = "text::optional::deserialize")]
    pub s3_access_key_id: Option<String>,
    #[serde(deserialize_with = "text::optional::deserialize")]
    pub s3_secret_access_key: Option<String>,
    /// Address buckets as `bucket.endpoint` (OSS and COS need it) rather than `endpoint/bucket`.
    pub s3_virtual_hosted_style: bool,
}

impl Default for FilesConfig {
    fn default() -> Self {
        Self {
            store: FileStoreKind::Local,
            single_instance: false,
            s3_bucket: None,
            s3_endpoint: None,
            // What S3-compatible servers answer to unless told otherwise; OSS wants its own
            // (`oss-cn-hangzhou`), COS its (`ap-shanghai`).
            s3_region: "us-east-1".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_virtual_hosted_style: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStoreKind {
    #[default]
    Local,
    S3,
}

impl FilesConfig {
    fn validate(&self, env: Environment) -> Result<(), ConfigError> {
        match self.store {
            FileStoreKind::Local if env == Environment::Production && !self.single_instance => Err(ConfigError(
                "production keeps files in <data_dir>/files on this machine, where other instances cannot read them: \
                 set files.store = \"s3\" (XQT_FILES__STORE) with its bucket, or files.single_instance = true \
                 (XQT_FILES__SINGLE_INSTANCE) when this is the only instance"
                    .into(),
            )),
            FileStoreKind::S3 => {
                let blank = |v: &Option<String>| v.as_deref().is_none_or(|v| v.trim().is_empty());
                let missing: Vec<&str> = [
                    ("files.s3_bucket", blank(&self.s3_bucket)),
                    ("files.s3_access_key_id", blank(&self.s3_access_key_id)),
                    ("files.s3_secret_access_key", blank(&self.s3_secret_access_key)),
                ]
                .into_iter()
                .filter(|(_, missing)| *missing)
                .map(|(k, _)| k)
                .collect();
                if !missing.is_empty() {
                    return Err(ConfigError(format!("files.store = \"s3\" needs {}", missing.join(", "))));
                }
                if let Some(endpoint) = &self.s3_endpoint {
                    let https = endpoint.starts_with("https://");
                    if !https && !endpoint.starts_with("http://") {
                        return Err(ConfigError("files.s3_endpoint must be an http(s) URL".into()));
                    }
                    if !https && env == Environment::Production {
                        return Err(ConfigError(
                            "files.s3_endpoint must be https:// in production (POLICY SEC-3: files travel encrypted)"
                                .into(),
                        ));
                    }
                }
                Ok(())
            }
            FileStoreKind::Local => Ok(()),
        }
    }
}

/// An address or network (`a.b.c.d`, `a.b.c.d/n`, IPv6 the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl IpNetwork {
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = s.trim().split_once('/').map_or((s.trim(), None), |(a, p)| (a, Some(p)));
        let addr: std::net::IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Self { addr, prefix })
    }

    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (std::net::IpAddr::V4(net), std::net::IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (std::net::IpAddr::V6(net), std::net::IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl TlsConfig {
    /// The server terminates TLS itself.
    pub fn terminates(&self) -> bool {
        self.cert_file.is_some() && self.key_file.is_some()
    }

    /// The networks of `trusted_proxies` (checked at load, so none is dropped here).
    pub fn proxies(&self) -> Vec<IpNetwork> {
        self.trusted_proxies.iter().filter_map(|p| IpNetwork::parse(p)).collect()
    }

    fn validate(&self, env: Environment) -> Result<(), ConfigError> {
        if self.cert_file.is_some() != self.key_file.is_some() {
            return Err(ConfigError(
                "tls.cert_file and tls.key_file go together (XQT_TLS__CERT_FILE, XQT_TLS__KEY_FILE)".into(),
            ));
        }
        if self.terminates() && self.behind_proxy {
            return Err(ConfigError(
                "tls.behind_proxy is for a proxy that ends TLS; with tls.cert_file this server ends it: set one".into(),
            ));
        }
        if let Some(bad) = self.trusted_proxies.iter().find(|p| IpNetwork::parse(p).is_none()) {
            return Err(ConfigError(format!(
                "tls.trusted_proxies: {bad:?} is not an address or network (10.0.0.5, 10.0.0.0/8, fd00::/8)"
            )));
        }
        if self.behind_proxy && self.trusted_proxies.is_empty() {
            return Err(ConfigError(
                "tls.behind_proxy needs tls.trusted_proxies (XQT_TLS__TRUSTED_PROXIES): the proxies whose \
                 X-Forwarded-Proto is believed"
                    .into(),
            ));
        }
        if env == Environment::Production && !self.terminates() && !self.behind_proxy {
            return Err(ConfigError(
                "production serves only encrypted connections (POLICY SEC-3): set tls.cert_file and tls.key_file \
                 (XQT_TLS__CERT_FILE, XQT_TLS__KEY_FILE), or tls.behind_proxy = true with tls.trusted_proxies \
                 when a proxy in front ends TLS"
                    .into(),
            ));
        }
        Ok(())
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
    /// Jobs this process runs at once (pushes to a group wait on the network, not the CPU).
    pub concurrency: usize,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self { enabled: true, poll_interval_ms: 1000, lease_secs: 300, max_attempts: 5, concurrency: 8 }
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
            cors_origins: None,
            graphiql_dir: PathBuf::from("web/dist"),
            metrics_token: None,
            tls: TlsConfig::default(),
            files: FilesConfig::default(),
            persisted_queries: PersistedQueriesConfig::default(),
            jobs: JobsConfig::default(),
            log_format: LogFormat::Text,
            log_filter: "info".into(),
            limits: Limits::default(),
            websocket: WebSocketConfig::default(),
            sections: Sections::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 10,
            max_complexity: 2000,
            max_aliases: 30,
            max_fields: 300,
            max_directives: 50,
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
    /// Defaults, then the file named by `XQT_CONFIG` (if any), then `XQT_*` variables; the
    /// kernel's settings and every given module section.
    pub fn load(sections: &[SectionSpec]) -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment(), sections)
    }

    /// Where the settings come from: the file named by `XQT_CONFIG` (if any), then `XQT_*`
    /// variables. Defaults are the types' own.
    pub fn figment() -> Figment {
        let mut figment = Figment::new();
        if let Ok(path) = std::env::var("XQT_CONFIG") {
            figment = figment.merge(Toml::file_exact(path));
        }
        // XQT_CONFIG names the file; XQT_TEST_* belong to the test harness, not the server.
        let server_keys = Env::prefixed("XQT_")
            .filter(|key| key != "config" && !key.as_str().to_ascii_lowercase().starts_with("test_"));
        figment.merge(server_keys.split("__"))
    }

    /// Splits the sources into the kernel's settings and each module's section, and checks
    /// both. A top-level key that is neither is refused like a misspelt one.
    pub fn from_figment(figment: Figment, sections: &[SectionSpec]) -> Result<Self, ConfigError> {
        let mut given: Dict = figment.extract().map_err(|e| ConfigError(e.to_string()))?;
        let mut loaded = Sections::default();
        for spec in sections {
            if loaded.0.contains_key(spec.name) {
                return Err(ConfigError(format!("config section `{}` declared twice", spec.name)));
            }
            let section = (spec.load)(given.remove(spec.name))?;
            loaded.0.insert(spec.name, (spec.type_id, section));
        }
        let kernel = Figment::from(Serialized::defaults(Config::default())).merge(Serialized::defaults(given));
        let mut config: Config = kernel.extract().map_err(|e| ConfigError(e.to_string()))?;
        config.validate()?;
        config.sections = loaded;
        Ok(config)
    }

    /// A module's section as configured; its defaults when the module was not given to `load`
    /// (a context built by hand, a unit test).
    pub fn section<T: ConfigSection>(&self) -> Arc<T> {
        match self.sections.0.get(T::NAME) {
            Some((id, value)) if *id == TypeId::of::<T>() => {
                Arc::clone(value).downcast::<T>().unwrap_or_else(|_| Arc::new(T::default()))
            }
            _ => Arc::new(T::default()),
        }
    }

    /// Changes a section in place (tests and tools that build a configuration in code).
    pub fn update<T: ConfigSection>(&mut self, change: impl FnOnce(&mut T)) {
        let mut section = (*self.section::<T>()).clone();
        change(&mut section);
        self.sections.0.insert(T::NAME, (TypeId::of::<T>(), Arc::new(section)));
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
        if !(1..=256).contains(&self.jobs.concurrency) {
            return Err(ConfigError("jobs.concurrency must be between 1 and 256".into()));
        }
        if self.jobs.lease_secs < 10 || self.jobs.max_attempts < 1 || self.jobs.poll_interval_ms == 0 {
            return Err(ConfigError(
                "jobs.lease_secs must be at least 10, jobs.max_attempts and jobs.poll_interval_ms positive".into(),
            ));
        }
        for origin in self.cors_origins.iter().flatten() {
            if !is_origin(origin) {
                return Err(ConfigError(format!(
                    "cors_origins: {origin:?} is not an origin; write scheme://host[:port] with no path, one per page's address (no wildcard)"
                )));
            }
        }
        if self.metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(ConfigError("metrics_token must be at least 16 characters".into()));
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
        self.tls.validate(self.env)?;
        self.files.validate(self.env)?;
        Ok(())
    }

    /// Whether a browser page from `origin` may call the API (see `cors_origins`).
    pub fn allows_origin(&self, origin: &str) -> bool {
        match &self.cors_origins {
            Some(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
            None if self.env == Environment::Production => false,
            None => ["http://localhost", "http://127.0.0.1", "http://[::1]"].iter().any(|local| {
                origin.strip_prefix(local).is_some_and(|port| {
                    port.is_empty() || port.strip_prefix(':').is_some_and(|p| p.parse::<u16>().is_ok())
                })
            }),
        }
    }

    pub fn introspection_enabled(&self) -> bool {
        self.limits.introspection.unwrap_or(self.env != Environment::Production)
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("xqt.db")
    }
}

/// `scheme://host[:port]`, nothing after: what a browser sends as `Origin`.
fn is_origin(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else { return false };
    let host = rest.rsplit_once(':').map_or(rest, |(h, port)| if port.parse::<u16>().is_ok() { h } else { rest });
    matches!(scheme, "http" | "https")
        && !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return figment::Error, not ours
mod tests {
    use super::*;
    use figment::Jail;

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
            let c = Config::load(&[]).expect("config loads");
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
            let c = Config::load(&[]).expect("the server starts beside the test harness's variables");
            assert_eq!(c.database_url, None);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        Jail::expect_with(|jail| {
            jail.set_env("XQT_LIMITS__MAX_DEPTHS", "3");
            assert!(Config::load(&[]).is_err(), "a misspelt key must not be ignored");
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("XQT_LIMITS__MAX_DEPTH", "0");
            assert!(Config::load(&[]).is_err());
            Ok(())
        });
    }

    /// A module's section, as a module declares one.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Greeting {
        text: String,
        times: u32,
    }

    impl Default for Greeting {
        fn default() -> Self {
            Self { text: "你好".into(), times: 1 }
        }
    }

    impl ConfigSection for Greeting {
        const NAME: &'static str = "greeting";
        fn validate(&self) -> Result<(), String> {
            if self.times == 0 { Err("times must be positive".into()) } else { Ok(()) }
        }
    }

    #[test]
    fn a_module_section_is_read_from_the_same_sources_and_checked() {
        let sections = [SectionSpec::of::<Greeting>()];
        Jail::expect_with(|jail| {
            let c = Config::load(&sections).expect("defaults load");
            assert_eq!(*c.section::<Greeting>(), Greeting::default());
            jail.create_file("xqt.toml", "[greeting]\ntext = \"早上好\"\n[limits]\nmax_depth = 7\n")?;
            jail.set_env("XQT_CONFIG", "xqt.toml");
            jail.set_env("XQT_GREETING__TIMES", "3");
            let c = Config::load(&sections).expect("file and environment");
            assert_eq!(*c.section::<Greeting>(), Greeting { text: "早上好".into(), times: 3 });
            assert_eq!(c.limits.max_depth, 7, "the kernel's own settings beside it");
            jail.set_env("XQT_GREETING__TIMES", "0");
            let e = Config::load(&sections).unwrap_err().to_string();
            assert!(e.contains("greeting.times must be positive"), "{e}");
            jail.set_env("XQT_GREETING__TIMES", "2");
            jail.set_env("XQT_GREETING__TEXTS", "x");
            assert!(Config::load(&sections).is_err(), "a misspelt key inside a section is refused");
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("XQT_GREETING__TIMES", "2");
            assert!(Config::load(&[]).is_err(), "a section no module declared is refused");
            Ok(())
        });
    }

    #[test]
    fn cors_origins_are_exact_origins_with_localhost_outside_production_by_default() {
        let dev = Config::default();
        assert!(dev.allows_origin("http://localhost:5173") && dev.allows_origin("http://127.0.0.1"));
        assert!(!dev.allows_origin("http://localhost.evil.com") && !dev.allows_origin("https://app.example.com"));
        let production = Config { env: Environment::Production, ..Config::default() };
        assert!(!production.allows_origin("http://localhost:5173"), "none by default in production");
        let listed = Config { cors_origins: Some(vec!["https://app.xiaoqitong.cn".into()]), ..production.clone() };
        assert!(listed.allows_origin("https://app.xiaoqitong.cn") && !listed.allows_origin("https://evil.cn"));
        for bad in ["*", "https://app.example.com/", "app.example.com", "ftp://x.cn", "https://a.cn/path"] {
            let c = Config { cors_origins: Some(vec![bad.into()]), ..Config::default() };
            assert!(c.validate().is_err(), "{bad} is refused");
        }
        let c = Config { cors_origins: Some(vec!["https://app.example.com:8443".into()]), ..Config::default() };
        assert!(c.validate().is_ok());
    }

    #[test]
    fn production_requires_a_token_secret_and_turns_introspection_off() {
        Jail::expect_with(|jail| {
            jail.set_env("XQT_ENV", "production");
            assert!(Config::load(&[]).is_err());
            jail.set_env("XQT_TOKEN_SECRET", "0123456789abcdef0123456789abcdef");
            assert!(Config::load(&[]).is_err(), "a data key is required too");
            jail.set_env("XQT_DATA_KEY", "fedcba9876543210fedcba9876543210");
            jail.set_env("XQT_TLS__BEHIND_PROXY", "true");
            jail.set_env("XQT_TLS__TRUSTED_PROXIES", "[10.0.0.0/8]");
            let e = Config::load(&[]).unwrap_err().to_string();
            assert!(e.contains("XQT_FILES__SINGLE_INSTANCE"), "files on one machine's disk: {e}");
            jail.set_env("XQT_FILES__SINGLE_INSTANCE", "true");
            let c = Config::load(&[]).expect("loads with a secret");
            assert!(!c.introspection_enabled());
            Ok(())
        });
    }

    #[test]
    fn sec_3_production_refuses_plain_http() {
        Jail::expect_with(|jail| {
            jail.set_env("XQT_ENV", "production");
            jail.set_env("XQT_TOKEN_SECRET", "0123456789abcdef0123456789abcdef");
            jail.set_env("XQT_DATA_KEY", "fedcba9876543210fedcba9876543210");
            jail.set_env("XQT_FILES__SINGLE_INSTANCE", "true");
            let e = Config::load(&[]).unwrap_err().to_string();
            assert!(e.contains("SEC-3") && e.contains("XQT_TLS__CERT_FILE") && e.contains("tls.behind_proxy"), "{e}");
            jail.set_env("XQT_TLS__CERT_FILE", "/etc/xqt/cert.pem");
            let e = Config::load(&[]).unwrap_err().to_string();
            assert!(e.contains("tls.key_file"), "a certificate without its key: {e}");
            jail.set_env("XQT_TLS__KEY_FILE", "/etc/xqt/key.pem");
            let c = Config::load(&[]).expect("production with a certificate");
            assert!(c.tls.terminates());
            jail.set_env("XQT_TLS__BEHIND_PROXY", "true");
            let e = Config::load(&[]).unwrap_err().to_string();
            assert!(e.contains("set one"), "both ends of TLS at once: {e}");
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("XQT_ENV", "production");
            jail.set_env("XQT_TOKEN_SECRET", "0123456789abcdef0123456789abcdef");
            jail.set_env("XQT_DATA_KEY", "fedcba9876543210fedcba9876543210");
            jail.set_env("XQT_FILES__SINGLE_INSTANCE", "true");
            jail.set_env("XQT_TLS__BEHIND_PROXY", "true");
            let e = Config::load(&[]).unwrap_err().to_string();
            assert!(e.contains("XQT_TLS__TRUSTED_PROXIES"), "a proxy nobody named: {e}");
            jail.set_env("XQT_TLS__TRUSTED_PROXIES", "[10.0.0.0/33]");
            let e = Config::load(&[]).unwrap_err().to_string();
            assert!(e.contains("10.0.0.0/33"), "{e}");
            jail.set_env("XQT_TLS__TRUSTED_PROXIES", "[10.1.2.3, \"fd00::/8\"]");
            let c = Config::load(&[]).expect("behind named proxies");
            assert_eq!(c.tls.proxies().len(), 2);
            Ok(())
        });
        // Outside production plain HTTP stays the embedded default.
        Jail::expect_with(|_| {
            Config::load(&[]).expect("development without TLS");
            Ok(())
        });
    }

    #[test]
    fn text_settings_that_look_like_numbers_stay_text() {
        Jail::expect_with(|jail| {
            jail.set_env("XQT_TOKEN_SECRET", "12345678901234567890123456789012");
            jail.set_env("XQT_METRICS_TOKEN", "\"0000111122223333\"");
            let c = Config::load(&[]).expect("numeric-looking secrets load");
            assert_eq!(c.token_secret.as_deref(), Some("12345678901234567890123456789012"));
            assert_eq!(c.metrics_token.as_deref(), Some("0000111122223333"), "quoted, leading zeros kept");
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_match_addresses_and_networks() {
        let net = |s| IpNetwork::parse(s).unwrap_or_else(|| panic!("{s} parses"));
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(net("10.0.0.0/8").contains(ip("10.200.3.4")) && !net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(net("10.1.2.3").contains(ip("10.1.2.3")) && !net("10.1.2.3").contains(ip("10.1.2.4")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(net("127.0.0.1").contains(ip("::ffff:127.0.0.1")), "an IPv4 peer on a dual-stack socket");
        assert!(net("fd00::/8").contains(ip("fd12::1")) && !net("fd00::/8").contains(ip("fe80::1")));
        assert!(net("::/0").contains(ip("::1")) && !net("::/0").contains(ip("10.0.0.1")), "families do not mix");
        for bad in ["10.0.0.0/33", "fd00::/129", "localhost", "10.0.0", ""] {
            assert!(IpNetwork::parse(bad).is_none(), "{bad}");
        }
    }
}
