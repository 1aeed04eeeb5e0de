//! Aliyun SMS (阿里云短信服务), `SendSms` of API version 2017-05-25 over its RPC interface: the
//! parameters form-encoded in a POST, signed with HMAC-SHA1 over the canonicalized query
//! (signature version 1.0, key `AccessKeySecret + "&"`). Answers are JSON with a `Code`: `OK`,
//! or an `isv.*` business refusal (HTTP 200), or a gateway refusal such as
//! `SignatureDoesNotMatch` (HTTP 4xx); `isp.*`, throttling and 5xx are worth another try.

use async_trait::async_trait;
use serde::Deserialize;
use xqt_kernel::AppContext;

use super::{Failure, Rejection, SmsGateway};
use crate::config::SmsConfig;
use crate::phone::Phone;

pub const API_VERSION: &str = "2017-05-25";

pub struct Aliyun {
    endpoint: String,
    access_key_id: String,
    access_key_secret: String,
    sign_name: String,
    template_code: String,
    http: reqwest::Client,
}

impl Aliyun {
    /// From `[accounts.sms]`, checked at load to hold every key this needs.
    pub fn new(config: &SmsConfig) -> Self {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        Self {
            endpoint: config.aliyun_endpoint.clone(),
            access_key_id: text(&config.aliyun_access_key_id),
            access_key_secret: text(&config.aliyun_access_key_secret),
            sign_name: text(&config.sign_name),
            template_code: text(&config.template_code),
            http: crate::aliyun::http(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    code: Option<String>,
    message: Option<String>,
    request_id: Option<String>,
}

/// What an answer's `Code` means for this code's delivery.
pub fn classify(code: &str) -> Option<Rejection> {
    Some(match code {
        "OK" => return None,
        "isv.BUSINESS_LIMIT_CONTROL" | "isv.DAY_LIMIT_CONTROL" | "isv.MONTH_LIMIT_CONTROL" => Rejection::RateLimited,
        "isv.SMS_TEMPLATE_ILLEGAL" | "isv.TEMPLATE_MISSING_PARAMETERS" | "isv.TEMPLATE_PARAMS_ILLEGAL" => {
            Rejection::BadTemplate
        }
        "isv.SMS_SIGNATURE_ILLEGAL" | "isv.SIGN_NAME_ILLEGAL" => Rejection::BadSignName,
        "isv.AMOUNT_NOT_ENOUGH" | "isv.OUT_OF_SERVICE" => Rejection::InsufficientBalance,
        "isv.MOBILE_NUMBER_ILLEGAL" | "isv.MOBILE_COUNT_OVER_LIMIT" | "isv.BLACK_KEY_CONTROL_LIMIT" => {
            Rejection::BadNumber
        }
        "SignatureDoesNotMatch"
        | "InvalidAccessKeyId.NotFound"
        | "InvalidAccessKeyId.Inactive"
        | "isv.ACCOUNT_NOT_EXISTS"
        | "isv.ACCOUNT_ABNORMAL"
        | "isp.RAM_PERMISSION_DENY"
        | "Forbidden.RAM" => Rejection::BadCredentials,
        // The clock, a reused nonce, throttling and the provider's own faults pass: try again.
        c if c.starts_with("isp.")
            || c.starts_with("Throttling")
            || c.starts_with("InvalidTimeStamp")
            || c == "SignatureNonceUsed"
            || c == "ServiceUnavailable" =>
        {
            return Some(Rejection::Transient);
        }
        _ => Rejection::Other,
    })
}

#[async_trait]
impl SmsGateway for Aliyun {
    fn name(&self) -> &'static str {
        "aliyun"
    }

    async fn send(&self, ctx: &AppContext, to: &Phone, code: &str) -> Result<(), Failure> {
        let param = serde_json::json!({ "code": code }).to_string();
        let own = [
            ("PhoneNumbers", to.as_str()),
            ("RegionId", "cn-hangzhou"),
            ("SignName", self.sign_name.as_str()),
            ("TemplateCode", self.template_code.as_str()),
            ("TemplateParam", param.as_str()),
        ];
        let form = crate::aliyun::signed_form(
            "SendSms",
            API_VERSION,
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
            .map_err(|e| Failure::Transient(format!("aliyun unreachable: {e}")))?;
        let status = resp.status();
        let answer: Option<Answer> = resp.json().await.ok();
        let Some(answer) = answer.filter(|a| a.code.is_some()) else {
            return Err(Failure::Transient(format!("aliyun answered HTTP {status} without a result code")));
        };
        let code_of = answer.code.unwrap_or_default();
        let detail = format!(
            "aliyun {code_of}: {} (request {})",
            answer.message.unwrap_or_default(),
            answer.request_id.unwrap_or_default()
        );
        match classify(&code_of) {
            None if status.is_success() => Ok(()),
            None => Err(Failure::Transient(format!("aliyun answered OK with HTTP {status}"))),
            Some(Rejection::Transient) => Err(Failure::Transient(detail)),
            Some(reason) => Err(Failure::Rejected { reason, detail }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_sorted_into_retry_and_give_up() {
        assert_eq!(classify("OK"), None);
        assert_eq!(classify("isv.BUSINESS_LIMIT_CONTROL"), Some(Rejection::RateLimited));
        assert_eq!(classify("isv.SMS_TEMPLATE_ILLEGAL"), Some(Rejection::BadTemplate));
        assert_eq!(classify("isv.AMOUNT_NOT_ENOUGH"), Some(Rejection::InsufficientBalance));
        assert_eq!(classify("SignatureDoesNotMatch"), Some(Rejection::BadCredentials));
        assert_eq!(classify("isp.SYSTEM_ERROR"), Some(Rejection::Transient));
        assert_eq!(classify("Throttling.User"), Some(Rejection::Transient));
        assert_eq!(classify("isv.SOMETHING_NEW"), Some(Rejection::Other));
    }
}
