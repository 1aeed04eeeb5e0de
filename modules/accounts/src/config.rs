//! Accounts' settings: the `[accounts]` section (`XQT_ACCOUNTS__…`).

use serde::{Deserialize, Serialize};
use xqt_kernel::config::ConfigSection;

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
    /// CA certificates (a PEM file) webhook deliveries trust beside the public roots: a partner
    /// whose certificate comes from a CA outside that list (a domestic one), or a test CA.
    pub webhook_ca_file: Option<std::path::PathBuf>,
    pub sms: SmsConfig,
    pub identity: IdentityConfig,
}

/// Who checks a submitted real name against the authoritative record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityProviderKind {
    /// Nobody: every submission waits for a reviewer.
    None,
    /// Aliyun ID Verification's two-element check (`Id2MetaVerify`); a match is approved at once.
    Aliyun,
}

/// `[accounts.identity]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    pub provider: IdentityProviderKind,
    /// `https://cloudauth.aliyuncs.com`; a local server in tests.
    pub aliyun_endpoint: String,
    #[serde(deserialize_with = "xqt_kernel::config::text::optional::deserialize")]
    pub aliyun_access_key_id: Option<String>,
    #[serde(deserialize_with = "xqt_kernel::config::text::optional::deserialize")]
    pub aliyun_access_key_secret: Option<String>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            provider: IdentityProviderKind::None,
            aliyun_endpoint: "https://cloudauth.aliyuncs.com".into(),
            aliyun_access_key_id: None,
            aliyun_access_key_secret: None,
        }
    }
}

/// Who delivers SMS codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProviderKind {
    /// Built in, for development and tests: each message is written to the `sms_messages` table
    /// (and, in development, the log); nothing leaves the machine. Production refuses it.
    Outbox,
    /// Aliyun SMS (阿里云短信服务, `SendSms`, API version 2017-05-25), signed with the AccessKey.
    Aliyun,
}

/// `[accounts.sms]`: the provider, its account, and the caps that keep SMS pumping (codes sent to
/// numbers an attacker is paid for) from costing money.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    pub provider: SmsProviderKind,
    /// Aliyun's endpoint (`https://dysmsapi.aliyuncs.com`; a local server in tests).
    pub aliyun_endpoint: String,
    #[serde(deserialize_with = "xqt_kernel::config::text::optional::deserialize")]
    pub aliyun_access_key_id: Option<String>,
    #[serde(deserialize_with = "xqt_kernel::config::text::optional::deserialize")]
    pub aliyun_access_key_secret: Option<String>,
    /// The approved signature shown in 【】 (短信签名), e.g. `校企通`.
    #[serde(deserialize_with = "xqt_kernel::config::text::optional::deserialize")]
    pub sign_name: Option<String>,
    /// The approved verification-code template (`SMS_…`) with a `${code}` variable.
    #[serde(deserialize_with = "xqt_kernel::config::text::optional::deserialize")]
    pub template_code: Option<String>,
    /// Codes one client address may have sent per day (China time), to any numbers.
    pub per_address_per_day: i64,
    /// Codes the whole platform sends per day; beyond it, every request is refused until midnight.
    pub per_day: i64,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            provider: SmsProviderKind::Outbox,
            aliyun_endpoint: "https://dysmsapi.aliyuncs.com".into(),
            aliyun_access_key_id: None,
            aliyun_access_key_secret: None,
            sign_name: None,
            template_code: None,
            per_address_per_day: 50,
            per_day: 20_000,
        }
    }
}

impl SmsConfig {
    fn validate(&self) -> Result<(), String> {
        if self.per_address_per_day < 1 || self.per_day < 1 {
            return Err("sms.per_address_per_day and sms.per_day must be positive".into());
        }
        if self.provider == SmsProviderKind::Aliyun {
            let missing: Vec<&str> = [
                ("sms.aliyun_access_key_id", &self.aliyun_access_key_id),
                ("sms.aliyun_access_key_secret", &self.aliyun_access_key_secret),
                ("sms.sign_name", &self.sign_name),
                ("sms.template_code", &self.template_code),
            ]
            .into_iter()
            .filter(|(_, v)| v.as_deref().is_none_or(|v| v.trim().is_empty()))
            .map(|(k, _)| k)
            .collect();
            if !missing.is_empty() {
                return Err(format!("sms.provider = \"aliyun\" needs {}", missing.join(", ")));
            }
            if !(self.aliyun_endpoint.starts_with("https://") || self.aliyun_endpoint.starts_with("http://")) {
                return Err("sms.aliyun_endpoint must be an http(s) URL".into());
            }
        }
        Ok(())
    }
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
            webhook_ca_file: None,
            sms: SmsConfig::default(),
            identity: IdentityConfig::default(),
        }
    }
}

impl ConfigSection for AccountsConfig {
    const NAME: &'static str = "accounts";

    fn validate(&self) -> Result<(), String> {
        if self.security_log_days < 180 {
            return Err("security_log_days must be at least 180 (Cybersecurity Law Art. 21)".into());
        }
        if self.access_token_minutes < 1 || self.refresh_token_days < 1 || self.lockout_after_failures < 1 {
            return Err("access_token_minutes, refresh_token_days and lockout_after_failures must be positive".into());
        }
        if self.lockout_minutes < 1 || self.sign_ins_per_minute_per_ip < 1 || self.partner_requests_per_minute < 1 {
            return Err(
                "lockout_minutes, sign_ins_per_minute_per_ip and partner_requests_per_minute must be positive".into()
            );
        }
        self.sms.validate()?;
        let id = &self.identity;
        if id.provider == IdentityProviderKind::Aliyun
            && [&id.aliyun_access_key_id, &id.aliyun_access_key_secret]
                .iter()
                .any(|v| v.as_deref().is_none_or(|v| v.trim().is_empty()))
        {
            return Err(
                "identity.provider = \"aliyun\" needs identity.aliyun_access_key_id and identity.aliyun_access_key_secret"
                    .into(),
            );
        }
        if let Some(path) = &self.webhook_ca_file {
            crate::webhooks::extra_roots(path)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use xqt_kernel::config::{Config, SectionSpec};

    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail closures return figment::Error
    fn security_logs_cannot_be_kept_shorter_than_the_law_asks() {
        let sections = [SectionSpec::of::<AccountsConfig>()];
        figment::Jail::expect_with(|jail| {
            jail.set_env("XQT_ACCOUNTS__SECURITY_LOG_DAYS", "90");
            assert!(Config::load(&sections).is_err(), "Cybersecurity Law Art. 21 wants at least six months");
            jail.set_env("XQT_ACCOUNTS__SECURITY_LOG_DAYS", "365");
            let c = Config::load(&sections).expect("a longer period is fine");
            assert_eq!(c.section::<AccountsConfig>().security_log_days, 365);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn a_webhook_ca_file_must_hold_certificates() {
        let sections = [SectionSpec::of::<AccountsConfig>()];
        figment::Jail::expect_with(|jail| {
            jail.set_env("XQT_ACCOUNTS__WEBHOOK_CA_FILE", "/nonexistent/ca.pem");
            let e = Config::load(&sections).unwrap_err().to_string();
            assert!(e.contains("webhook_ca_file"), "{e}");
            jail.create_file("empty.pem", "not a certificate")?;
            jail.set_env("XQT_ACCOUNTS__WEBHOOK_CA_FILE", "empty.pem");
            let e = Config::load(&sections).unwrap_err().to_string();
            assert!(e.contains("webhook_ca_file"), "{e}");
            Ok(())
        });
    }
}
