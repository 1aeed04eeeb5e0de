use sea_orm::entity::prelude::*;

/// A school or an enterprise, with its own verification (licence and credit code).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `school` or `enterprise`.
    pub kind: OrganizationKind,
    pub name: String,
    pub region: Option<String>,
    pub address: Option<String>,
    pub industry: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Keyed hash of the unified social credit code: one code, one organisation.
    pub credit_code_hash: Option<Vec<u8>>,
    pub credit_code_sealed: Option<Vec<u8>>,
    pub verification_state: OrganizationVerification,
    pub verification_reason: Option<String>,
    pub reviewer_id: Option<Uuid>,
    pub submitted_at: Option<DateTimeUtc>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The uploaded business licence (营业执照) submitted with the credit code.
    pub licence_file_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

xqt_kernel::closed_set! {
    /// A school or an enterprise: the two sides of 校企合作.
    pub enum OrganizationKind {
        School = "school",
        Enterprise = "enterprise",
    }
}

xqt_kernel::closed_set! {
    /// `UNVERIFIED` until the credit code is submitted, then the review states.
    pub enum OrganizationVerification {
        Unverified = "unverified",
        Submitted = "submitted",
        UnderReview = "under_review",
        Approved = "approved",
        Rejected = "rejected",
    }
}

impl OrganizationVerification {
    /// Where its review stands; `None` before anything was submitted.
    pub fn review(self) -> Option<crate::review::ReviewState> {
        use crate::review::ReviewState;
        match self {
            Self::Unverified => None,
            Self::Submitted => Some(ReviewState::Submitted),
            Self::UnderReview => Some(ReviewState::UnderReview),
            Self::Approved => Some(ReviewState::Approved),
            Self::Rejected => Some(ReviewState::Rejected),
        }
    }
}

impl From<crate::review::ReviewState> for OrganizationVerification {
    fn from(s: crate::review::ReviewState) -> Self {
        use crate::review::ReviewState;
        match s {
            ReviewState::Submitted => Self::Submitted,
            ReviewState::UnderReview => Self::UnderReview,
            ReviewState::Approved => Self::Approved,
            ReviewState::Rejected => Self::Rejected,
        }
    }
}
