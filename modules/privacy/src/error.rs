use xqt_kernel::{AppError, ErrorCode};

/// What can go wrong in privacy, before it becomes a client-facing `AppError`.
#[derive(Debug, PartialEq, Eq)]
pub enum PrivacyError {
    Invalid {
        field: &'static str,
        message: String,
    },
    UnknownPurpose(String),
    /// Only purposes whose legal basis is consent can be granted, refused or withdrawn (COL-11).
    NotConsentBased(String),
    /// The guardian step is the only way to grant this purpose.
    GuardianOnly,
    NotGranted(String),
    VersionExists,
    PolicyVersionNotFound,
    NotAMinor,
    NotTheGuardian,
    PartnerNotFound,
    UnmaskNotPermitted,
}

impl From<PrivacyError> for AppError {
    fn from(e: PrivacyError) -> Self {
        use PrivacyError::*;
        match e {
            Invalid { field, message } => AppError::bad_input(field, message),
            UnknownPurpose(p) => AppError::bad_input("purpose", format!("`{p}` is not a registered purpose"))
                .with("reason", "UNKNOWN_PURPOSE")
                .with("purpose", p),
            NotConsentBased(p) => AppError::bad_input(
                "purpose",
                format!("`{p}` is processed on another legal basis than consent, so it cannot be granted or withdrawn"),
            )
            .with("reason", "NOT_CONSENT_BASED")
            .with("purpose", p),
            GuardianOnly => {
                AppError::bad_input("purpose", "a guardian gives this consent through confirmGuardianConsent")
                    .with("reason", "GUARDIAN_ONLY")
            }
            NotGranted(p) => AppError::conflict(format!("consent to `{p}` is not granted")).with("purpose", p),
            VersionExists => {
                AppError::conflict("that version of the document is already published").with("field", "version")
            }
            PolicyVersionNotFound => AppError::not_found("policy version"),
            NotAMinor => AppError::conflict("the guardian step is for accounts of people under 14"),
            NotTheGuardian => AppError::forbidden("that phone is not this account's guardian"),
            PartnerNotFound => AppError::not_found("partner"),
            UnmaskNotPermitted => AppError::forbidden("unmasking personal data needs the `unmask` permission")
                .with("reason", "UNMASK_NOT_PERMITTED"),
        }
    }
}

impl From<PrivacyError> for async_graphql::Error {
    fn from(e: PrivacyError) -> Self {
        AppError::from(e).into()
    }
}

/// `CONSENT_REQUIRED` naming the purpose (and partner) whose consent is missing.
pub fn consent_required(purpose: &str, partner: Option<uuid::Uuid>) -> AppError {
    let mut e = AppError::new(ErrorCode::ConsentRequired, format!("this needs your consent to `{purpose}`"))
        .with("purpose", purpose);
    if let Some(p) = partner {
        e = e.with("partnerId", p.to_string());
    }
    e
}
