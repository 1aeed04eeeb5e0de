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
    /// No such thing, or not one this viewer may know of.
    NotFound(&'static str),
    /// No signed-in person (or the account was erased since its token was issued).
    SignInFirst,
    /// Someone else changed it between reading and writing; reload and retry.
    Changed(&'static str),
    NoPhone,
    /// An open request of the same kind exists: act on that one.
    RequestOpen(uuid::Uuid),
    IdentityCheckDone,
    RequestClosed,
    /// A cancellation is carried out by the runner once its cooling-off ends, not by hand.
    CancellationByRunner,
    RequestTransition {
        action: crate::requests::OperatorAction,
        state: crate::requests::RequestState,
    },
    /// What stands in the way of cancelling, module by module (CAN-1), as `blockers`.
    CancellationBlocked(Vec<serde_json::Value>),
    InvalidPhone(&'static str),
    /// Under 14 and no guardian has consented yet (MIN-1).
    PendingGuardian,
    /// The guardian withdrew consent (MIN-3).
    SuspendedByGuardian,
    /// Major policy versions wait for acceptance before this module works (POL-2).
    PolicyAcceptanceRequired(Vec<String>),
    /// An export link past its 24 hours.
    LinkExpired,
    /// The partner view of a person, asked by someone who is not a partner.
    PartnersOnly,
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
            NotFound(what) => AppError::not_found(what),
            SignInFirst => AppError::unauthenticated(),
            Changed(what) => AppError::conflict(format!("the {what} changed meanwhile; reload it")),
            NoPhone => AppError::conflict("the account has no phone"),
            RequestOpen(id) => AppError::conflict("the same request is already open").with("requestId", id.to_string()),
            IdentityCheckDone => AppError::conflict("the request's identity check is done"),
            RequestClosed => AppError::conflict("the request is already closed"),
            CancellationByRunner => {
                AppError::conflict("a cancellation is carried out by the runner once its cooling-off ends")
            }
            RequestTransition { action, state } => {
                AppError::conflict(format!("cannot {action:?} a request that is {state}")).with("state", state.as_str())
            }
            CancellationBlocked(list) => AppError::conflict("the account cannot be cancelled yet")
                .with("reason", "CANCELLATION_BLOCKED")
                .with("blockers", list),
            InvalidPhone(field) => {
                AppError::bad_input(field, "not a mainland China mobile number (11 digits starting with 1)")
            }
            PendingGuardian => {
                AppError::forbidden("people under 14 need a guardian's consent first: ask a guardian to confirm by SMS")
                    .with("reason", "PENDING_GUARDIAN")
            }
            SuspendedByGuardian => AppError::forbidden("the account is suspended: the guardian withdrew consent")
                .with("reason", "SUSPENDED_BY_GUARDIAN"),
            PolicyAcceptanceRequired(ids) => AppError::new(
                ErrorCode::PolicyAcceptanceRequired,
                "an updated policy must be accepted before this works again; see pendingPolicies",
            )
            .with("policyVersionIds", ids),
            LinkExpired => AppError::new(ErrorCode::Forbidden, "the link has expired; ask for a new copy")
                .with("reason", "LINK_EXPIRED"),
            PartnersOnly => AppError::forbidden("this is the partner view; admins use unmaskPersonalData"),
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

/// Bad input, naming the field.
pub fn invalid(field: &'static str, message: impl Into<String>) -> PrivacyError {
    PrivacyError::Invalid { field, message: message.into() }
}
