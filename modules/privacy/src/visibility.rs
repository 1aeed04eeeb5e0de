//! Public disclosure only with explicit consent (SHR-3): every profile field is private until
//! the person makes it visible, which needs the separate `public_profile` consent; withdrawing
//! that consent hides everything at once.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;
use xqt_kernel::mask::{PersonalField, for_viewer};
use xqt_kernel::{AppContext, AppResult, ErrorCode, Viewer, ids};

use crate::entity::profile_visibility;
use crate::purposes::PUBLIC_PROFILE;

xqt_kernel::closed_set! {
    /// A profile field a person may make public.
    pub enum ProfileField {
        Nickname = "nickname",
        Gender = "gender",
        /// Shown masked (`张*`) even when public, and only once verified.
        RealName = "real_name",
    }
}

pub async fn set(ctx: &AppContext, user: Uuid, field: ProfileField, visible: bool) -> AppResult<()> {
    if visible {
        ctx.modules.privacy().consent.require(ctx, user, PUBLIC_PROFILE, None).await?;
    }
    let row = profile_visibility::ActiveModel {
        id: Set(ids::new_id()),
        user_id: Set(user),
        field: Set(field),
        visible: Set(visible),
        updated_at: Set(ctx.clock.now()),
    };
    profile_visibility::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([profile_visibility::Column::UserId, profile_visibility::Column::Field])
                .update_columns([profile_visibility::Column::Visible, profile_visibility::Column::UpdatedAt])
                .to_owned(),
        )
        .exec(&ctx.db)
        .await?;
    Ok(())
}

pub async fn settings(ctx: &AppContext, user: Uuid) -> AppResult<Vec<profile_visibility::Model>> {
    Ok(profile_visibility::Entity::find().filter(profile_visibility::Column::UserId.eq(user)).all(&ctx.db).await?)
}

/// Fields the person made public, while their `public_profile` consent stands.
pub async fn public_fields(ctx: &AppContext, user: Uuid) -> AppResult<Vec<ProfileField>> {
    match ctx.modules.privacy().consent.require(ctx, user, PUBLIC_PROFILE, None).await {
        Ok(()) => {}
        Err(e) if e.code() == ErrorCode::ConsentRequired => return Ok(vec![]),
        Err(e) => return Err(e),
    }
    Ok(settings(ctx, user).await?.into_iter().filter(|s| s.visible).map(|s| s.field).collect())
}

#[derive(Debug, Clone, Default)]
pub struct PublicProfile {
    pub id: Uuid,
    pub nickname: Option<String>,
    pub gender: Option<xqt_accounts::profile::Gender>,
    pub real_name: Option<String>,
}

/// What anyone may see of a person: only what they made public. `None` for no such account.
pub async fn public_profile(ctx: &AppContext, viewer: &Viewer, user: Uuid) -> AppResult<Option<PublicProfile>> {
    let Some(account) =
        xqt_accounts::users::find(ctx, user).await?.filter(|u| u.status != xqt_accounts::users::AccountStatus::Erased)
    else {
        return Ok(None);
    };
    let fields = public_fields(ctx, user).await?;
    let shows = |f: ProfileField| fields.contains(&f);
    let mut out = PublicProfile { id: user, ..PublicProfile::default() };
    if shows(ProfileField::Nickname) {
        out.nickname = account.nickname.clone();
    }
    if shows(ProfileField::Gender) {
        out.gender = account.gender;
    }
    if shows(ProfileField::RealName)
        && xqt_accounts::verification::is_verified(ctx, user).await?
        && let Some(iv) = xqt_accounts::verification::latest(ctx, user).await?
    {
        out.real_name = Some(for_viewer(viewer, user, PersonalField::Name, &ctx.keys.open(&iv.real_name_sealed)?));
    }
    Ok(Some(out))
}

pub async fn delete_for(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    Ok(profile_visibility::Entity::delete_many()
        .filter(profile_visibility::Column::UserId.eq(user))
        .exec(&ctx.db)
        .await?
        .rows_affected)
}
