use sea_orm::entity::prelude::*;

/// An agreement between a programme's two organisations (and, for a student's internship, the
/// student), signed through the e-signature provider. Its state mirrors the provider's flow.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "cooperation_agreements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub programme_id: Uuid,
    pub student_id: Option<Uuid>,
    /// `builtin` or `esign`.
    pub provider: String,
    /// The provider's sign-flow id.
    pub flow_id: Option<String>,
    pub state: AgreementState,
    pub title: String,
    /// JSON of the fields the document was generated from.
    pub fields: String,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub signed_at: Option<DateTimeUtc>,
    /// A signed agreement is kept until then, whatever happens to the accounts (CAN-5).
    pub hold_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

xqt_kernel::closed_set! {
    /// Mirrors the provider's sign flow.
    #[graphql(name = "AgreementState")]
    pub enum AgreementState {
        Draft = "draft",
        Signing = "signing",
        Signed = "signed",
        Rejected = "rejected",
        Revoked = "revoked",
        Expired = "expired",
    }
}

impl AgreementState {
    /// Once finished, a flow's state never changes again (a late or replayed event is ignored).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Signed | Self::Rejected | Self::Revoked | Self::Expired)
    }
}
