use sea_orm::entity::prelude::*;

/// An application to a post (or an enterprise's invitation of a talent entry).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "cooperation_applications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The post applied to; for an invitation, the inviting organisation's post.
    pub post_id: Uuid,
    /// The organisation that owns the post (decides on the application).
    pub owner_organization_id: Option<Uuid>,
    pub direction: Direction,
    /// The person applying (or invited).
    pub applicant_id: Uuid,
    /// The organisation they apply for, when they apply on its behalf.
    pub applicant_organization_id: Option<Uuid>,
    /// For an invitation: the talent entry invited.
    pub talent_post_id: Option<Uuid>,
    pub state: ApplicationState,
    pub message: Option<String>,
    pub reason: Option<String>,
    #[serde(skip)]
    pub open_key: Option<String>,
    /// The conversation opened when both sides accepted.
    pub conversation_id: Option<Uuid>,
    pub accepted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

xqt_kernel::closed_set! {
    /// Who started it.
    #[graphql(name = "ApplicationDirection")]
    pub enum Direction {
        /// The applicant applied to the post.
        Apply = "apply",
        /// The post's organisation invited a talent entry's person.
        Invite = "invite",
    }
}

xqt_kernel::closed_set! {
    /// applied → viewed → shortlisted → accepted | declined | withdrawn.
    #[graphql(name = "ApplicationState")]
    pub enum ApplicationState {
        Applied = "applied",
        Viewed = "viewed",
        Shortlisted = "shortlisted",
        /// Both sides agreed: contact details are shown to each other and a conversation is open.
        Accepted = "accepted",
        Declined = "declined",
        Withdrawn = "withdrawn",
    }
}

impl ApplicationState {
    pub fn is_open(self) -> bool {
        matches!(self, Self::Applied | Self::Viewed | Self::Shortlisted)
    }
}
