use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};
use chrono::NaiveDate;
use xqt_kernel::auth::RequestMeta;
use xqt_kernel::ids::parse_id;

use super::types::{AuthPayload, DeviceInput, Gender, IdentityVerification, Me, ReviewAction};
use crate::profile::{self, Change, ProfileChange};
use crate::{sessions, users};

#[derive(InputObject)]
pub struct SignInWithCodeInput {
    pub phone: String,
    pub code: String,
    #[graphql(default)]
    pub device: DeviceInput,
}

#[derive(InputObject)]
pub struct SignInWithPasswordInput {
    /// Phone number or username.
    pub login: String,
    pub password: String,
    #[graphql(default)]
    pub device: DeviceInput,
}

/// Omit a field to leave it; send `null` to clear it.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// The id of an `avatar` upload (POST /files?purpose=avatar).
    pub avatar_file_id: MaybeUndefined<ID>,
    pub nickname: MaybeUndefined<String>,
    pub username: MaybeUndefined<String>,
    pub gender: MaybeUndefined<Gender>,
    pub birth_date: MaybeUndefined<NaiveDate>,
}

fn change<T, U>(value: MaybeUndefined<T>, map: impl FnOnce(T) -> U) -> Change<U> {
    match value {
        MaybeUndefined::Undefined => Change::Keep,
        MaybeUndefined::Null => Change::Clear,
        MaybeUndefined::Value(v) => Change::Set(map(v)),
    }
}

fn meta<'a>(ctx: &'a Context<'_>) -> std::borrow::Cow<'a, RequestMeta> {
    ctx.data_opt::<RequestMeta>()
        .map_or_else(|| std::borrow::Cow::Owned(RequestMeta::default()), std::borrow::Cow::Borrowed)
}

fn payload(app: &xqt_kernel::AppContext, signed_in: sessions::SignedIn) -> Result<AuthPayload> {
    let phone = users::phone_of(app, &signed_in.user)?.map(|p| p.as_str().to_owned());
    Ok(AuthPayload::new(signed_in, phone))
}

#[derive(Default)]
pub struct AccountsMutation;

#[Object]
impl AccountsMutation {
    /// Texts a 6-digit sign-in code to a mainland mobile number (valid 5 minutes; one a minute,
    /// ten a day). Signing in with it creates the account if there is none.
    async fn request_sign_in_code(&self, ctx: &Context<'_>, phone: String) -> Result<bool> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        sessions::request_sign_in_code(app, &meta(ctx), &phone).await?;
        Ok(true)
    }

    async fn sign_in_with_code(&self, ctx: &Context<'_>, input: SignInWithCodeInput) -> Result<AuthPayload> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        let signed_in =
            sessions::sign_in_with_code(app, &meta(ctx), &input.phone, &input.code, input.device.into()).await?;
        payload(app, signed_in)
    }

    async fn sign_in_with_password(&self, ctx: &Context<'_>, input: SignInWithPasswordInput) -> Result<AuthPayload> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        let signed_in =
            sessions::sign_in_with_password(app, &meta(ctx), &input.login, &input.password, input.device.into())
                .await?;
        payload(app, signed_in)
    }

    /// New tokens for a refresh token. Each refresh token works once.
    async fn refresh_session(&self, ctx: &Context<'_>, refresh_token: String) -> Result<AuthPayload> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        payload(app, sessions::refresh(app, &refresh_token).await?)
    }

    /// Ends the current session.
    async fn sign_out(&self, ctx: &Context<'_>) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let user = viewer.require_person()?;
        let session = viewer.session_id().ok_or(crate::error::AccountsError::SignInFirst)?;
        Ok(sessions::end_session(app, user, session, crate::entity::security_event::SecurityEventKind::SignedOut)
            .await?)
    }

    /// Ends every session of the person, this one included. Returns how many ended.
    async fn sign_out_everywhere(&self, ctx: &Context<'_>) -> Result<u64> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(sessions::end_all_sessions(
            app,
            viewer.require_person()?,
            crate::entity::security_event::SecurityEventKind::SignedOutEverywhere,
        )
        .await?)
    }

    /// Ends one of the person's sessions (e.g. a lost phone).
    async fn end_session(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let user = viewer.require_person()?;
        if !sessions::end_session(
            app,
            user,
            parse_id("id", &id)?,
            crate::entity::security_event::SecurityEventKind::EndedByUser,
        )
        .await?
        {
            return Err(crate::error::AccountsError::SessionNotFound.into());
        }
        Ok(true)
    }

    /// Moves the account to a new phone number, proven by a code sent to it (requestSignInCode).
    async fn change_phone(&self, ctx: &Context<'_>, new_phone: String, code: String) -> Result<Me> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let user = users::change_phone(app, viewer.require_person()?, &new_phone, &code).await?;
        let phone = users::phone_of(app, &user)?.map(|p| p.as_str().to_owned());
        Ok(Me { user, phone })
    }

    /// Sets a password (changing one needs the current password).
    async fn set_password(
        &self,
        ctx: &Context<'_>,
        current_password: Option<String>,
        new_password: String,
    ) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        users::set_password(app, viewer.require_person()?, current_password.as_deref(), &new_password).await?;
        Ok(true)
    }

    async fn update_profile(&self, ctx: &Context<'_>, input: UpdateProfileInput) -> Result<Me> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let avatar = match input.avatar_file_id {
            MaybeUndefined::Undefined => Change::Keep,
            MaybeUndefined::Null => Change::Clear,
            MaybeUndefined::Value(id) => Change::Set(parse_id("avatarFileId", &id)?),
        };
        let change = ProfileChange {
            avatar,
            nickname: change(input.nickname, |v| v),
            username: change(input.username, |v| v),
            gender: change(input.gender, |g| g),
            birth_date: change(input.birth_date, |v| v),
        };
        let user = profile::update(app, viewer.require_person()?, change).await?;
        let phone = users::phone_of(app, &user)?.map(|p| p.as_str().to_owned());
        Ok(Me { user, phone })
    }

    /// Submits the person's real name and resident ID number for review.
    async fn submit_identity_verification(
        &self,
        ctx: &Context<'_>,
        real_name: String,
        id_number: String,
        #[graphql(desc = "the ID card's front: an `id_photo` upload of yours (with `idBackFileId`)")]
        id_front_file_id: Option<ID>,
        #[graphql(desc = "the ID card's back: an `id_photo` upload of yours")] id_back_file_id: Option<ID>,
    ) -> Result<IdentityVerification> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let photos = match (id_front_file_id, id_back_file_id) {
            (None, None) => None,
            (Some(front), Some(back)) => Some((parse_id("idFrontFileId", &front)?, parse_id("idBackFileId", &back)?)),
            (front, _) => {
                let field = if front.is_none() { "idFrontFileId" } else { "idBackFileId" };
                let message = "send both sides of the card, or neither".into();
                return Err(crate::error::AccountsError::Invalid { field, message }.into());
            }
        };
        let row =
            crate::verification::submit_with_photos(app, viewer.require_person()?, &real_name, &id_number, photos)
                .await?;
        Ok(IdentityVerification::open(app, row, viewer)?)
    }

    /// A reviewer starts, approves or rejects (with a reason the person sees) a submission.
    async fn review_identity_verification(
        &self,
        ctx: &Context<'_>,
        id: ID,
        action: ReviewAction,
        reason: Option<String>,
    ) -> Result<IdentityVerification> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let reviewer = viewer.require_admin()?;
        let row = crate::verification::review(app, reviewer, parse_id("id", &id)?, action, reason.as_deref()).await?;
        Ok(IdentityVerification::open(app, row, viewer)?)
    }
}
