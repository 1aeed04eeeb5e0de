//! A client of e签宝's open platform, SaaS API v3 (https://open.esign.cn), with its request
//! signature and its callback signature.
//!
//! Requests ("请求签名鉴权"): headers `X-Tsign-Open-App-Id`, `X-Tsign-Open-Auth-Mode: Signature`,
//! `X-Tsign-Open-Ca-Timestamp` (milliseconds; valid 15 minutes), `Content-MD5` (base64 of the
//! body's MD5) and `X-Tsign-Open-Ca-Signature`: base64 of HMAC-SHA256, keyed with the app
//! secret, over `METHOD\nAccept\nContent-MD5\nContent-Type\nDate\n` + headers + the path with
//! its query sorted by key. Answers are `{ code, message, data }`, `code` 0 on success.
//!
//! Callbacks ("签署回调通知"): a JSON POST with `X-Tsign-Open-App-Id`, `X-Tsign-Open-TIMESTAMP`
//! (milliseconds) and `X-Tsign-Open-SIGNATURE`: hex of HMAC-SHA256, keyed with the app secret,
//! over the timestamp + the query's values sorted by key + the raw body.
//!
//! A flow is created from a filled template (`/v3/files/create-by-doc-template`), created
//! unstarted (`/v3/sign-flow/create-by-file`), given its signers
//! (`/v3/sign-flow/{id}/signers/sign-fields/add`) and started (`/v3/sign-flow/{id}/start`).

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde_json::{Value, json};
use sha2::Sha256;
use xqt_kernel::{AppContext, AppResult};

use super::{Document, SignatureProvider, Signer, Started};
use crate::config::CooperationConfig;
use crate::entity::agreement::AgreementState;
use crate::error::CooperationError;

pub const ACCEPT: &str = "*/*";
pub const CONTENT_TYPE: &str = "application/json; charset=UTF-8";
/// How old a request or callback timestamp may be, either way.
pub const TIMESTAMP_WINDOW_MS: i64 = 15 * 60 * 1000;

/// `Content-MD5`: base64 of the body's MD5 digest.
pub fn content_md5(body: &[u8]) -> String {
    STANDARD.encode(Md5::digest(body))
}

/// The path with its query parameters sorted by key (`k=v` joined by `&`; a key without a value
/// stands alone), as the string to sign names it.
pub fn canonical_url(path_and_query: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else { return path_and_query.to_owned() };
    let mut pairs: Vec<(&str, &str)> =
        query.split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').unwrap_or((p, ""))).collect();
    if pairs.is_empty() {
        return path.to_owned();
    }
    pairs.sort();
    let joined: Vec<String> =
        pairs.iter().map(|(k, v)| if v.is_empty() { (*k).to_owned() } else { format!("{k}={v}") }).collect();
    format!("{path}?{}", joined.join("&"))
}

/// The string a request's signature covers (no Date, no signed headers).
pub fn string_to_sign(method: &str, content_md5: &str, path_and_query: &str) -> String {
    format!("{method}\n{ACCEPT}\n{content_md5}\n{CONTENT_TYPE}\n\n{}", canonical_url(path_and_query))
}

fn hmac(secret: &str, data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `X-Tsign-Open-Ca-Signature` of a request.
pub fn request_signature(secret: &str, method: &str, content_md5: &str, path_and_query: &str) -> String {
    STANDARD.encode(hmac(secret, string_to_sign(method, content_md5, path_and_query).as_bytes()))
}

/// `X-Tsign-Open-SIGNATURE` of a callback: hex HMAC-SHA256 over timestamp + sorted query values + body.
pub fn callback_signature(secret: &str, timestamp: &str, query: &str, body: &[u8]) -> String {
    let mut pairs: Vec<(&str, &str)> =
        query.split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').unwrap_or((p, ""))).collect();
    pairs.sort();
    let mut data = timestamp.as_bytes().to_vec();
    for (_, v) in pairs {
        data.extend_from_slice(v.as_bytes());
    }
    data.extend_from_slice(body);
    hex::encode(hmac(secret, &data))
}

/// Why a callback is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackRefusal {
    WrongApp,
    MissingSignature,
    BadSignature,
    StaleTimestamp,
}

impl CallbackRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::WrongApp => "WRONG_APP",
            Self::MissingSignature => "MISSING_SIGNATURE",
            Self::BadSignature => "INVALID_SIGNATURE",
            Self::StaleTimestamp => "STALE_TIMESTAMP",
        }
    }
}

/// Checks a callback the way the provider signs it: the app, the timestamp within 15 minutes of
/// `now_ms`, and the signature (compared in constant time).
pub fn verify_callback(
    config: &CooperationConfig,
    request: &xqt_kernel::module::Inbound,
    now_ms: i64,
) -> Result<(), CallbackRefusal> {
    if request.header("x-tsign-open-app-id") != Some(config.esign_app_id.as_str()) {
        return Err(CallbackRefusal::WrongApp);
    }
    let (Some(timestamp), Some(signature)) =
        (request.header("x-tsign-open-timestamp"), request.header("x-tsign-open-signature"))
    else {
        return Err(CallbackRefusal::MissingSignature);
    };
    let expected = callback_signature(&config.esign_app_secret, timestamp, &request.query, &request.body);
    if !xqt_kernel::crypto::constant_time_eq(expected.as_bytes(), signature.to_ascii_lowercase().as_bytes()) {
        return Err(CallbackRefusal::BadSignature);
    }
    match timestamp.parse::<i64>() {
        Ok(t) if (now_ms - t).abs() <= TIMESTAMP_WINDOW_MS => Ok(()),
        _ => Err(CallbackRefusal::StaleTimestamp),
    }
}

/// One sign-flow event as the agreement takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub flow_id: String,
    pub action: String,
    /// The same for every delivery of one event (retries carry the first trigger time).
    pub key: String,
    /// The state the agreement moves to, when the event finishes the flow.
    pub outcome: Option<AgreementState>,
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Reads a callback body; `None` when it is not a sign-flow event.
pub fn parse_event(body: &[u8]) -> Option<Event> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let action = v.get("action")?.as_str()?.to_owned();
    let flow_id = v.get("signFlowId").or_else(|| v.get("flowId")).map(text_of).filter(|f| !f.is_empty())?;
    let stamp = text_of(v.get("timestamp").unwrap_or(&Value::Null));
    let (key, outcome) = match action.as_str() {
        "SIGN_FLOW_COMPLETE" => {
            let status = text_of(v.get("signFlowStatus").unwrap_or(&Value::Null));
            let outcome = match status.as_str() {
                "2" => Some(AgreementState::Signed),
                "3" => Some(AgreementState::Revoked),
                "5" => Some(AgreementState::Expired),
                "7" => Some(AgreementState::Rejected),
                _ => None,
            };
            (format!("{action}:{status}"), outcome)
        }
        "SIGN_MISSON_COMPLETE" => {
            let result = text_of(v.get("signResult").unwrap_or(&Value::Null));
            let order = text_of(v.get("signOrder").unwrap_or(&Value::Null));
            let outcome = (result == "4").then_some(AgreementState::Rejected);
            (format!("{action}:{order}:{result}"), outcome)
        }
        _ => (format!("{action}:{stamp}"), None),
    };
    Some(Event { flow_id, action, key, outcome })
}

pub struct Esign {
    base_url: String,
    app_id: String,
    secret: String,
    template_id: String,
    notify_url: String,
    http: reqwest::Client,
}

impl Esign {
    pub fn new(config: &CooperationConfig) -> Self {
        Self {
            base_url: config.esign_base_url.trim_end_matches('/').to_owned(),
            app_id: config.esign_app_id.clone(),
            secret: config.esign_app_secret.clone(),
            template_id: config.esign_template_id.clone(),
            notify_url: config.esign_notify_url.clone(),
            http: reqwest::Client::builder().timeout(Duration::from_secs(15)).build().unwrap_or_default(),
        }
    }

    /// One signed POST; the answer's `data`, or the provider's refusal with its code.
    async fn post(&self, ctx: &AppContext, path: &str, body: Value) -> AppResult<Value> {
        let body = serde_json::to_vec(&body).map_err(xqt_kernel::AppError::internal)?;
        let md5 = content_md5(&body);
        let timestamp = ctx.clock.now().timestamp_millis().to_string();
        let signature = request_signature(&self.secret, "POST", &md5, path);
        let sent = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header("X-Tsign-Open-App-Id", &self.app_id)
            .header("X-Tsign-Open-Auth-Mode", "Signature")
            .header("X-Tsign-Open-Ca-Timestamp", timestamp)
            .header("X-Tsign-Open-Ca-Signature", signature)
            .header("Content-MD5", md5)
            .header("Accept", ACCEPT)
            .header("Content-Type", CONTENT_TYPE)
            .body(body)
            .send()
            .await;
        let response = sent.map_err(|e| {
            tracing::warn!(error = %e, path, "e签宝 unreachable");
            CooperationError::Provider { code: "UNREACHABLE".into(), message: e.to_string() }
        })?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        let code = answer.get("code").map(text_of).unwrap_or_default();
        if !status.is_success() || code != "0" {
            let code = if code.is_empty() { format!("HTTP_{}", status.as_u16()) } else { code };
            let message = answer.get("message").map(text_of).unwrap_or_default();
            return Err(CooperationError::Provider { code, message }.into());
        }
        Ok(answer.get("data").cloned().unwrap_or(Value::Null))
    }
}

fn signer_json(signer: &Signer, order: usize, file_id: &str) -> Value {
    let fields = json!([{ "fileId": file_id, "normalSignFieldConfig": { "freeMode": true } }]);
    match signer {
        Signer::Organization { name, transactor_name, transactor_phone } => json!({
            "signerType": 1,
            "signConfig": { "signOrder": order },
            "orgSignerInfo": {
                "orgName": name,
                "transactorInfo": { "psnAccount": transactor_phone, "psnInfo": { "psnName": transactor_name } }
            },
            "signFields": fields,
        }),
        Signer::Person { name, phone } => json!({
            "signerType": 0,
            "signConfig": { "signOrder": order },
            "psnSignerInfo": { "psnAccount": phone, "psnInfo": { "psnName": name } },
            "signFields": fields,
        }),
    }
}

#[async_trait]
impl SignatureProvider for Esign {
    fn name(&self) -> &'static str {
        "esign"
    }

    async fn start(&self, ctx: &AppContext, document: &Document) -> AppResult<Started> {
        let components: Vec<Value> =
            document.fields.iter().map(|(k, v)| json!({ "componentKey": k, "componentValue": v })).collect();
        let file = self
            .post(
                ctx,
                "/v3/files/create-by-doc-template",
                json!({ "docTemplateId": self.template_id, "fileName": document.file_name, "components": components }),
            )
            .await?;
        let file_id = file.get("fileId").map(text_of).filter(|f| !f.is_empty()).ok_or_else(|| {
            CooperationError::Provider { code: "NO_FILE_ID".into(), message: "no fileId in the answer".into() }
        })?;
        let flow = self
            .post(
                ctx,
                "/v3/sign-flow/create-by-file",
                json!({
                    "docs": [{ "fileId": file_id, "fileName": document.file_name }],
                    "signFlowConfig": {
                        "signFlowTitle": document.title,
                        "autoStart": false,
                        "autoFinish": true,
                        "notifyUrl": self.notify_url,
                    },
                }),
            )
            .await?;
        let flow_id = flow.get("signFlowId").map(text_of).filter(|f| !f.is_empty()).ok_or_else(|| {
            CooperationError::Provider { code: "NO_FLOW_ID".into(), message: "no signFlowId in the answer".into() }
        })?;
        let signers: Vec<Value> =
            document.signers.iter().enumerate().map(|(i, s)| signer_json(s, i + 1, &file_id)).collect();
        self.post(ctx, &format!("/v3/sign-flow/{flow_id}/signers/sign-fields/add"), json!({ "signers": signers }))
            .await?;
        self.post(ctx, &format!("/v3/sign-flow/{flow_id}/start"), json!({})).await?;
        tracing::info!(flow = %flow_id, "e签宝 sign flow started");
        Ok(Started { flow_id, state: AgreementState::Signing })
    }

    async fn revoke(&self, ctx: &AppContext, flow_id: &str, reason: &str) -> AppResult<()> {
        self.post(ctx, &format!("/v3/sign-flow/{flow_id}/revoke"), json!({ "revokeReason": reason })).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_string_to_sign_sorts_the_query_and_keeps_empty_lines() {
        assert_eq!(canonical_url("/v3/x?b=2&a=1&c"), "/v3/x?a=1&b=2&c");
        assert_eq!(
            string_to_sign("POST", "MD5==", "/v3/sign-flow/1/start"),
            "POST\n*/*\nMD5==\napplication/json; charset=UTF-8\n\n/v3/sign-flow/1/start"
        );
        // RFC 1321's test vector for "abc", base64.
        assert_eq!(content_md5(b"abc"), "kAFQmDzST7DWlj99KOF/cg==");
    }

    #[test]
    fn events_key_on_what_they_report_not_on_when_they_arrive() {
        let a = parse_event(br#"{"action":"SIGN_FLOW_COMPLETE","signFlowId":"f1","signFlowStatus":"2","timestamp":1}"#)
            .unwrap();
        assert_eq!((a.key.as_str(), a.outcome), ("SIGN_FLOW_COMPLETE:2", Some(AgreementState::Signed)));
        let refused =
            parse_event(br#"{"action":"SIGN_MISSON_COMPLETE","signFlowId":"f1","signOrder":2,"signResult":4}"#)
                .unwrap();
        assert_eq!(refused.outcome, Some(AgreementState::Rejected));
        assert!(parse_event(b"not json").is_none());
        assert!(parse_event(br#"{"action":"SIGN_FLOW_COMPLETE"}"#).is_none());
    }
}
