//! The one error type every resolver returns. Its code is the stable `extensions.code`;
//! internal errors are logged with their detail and reach the client as `INTERNAL` only.

use async_graphql::ErrorExtensions;

/// Stable error codes clients can switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    BadUserInput,
    NotFound,
    Conflict,
    RateLimited,
    ConsentRequired,
    PolicyAcceptanceRequired,
    Internal,
    // Request-level codes: the operation never ran.
    BadRequest,
    PayloadTooLarge,
    ParseFailed,
    ValidationFailed,
    QueryTooDeep,
    QueryTooComplex,
    TooManyAliases,
    /// More field selections (fragment spreads included) than a document may hold: a flood of
    /// duplicates costs the validator quadratic time before anything runs.
    TooManyFields,
    TooManyDirectives,
    /// A hash-only request (Apollo automatic persisted queries) whose query this server does not
    /// hold: send it again with the query.
    PersistedQueryNotFound,
}

impl ErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::RateLimited => "RATE_LIMITED",
            Self::ConsentRequired => "CONSENT_REQUIRED",
            Self::PolicyAcceptanceRequired => "POLICY_ACCEPTANCE_REQUIRED",
            Self::Internal => "INTERNAL",
            Self::BadRequest => "BAD_REQUEST",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::ParseFailed => "GRAPHQL_PARSE_FAILED",
            Self::ValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Self::QueryTooDeep => "QUERY_TOO_DEEP",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::TooManyAliases => "TOO_MANY_ALIASES",
            Self::TooManyFields => "TOO_MANY_FIELDS",
            Self::TooManyDirectives => "TOO_MANY_DIRECTIVES",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
        }
    }

    /// Codes that mean the document was refused before execution (GraphQL-over-HTTP: 4xx, no data).
    pub const fn is_request_error(self) -> bool {
        matches!(
            self,
            Self::BadRequest
                | Self::PayloadTooLarge
                | Self::ParseFailed
                | Self::ValidationFailed
                | Self::QueryTooDeep
                | Self::QueryTooComplex
                | Self::TooManyAliases
                | Self::TooManyFields
                | Self::TooManyDirectives
                | Self::PersistedQueryNotFound
        )
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    pub const ALL: [ErrorCode; 19] = [
        Self::Unauthenticated,
        Self::Forbidden,
        Self::BadUserInput,
        Self::NotFound,
        Self::Conflict,
        Self::RateLimited,
        Self::ConsentRequired,
        Self::PolicyAcceptanceRequired,
        Self::Internal,
        Self::BadRequest,
        Self::PayloadTooLarge,
        Self::ParseFailed,
        Self::ValidationFailed,
        Self::QueryTooDeep,
        Self::QueryTooComplex,
        Self::TooManyAliases,
        Self::TooManyFields,
        Self::TooManyDirectives,
        Self::PersistedQueryNotFound,
    ];
}

/// An error a client may see: a code, a message written for the client, optional details.
#[derive(Debug)]
pub struct AppError {
    code: ErrorCode,
    message: String,
    details: Vec<(&'static str, serde_json::Value)>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: Vec::new() }
    }

    /// An extra `extensions` entry (e.g. `field`, `purpose`, `retryAfter`).
    pub fn with(mut self, key: &'static str, value: impl Into<serde_json::Value>) -> Self {
        self.details.push((key, value.into()));
        self
    }

    /// Logs `detail` (which may hold anything) and returns an error that says nothing about it.
    pub fn internal(detail: impl std::fmt::Debug) -> Self {
        tracing::error!(detail = ?detail, "internal error");
        Self::new(ErrorCode::Internal, "internal error")
    }

    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "sign in first")
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub fn bad_input(field: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadUserInput, message).with("field", field)
    }
    pub fn not_found(what: &'static str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn detail(&self, key: &str) -> Option<&serde_json::Value> {
        self.details.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(e: AppError) -> Self {
        async_graphql::Error::new(e.message).extend_with(|_, ext| {
            ext.set("code", e.code.as_str());
            for (key, value) in e.details {
                if let Ok(v) = async_graphql::Value::from_json(value) {
                    ext.set(key, v);
                }
            }
        })
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::internal(e)
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(e: sea_orm::TransactionError<AppError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => Self::internal(db),
            sea_orm::TransactionError::Transaction(app) => app,
        }
    }
}

/// The code a GraphQL error carries, if any.
pub fn code_of(error: &async_graphql::ServerError) -> Option<ErrorCode> {
    let ext = error.extensions.as_ref()?;
    match ext.get("code")? {
        async_graphql::Value::String(s) => ErrorCode::parse(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate code {}", code.as_str());
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
    }

    #[test]
    fn internal_errors_hide_their_detail() {
        let e: async_graphql::Error = AppError::internal("password=hunter2 at db.rs:10").into();
        assert_eq!(e.message, "internal error");
        let ext = serde_json::to_value(&e.extensions).unwrap();
        assert_eq!(ext, serde_json::json!({"code": "INTERNAL"}));
    }

    #[test]
    fn details_become_extensions() {
        let e: async_graphql::Error = AppError::bad_input("phone", "not a mainland number").into();
        let ext = serde_json::to_value(&e.extensions).unwrap();
        assert_eq!(ext, serde_json::json!({"code": "BAD_USER_INPUT", "field": "phone"}));
    }
}
