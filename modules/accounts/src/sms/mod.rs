//! Sending SMS codes. `SmsGateway` is the seam; `[accounts.sms] provider` picks the client:
//! - `outbox` (built in, development and tests): each message is written to the `sms_messages`
//!   table (sealed phone, lookup hash) while the request is served, and logged — in full in
//!   development, masked anywhere else; `xqt sms last --phone …` prints the newest one.
//!   Production refuses to start on it.
//! - `aliyun`: Aliyun SMS (`aliyun.rs`). A code is a durable job (`accounts.sms`, phone and code
//!   sealed with the data key): the request returns once it is queued, the runner (woken at
//!   once) delivers it, a passing fault is retried while the code is still valid, and a refusal
//!   that will not pass (template, balance, credentials) is logged as an error and given up.
//!
//! `xqt_sms_total{provider, result}` counts every outcome: `delivered`, `retrying`, `expired`,
//! and each refusal (`rate_limited`, `bad_template`, …).

pub mod aliyun;

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use xqt_kernel::config::Environment;
use xqt_kernel::jobs::JobHandler;
use xqt_kernel::metrics::IntCounterVec;
use xqt_kernel::{AppContext, AppError, AppResult, ids};

use crate::config::{AccountsConfig, SmsProviderKind};
use crate::entity::sms_message;
use crate::phone::Phone;

/// The job that delivers one code through a real provider.
pub const DELIVER: &str = "accounts.sms";

static SENT: LazyLock<IntCounterVec> = LazyLock::new(|| {
    xqt_kernel::metrics::counter_vec("xqt_sms_total", "SMS codes by provider and outcome", &["provider", "result"])
});

fn count(provider: &str, result: &str) {
    SENT.with_label_values(&[provider, result]).inc();
}

/// Why a provider would not deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The provider's own per-number limits.
    RateLimited,
    /// The template code is not approved, or does not take `${code}`.
    BadTemplate,
    /// The sign name (短信签名) is not approved.
    BadSignName,
    /// The account is out of credit.
    InsufficientBalance,
    /// The provider will not send to this number.
    BadNumber,
    /// The AccessKey is wrong, disabled or lacks permission.
    BadCredentials,
    /// A fault that passes: tried again.
    Transient,
    Other,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::BadTemplate => "bad_template",
            Self::BadSignName => "bad_sign_name",
            Self::InsufficientBalance => "insufficient_balance",
            Self::BadNumber => "bad_number",
            Self::BadCredentials => "bad_credentials",
            Self::Transient => "transient",
            Self::Other => "other",
        }
    }
}

#[derive(Debug)]
pub enum Failure {
    /// Worth another try: the network, the provider's faults, throttling.
    Transient(String),
    /// Will fail the same way again.
    Rejected { reason: Rejection, detail: String },
}

#[async_trait]
pub trait SmsGateway: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Delivers the sign-in or confirmation code `code` to `to`.
    async fn send(&self, ctx: &AppContext, to: &Phone, code: &str) -> Result<(), Failure>;
}

/// The text the built-in provider records; real providers fill their approved template instead.
pub fn text_of(code: &str) -> String {
    format!("【校企通】验证码 {code}，5 分钟内有效。请勿告诉他人。")
}

/// The built-in provider: an outbox table anyone operating a test or demo can read.
pub struct Outbox;

impl Outbox {
    async fn write(ctx: &AppContext, to: &Phone, code: &str) -> AppResult<()> {
        let text = text_of(code);
        sms_message::ActiveModel {
            id: Set(ids::new_id()),
            phone_hash: Set(to.lookup_hash(ctx)),
            phone_sealed: Set(ctx.keys.seal(to.as_str())),
            body: Set(text.clone()),
            created_at: Set(ctx.clock.now()),
        }
        .insert(&ctx.db)
        .await?;
        // In development the code is what a developer needs to sign in: the log shows it whole.
        // Anywhere else the log keeps it masked.
        if ctx.config.env == Environment::Development {
            tracing::info!(to = %to.as_str(), text, "sms written to the outbox (development: shown in full)");
        } else {
            tracing::info!(to = %to.masked(), "sms written to the outbox");
        }
        Ok(())
    }
}

#[async_trait]
impl SmsGateway for Outbox {
    fn name(&self) -> &'static str {
        "outbox"
    }

    async fn send(&self, ctx: &AppContext, to: &Phone, code: &str) -> Result<(), Failure> {
        Self::write(ctx, to, code).await.map_err(|e| Failure::Transient(e.message().to_owned()))
    }
}

/// The configured provider.
pub fn gateway(ctx: &AppContext) -> Arc<dyn SmsGateway> {
    let config = ctx.config.section::<AccountsConfig>();
    match config.sms.provider {
        SmsProviderKind::Outbox => Arc::new(Outbox),
        SmsProviderKind::Aliyun => Arc::new(aliyun::Aliyun::new(&config.sms)),
    }
}

/// What the delivery job carries: phone and code sealed with the data key.
#[derive(Serialize, Deserialize)]
struct Sealed {
    phone: String,
    code: String,
    /// The code is useless after this; a delivery still failing then is given up.
    valid_until: DateTime<Utc>,
}

/// Sends `code` to `to`: written to the outbox now, or queued for the provider (the request does
/// not wait on it).
pub async fn deliver(ctx: &AppContext, to: &Phone, code: &str, valid_until: DateTime<Utc>) -> AppResult<()> {
    let provider = ctx.config.section::<AccountsConfig>().sms.provider;
    if provider == SmsProviderKind::Outbox {
        Outbox::write(ctx, to, code).await?;
        count("outbox", "delivered");
        return Ok(());
    }
    let seal = |s: &str| STANDARD.encode(ctx.keys.seal(s));
    let payload = Sealed { phone: seal(to.as_str()), code: seal(code), valid_until };
    let payload = serde_json::to_value(payload).map_err(AppError::internal)?;
    xqt_kernel::jobs::enqueue(ctx, DELIVER, payload, ctx.clock.now(), None).await?;
    xqt_kernel::jobs::wake();
    tracing::info!(to = %to.masked(), "sms code queued for the provider");
    Ok(())
}

struct Deliver;

#[async_trait]
impl JobHandler for Deliver {
    fn kind(&self) -> &'static str {
        DELIVER
    }

    async fn run(&self, ctx: &AppContext, payload: &serde_json::Value) -> AppResult<()> {
        let sealed: Sealed = serde_json::from_value(payload.clone()).map_err(AppError::internal)?;
        let gateway = gateway(ctx);
        let provider = gateway.name();
        if ctx.clock.now() > sealed.valid_until {
            count(provider, "expired");
            tracing::warn!(provider, "sms code expired before it could be delivered; given up");
            return Ok(());
        }
        let open = |s: &str| STANDARD.decode(s).map_err(AppError::internal).and_then(|b| ctx.keys.open(&b));
        let phone = Phone::parse(&open(&sealed.phone)?)?;
        let code = open(&sealed.code)?;
        match gateway.send(ctx, &phone, &code).await {
            Ok(()) => {
                count(provider, "delivered");
                tracing::info!(provider, to = %phone.masked(), "sms code delivered");
                Ok(())
            }
            Err(Failure::Transient(detail)) => {
                count(provider, "retrying");
                Err(AppError::internal(format!("sms not delivered yet, will retry: {detail}")))
            }
            Err(Failure::Rejected { reason, detail }) => {
                count(provider, reason.as_str());
                tracing::error!(provider, reason = reason.as_str(), to = %phone.masked(), detail, "sms code refused by the provider; given up");
                Ok(())
            }
        }
    }
}

pub fn handlers() -> Vec<Arc<dyn JobHandler>> {
    vec![Arc::new(Deliver)]
}

/// The newest outbox message to `phone` (what the built-in provider "delivered").
pub async fn latest_to(ctx: &AppContext, phone: &Phone) -> AppResult<Option<String>> {
    Ok(sms_message::Entity::find()
        .filter(sms_message::Column::PhoneHash.eq(phone.lookup_hash(ctx)))
        .order_by_desc(sms_message::Column::Id)
        .one(&ctx.db)
        .await?
        .map(|m| m.body))
}
