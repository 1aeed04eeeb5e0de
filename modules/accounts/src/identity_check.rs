//! Automatic real-name checks: a configured provider compares the submitted name and ID number
//! with the authoritative record (a two-element check, 二要素核验) and a match is approved without
//! waiting for a reviewer. Anything else — a mismatch, no record, the provider refusing — leaves
//! the submission for a person to review, as without a provider. `[accounts.identity]` picks the
//! provider: `none` (every submission is reviewed by hand) or `aliyun` (Aliyun ID Verification,
//! `Id2MetaVerify` of cloudauth 2019-03-07, over the same signed RPC interface as its SMS).
//!
//! The check is a durable job (`accounts.identity_check`), queued with the submission and the
//! runner woken; the submission's own sealed fields are read back, nothing else is stored.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use uuid::Uuid;
use xqt_kernel::jobs::JobHandler;
use xqt_kernel::{AppContext, AppError, AppResult};

use crate::config::{AccountsConfig, IdentityProviderKind};
use crate::entity::identity_verification as iv;
use crate::review::ReviewAction;

pub const CHECK: &str = "accounts.identity_check";
/// The reviewer recorded on a submission the provider's check approved.
pub const AUTOMATIC_REVIEWER: Uuid = Uuid::nil();

/// What the authoritative record says of a name and ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Match,
    Mismatch,
    NoRecord,
}

#[async_trait]
pub trait IdentityVerifier: Send + Sync + 'static {
    /// The verdict, or why there is none (an error: the job tries again later).
    async fn check(&self, ctx: &AppContext, real_name: &str, id_number: &str) -> AppResult<Option<Verdict>>;
}

/// Aliyun ID Verification's two-element check.
pub struct AliyunId2Meta {
    endpoint: String,
    access_key_id: String,
    access_key_secret: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    code: Option<serde_json::Value>,
    message: Option<String>,
    result_object: Option<ResultObject>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ResultObject {
    biz_code: Option<serde_json::Value>,
}

fn text(v: &Option<serde_json::Value>) -> String {
    match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

#[async_trait]
impl IdentityVerifier for AliyunId2Meta {
    async fn check(&self, ctx: &AppContext, real_name: &str, id_number: &str) -> AppResult<Option<Verdict>> {
        let own = [("ParamType", "normal"), ("UserName", real_name), ("IdentifyNum", id_number)];
        let form = crate::aliyun::signed_form(
            "Id2MetaVerify",
            "2019-03-07",
            &own,
            &self.access_key_id,
            &self.access_key_secret,
            ctx.clock.now(),
        );
        let resp = self
            .http
            .post(&self.endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(crate::aliyun::body_of(&form))
            .send()
            .await
            .map_err(|e| AppError::internal(format!("aliyun id verification unreachable: {e}")))?;
        let status = resp.status();
        let answer: Answer = resp.json().await.map_err(|e| {
            AppError::internal(format!("aliyun id verification answered HTTP {status} without JSON: {e}"))
        })?;
        let code = text(&answer.code);
        match code.as_str() {
            "200" => Ok(match answer.result_object.as_ref().map(|r| text(&r.biz_code)).as_deref() {
                Some("1") => Some(Verdict::Match),
                Some("2") => Some(Verdict::Mismatch),
                Some("3") => Some(Verdict::NoRecord),
                other => return Err(AppError::internal(format!("aliyun id verification: BizCode {other:?}"))),
            }),
            // The name or number does not fit the provider's rules: a person looks at it.
            "401" => Ok(None),
            // Its source is down, it is busy, or its own fault: try again later.
            "402" | "403" | "500" => Err(AppError::internal(format!(
                "aliyun id verification {code}: {}",
                answer.message.unwrap_or_default()
            ))),
            // Not enabled, no permission, out of credit, bad key: the operator must act; a person
            // reviews meanwhile.
            _ => {
                tracing::error!(
                    code,
                    message = answer.message.as_deref().unwrap_or(""),
                    "aliyun id verification refused; reviewed by hand"
                );
                Ok(None)
            }
        }
    }
}

/// The configured verifier, if any.
pub fn verifier(ctx: &AppContext) -> Option<Arc<dyn IdentityVerifier>> {
    let config = ctx.config.section::<AccountsConfig>();
    let c = &config.identity;
    match c.provider {
        IdentityProviderKind::None => None,
        IdentityProviderKind::Aliyun => Some(Arc::new(AliyunId2Meta {
            endpoint: c.aliyun_endpoint.clone(),
            access_key_id: c.aliyun_access_key_id.clone().unwrap_or_default(),
            access_key_secret: c.aliyun_access_key_secret.clone().unwrap_or_default(),
            http: crate::aliyun::http(),
        })),
    }
}

/// Queues the check of a new submission when a provider is configured.
pub async fn queue(ctx: &AppContext, submission: Uuid) -> AppResult<()> {
    if verifier(ctx).is_some() {
        let payload = serde_json::json!({ "verification": submission });
        xqt_kernel::jobs::enqueue(ctx, CHECK, payload, ctx.clock.now(), None).await?;
        xqt_kernel::jobs::wake();
    }
    Ok(())
}

struct Check;

#[async_trait]
impl JobHandler for Check {
    fn kind(&self) -> &'static str {
        CHECK
    }

    async fn run(&self, ctx: &AppContext, payload: &serde_json::Value) -> AppResult<()> {
        let Some(verifier) = verifier(ctx) else { return Ok(()) };
        let id = payload["verification"].as_str().and_then(|s| s.parse::<Uuid>().ok());
        let Some(id) = id else { return Ok(()) };
        use sea_orm::EntityTrait;
        let Some(row) = iv::Entity::find_by_id(id).one(&ctx.db).await? else { return Ok(()) };
        // A reviewer decided first, or the person withdrew: nothing to check.
        if !row.state.is_open() {
            return Ok(());
        }
        let real_name = ctx.keys.open(&row.real_name_sealed)?;
        let id_number = ctx.keys.open(&row.id_number_sealed)?;
        match verifier.check(ctx, &real_name, &id_number).await? {
            Some(Verdict::Match) => {
                match crate::verification::review(ctx, AUTOMATIC_REVIEWER, id, ReviewAction::Approve, None).await {
                    Ok(_) => tracing::info!(verification = %id, "real name approved by the provider's check"),
                    // Decided by a reviewer meanwhile.
                    Err(e) if e.code() == xqt_kernel::ErrorCode::Conflict => {}
                    Err(e) => return Err(e),
                }
            }
            verdict => {
                tracing::info!(verification = %id, ?verdict, "real name left for a reviewer");
            }
        }
        Ok(())
    }
}

pub fn handlers() -> Vec<Arc<dyn JobHandler>> {
    vec![Arc::new(Check)]
}
