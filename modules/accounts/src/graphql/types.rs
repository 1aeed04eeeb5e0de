use async_graphql::{ComplexObject, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use xqt_kernel::mask::{PersonalField, for_viewer};

use crate::entity::{identity_verification, security_event, session, user};
pub use crate::profile::Gender;
pub use crate::review::{ReviewAction, ReviewState};
use crate::sessions::{DeviceInfo, SignedIn};

/// A real-name submission. Its owner sees it unmasked; reviewers see it masked (脱敏).
pub struct IdentityVerification {
    pub row: identity_verification::Model,
    pub real_name: String,
    pub id_number: String,
    pub viewer: xqt_kernel::Viewer,
}

#[Object]
impl IdentityVerification {
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    async fn state(&self) -> ReviewState {
        self.row.state
    }
    /// Who submitted it: what a reviewer passes to `unmaskPersonalData` (audited, with a reason)
    /// to compare the name and ID number in full with the evidence.
    async fn user_id(&self) -> ID {
        ID(self.row.user_id.to_string())
    }
    /// The ID card's front photo while the review is open (the submitter and reviewers; each
    /// reviewer's download is audited); `None` once the review has ended and the photos are gone.
    async fn id_front_url(&self) -> Option<String> {
        self.evidence(self.row.id_front_file_id)
    }
    async fn id_back_url(&self) -> Option<String> {
        self.evidence(self.row.id_back_file_id)
    }
    /// Why it was rejected, as the reviewer wrote it.
    async fn reason(&self) -> Option<&str> {
        self.row.reason.as_deref()
    }
    async fn real_name(&self) -> String {
        for_viewer(&self.viewer, self.row.user_id, PersonalField::Name, &self.real_name)
    }
    async fn id_number(&self) -> String {
        for_viewer(&self.viewer, self.row.user_id, PersonalField::IdNumber, &self.id_number)
    }
    async fn submitted_at(&self) -> DateTime<Utc> {
        self.row.submitted_at
    }
    async fn reviewed_at(&self) -> Option<DateTime<Utc>> {
        self.row.reviewed_at
    }
}

impl IdentityVerification {
    fn evidence(&self, file: Option<uuid::Uuid>) -> Option<String> {
        let may = self.viewer.is_admin() || self.viewer.person_id() == Some(self.row.user_id);
        file.filter(|_| may).map(crate::uploads::url)
    }

    /// Masked for `viewer` unless `viewer` is the person who submitted it.
    pub fn open(
        app: &xqt_kernel::AppContext,
        row: identity_verification::Model,
        viewer: &xqt_kernel::Viewer,
    ) -> xqt_kernel::AppResult<Self> {
        let real_name = app.keys.open(&row.real_name_sealed)?;
        let id_number = app.keys.open(&row.id_number_sealed)?;
        Ok(Self { row, real_name, id_number, viewer: viewer.clone() })
    }
}

/// The signed-in person's own account, unmasked (RTS-1): only ever shown to that person.
pub struct Me {
    pub user: user::Model,
    pub phone: Option<String>,
}

#[Object]
impl Me {
    async fn id(&self) -> ID {
        ID(self.user.id.to_string())
    }
    async fn phone(&self) -> Option<&str> {
        self.phone.as_deref()
    }
    async fn username(&self) -> Option<&str> {
        self.user.username.as_deref()
    }
    /// Where the avatar is downloaded (with the same bearer token).
    async fn avatar_url(&self) -> Option<String> {
        self.user.avatar_file_id.map(|id| format!("/files/{id}"))
    }
    /// The avatar without a bearer token — for `<img src>`, a mini-program's `<image>` — for
    /// one to two hours (the same link all hour, so caches keep it).
    async fn avatar_signed_url(&self, ctx: &async_graphql::Context<'_>) -> Option<String> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        self.user.avatar_file_id.map(|id| crate::uploads::avatar_link(app, id, self.user.id))
    }
    async fn nickname(&self) -> Option<&str> {
        self.user.nickname.as_deref()
    }
    async fn gender(&self) -> Option<Gender> {
        self.user.gender
    }
    async fn birth_date(&self) -> Option<NaiveDate> {
        self.user.birth_date
    }
    async fn has_password(&self) -> bool {
        self.user.password_hash.is_some()
    }
    /// The latest real-name submission and its review state.
    async fn identity_verification(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Option<IdentityVerification>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let latest = crate::verification::latest(app, self.user.id).await?;
        Ok(latest.map(|row| IdentityVerification::open(app, row, viewer)).transpose()?)
    }
    /// True once the real name is approved: needed to post, chat and be seen by partners.
    async fn verified(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<bool> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        Ok(crate::verification::is_verified(app, self.user.id).await?)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.user.created_at
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct AuthPayload {
    /// Send as `Authorization: Bearer …`; short-lived.
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    /// Exchange with `refreshSession` for new tokens; works once.
    pub refresh_token: String,
    /// The sign-in came from a device this account had not used before (an alert was sent).
    pub new_device: bool,
    #[graphql(skip)]
    pub signed_in: SignedIn,
    #[graphql(skip)]
    pub phone: Option<String>,
}

#[ComplexObject]
impl AuthPayload {
    async fn me(&self) -> Me {
        Me { user: self.signed_in.user.clone(), phone: self.phone.clone() }
    }
}

impl AuthPayload {
    pub fn new(signed_in: SignedIn, phone: Option<String>) -> Self {
        Self {
            access_token: signed_in.access_token.clone(),
            access_token_expires_at: signed_in.access_expires_at,
            refresh_token: signed_in.refresh_token.clone(),
            new_device: signed_in.new_device,
            signed_in,
            phone,
        }
    }
}

pub struct Session {
    pub row: session::Model,
    pub current: bool,
}

#[Object]
impl Session {
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    /// This is the session making the request.
    async fn current(&self) -> bool {
        self.current
    }
    async fn device_model(&self) -> Option<&str> {
        self.row.device_model.as_deref()
    }
    async fn os(&self) -> Option<&str> {
        self.row.os.as_deref()
    }
    async fn app_version(&self) -> Option<&str> {
        self.row.app_version.as_deref()
    }
    async fn network(&self) -> Option<&str> {
        self.row.network.as_deref()
    }
    async fn ip(&self) -> Option<&str> {
        self.row.ip.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn last_used_at(&self) -> DateTime<Utc> {
        self.row.last_used_at
    }
}

pub struct SecurityEvent(pub security_event::Model);

#[Object]
impl SecurityEvent {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> crate::entity::security_event::SecurityEventKind {
        self.0.kind
    }
    async fn device_model(&self) -> Option<&str> {
        self.0.device_model.as_deref()
    }
    async fn os(&self) -> Option<&str> {
        self.0.os.as_deref()
    }
    async fn app_version(&self) -> Option<&str> {
        self.0.app_version.as_deref()
    }
    async fn network(&self) -> Option<&str> {
        self.0.network.as_deref()
    }
    async fn ip(&self) -> Option<&str> {
        self.0.ip.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// What the app reports about the device (all optional).
#[derive(InputObject, Default)]
pub struct DeviceInput {
    /// The app installation's own stable id.
    pub device_id: Option<String>,
    pub model: Option<String>,
    pub os: Option<String>,
    pub app_version: Option<String>,
    pub network: Option<String>,
}

impl From<DeviceInput> for DeviceInfo {
    fn from(d: DeviceInput) -> Self {
        DeviceInfo { device_id: d.device_id, model: d.model, os: d.os, app_version: d.app_version, network: d.network }
    }
}
