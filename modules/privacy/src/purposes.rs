//! What the privacy module itself processes, and why.

use xqt_kernel::module::{LegalBasis, Purpose, Scope};

pub const ANALYTICS: &str = "analytics";
pub const PARTNER_SHARING: &str = "partner_sharing";
pub const PUBLIC_PROFILE: &str = "public_profile";
pub const GUARDIAN: &str = "minor_guardian_consent";
pub const RECORDS: &str = "privacy_records";

pub const CAT_ANALYTICS: &str = "analytics_events";
pub const CAT_CONSENTS: &str = "consent_records";
pub const CAT_AUDIT: &str = "audit_log";
pub const CAT_SHARING: &str = "sharing_records";
pub const CAT_VISIBILITY: &str = "profile_visibility";

/// Sharing and audit records are kept three years (Network Data Security Regulations Art. 12).
pub const RECORDS_DAYS: u32 = 3 * 365;

pub const SCOPE_PEOPLE_READ: &str = "privacy:people.read";
pub const SCOPE_STATISTICS_READ: &str = "privacy:statistics.read";

pub fn purposes() -> Vec<Purpose> {
    vec![
        Purpose {
            id: ANALYTICS,
            description: "使用情况统计（点击、浏览），用于改进服务；可随时关闭并删除 (usage analytics to improve the service)",
            categories: vec![CAT_ANALYTICS],
            sensitive: false,
            legal_basis: LegalBasis::Consent,
            separate_consent: false,
            retention_days: Some(180),
        },
        Purpose {
            id: PARTNER_SHARING,
            description: "向一个具名合作方提供您的个人信息，仅限登记的用途与类别 (sharing with one named partner, for its registered purposes)",
            categories: vec![CAT_PROFILE, CAT_IDENTITY, CAT_ACCOUNT],
            sensitive: false,
            legal_basis: LegalBasis::Consent,
            separate_consent: true,
            retention_days: None,
        },
        Purpose {
            id: PUBLIC_PROFILE,
            description: "公开您选择公开的资料字段 (making the profile fields you choose public)",
            categories: vec![CAT_VISIBILITY],
            sensitive: false,
            legal_basis: LegalBasis::Consent,
            separate_consent: true,
            retention_days: None,
        },
        Purpose {
            id: GUARDIAN,
            description: "不满十四周岁用户的个人信息，经监护人同意后处理 (a child's data, processed with a guardian's consent)",
            categories: vec![CAT_PROFILE, CAT_ACCOUNT],
            sensitive: true,
            legal_basis: LegalBasis::Consent,
            separate_consent: true,
            retention_days: None,
        },
        Purpose {
            id: RECORDS,
            description: "同意记录、共享记录与审计日志，用于证明合规（留存三年） (consent, sharing and audit records kept as proof)",
            categories: vec![CAT_CONSENTS, CAT_SHARING, CAT_AUDIT],
            sensitive: false,
            legal_basis: LegalBasis::LegalObligation,
            separate_consent: false,
            retention_days: Some(RECORDS_DAYS),
        },
    ]
}

pub fn scopes() -> Vec<Scope> {
    vec![
        Scope {
            id: SCOPE_PEOPLE_READ,
            description: "read a person's data in the categories registered for the partner, under their consent",
        },
        Scope { id: SCOPE_STATISTICS_READ, description: "read aggregate statistics with small groups suppressed" },
    ]
}

pub use xqt_accounts::categories::{ACCOUNT as CAT_ACCOUNT, IDENTITY as CAT_IDENTITY, PROFILE as CAT_PROFILE};

/// Storage: reading the device identifier for usage statistics (uni统计), as M 三(一)2 says.
pub fn client_permissions() -> Vec<xqt_kernel::module::ClientPermission> {
    vec![xqt_kernel::module::ClientPermission {
        id: "storage",
        description: "读写存储（SD卡）：读取设备标识用于使用统计 (storage: the device identifier for usage statistics; M 三(一)2)",
        purpose: ANALYTICS,
    }]
}
