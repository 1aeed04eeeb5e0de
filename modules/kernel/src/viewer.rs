//! Who is asking: resolved once per request or socket, then checked by every resolver.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    Anonymous,
    User {
        user_id: Uuid,
        session_id: Uuid,
    },
    /// A platform operator or reviewer acting with the admin role.
    Admin {
        user_id: Uuid,
        session_id: Uuid,
    },
    /// A partner system calling with a scoped API token.
    Partner {
        token_id: Uuid,
        partner_id: Uuid,
        scopes: BTreeSet<String>,
    },
}

impl Viewer {
    /// The person behind the request, for users and admins.
    pub fn person_id(&self) -> Option<Uuid> {
        match self {
            Viewer::User { user_id, .. } | Viewer::Admin { user_id, .. } => Some(*user_id),
            _ => None,
        }
    }

    /// The signed-in session, for users and admins.
    pub fn session_id(&self) -> Option<Uuid> {
        match self {
            Viewer::User { session_id, .. } | Viewer::Admin { session_id, .. } => Some(*session_id),
            _ => None,
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Viewer::Admin { .. })
    }

    /// A signed-in person (user or admin); partners and anonymous callers are refused.
    pub fn require_person(&self) -> AppResult<Uuid> {
        match self {
            Viewer::Anonymous => Err(AppError::unauthenticated()),
            Viewer::Partner { .. } => {
                Err(AppError::forbidden("this operation is for signed-in people, not partner tokens"))
            }
            Viewer::User { user_id, .. } | Viewer::Admin { user_id, .. } => Ok(*user_id),
        }
    }

    pub fn require_admin(&self) -> AppResult<Uuid> {
        match self {
            Viewer::Admin { user_id, .. } => Ok(*user_id),
            Viewer::Anonymous => Err(AppError::unauthenticated()),
            _ => Err(AppError::forbidden("this operation needs the admin role")),
        }
    }

    /// Admins pass; partners need `scope` among their token's scopes; nobody else passes.
    pub fn require_scope(&self, scope: &str) -> AppResult<()> {
        match self {
            Viewer::Admin { .. } => Ok(()),
            Viewer::Partner { scopes, .. } if scopes.contains(scope) => Ok(()),
            Viewer::Partner { .. } => {
                Err(AppError::forbidden(format!("the token lacks the scope `{scope}`")).with("scope", scope))
            }
            Viewer::Anonymous => Err(AppError::unauthenticated()),
            Viewer::User { .. } => Err(AppError::forbidden("this operation is for partners and admins")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn partner(scopes: &[&str]) -> Viewer {
        Viewer::Partner {
            token_id: Uuid::nil(),
            partner_id: Uuid::nil(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn scope_checks() {
        assert!(partner(&["notifications:send"]).require_scope("notifications:send").is_ok());
        let err = partner(&["other:read"]).require_scope("notifications:send").unwrap_err();
        assert_eq!(err.code(), ErrorCode::Forbidden);
        let admin = Viewer::Admin { user_id: Uuid::nil(), session_id: Uuid::nil() };
        assert!(admin.require_scope("notifications:send").is_ok());
        assert_eq!(Viewer::Anonymous.require_scope("x").unwrap_err().code(), ErrorCode::Unauthenticated);
        let user = Viewer::User { user_id: Uuid::nil(), session_id: Uuid::nil() };
        assert_eq!(user.require_scope("x").unwrap_err().code(), ErrorCode::Forbidden);
    }

    #[test]
    fn person_checks() {
        assert_eq!(Viewer::Anonymous.require_person().unwrap_err().code(), ErrorCode::Unauthenticated);
        assert_eq!(partner(&[]).require_person().unwrap_err().code(), ErrorCode::Forbidden);
        let user = Viewer::User { user_id: Uuid::from_u128(7), session_id: Uuid::nil() };
        assert_eq!(user.require_person().unwrap(), Uuid::from_u128(7));
        assert_eq!(user.require_admin().unwrap_err().code(), ErrorCode::Forbidden);
    }
}
