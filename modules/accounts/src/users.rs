//! Accounts: finding people, creating them, their phone and password.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;
use xqt_kernel::auth::RequestMeta;
use xqt_kernel::{AppContext, AppError, AppResult, ids};
use xqt_notifications::inbox::{NewNotification, notify};

use crate::entity::user;
use crate::error::AccountsError;
use crate::password;
use crate::phone::Phone;
use crate::sessions::{DeviceInfo, log_event};

xqt_kernel::closed_set! {
    /// An account is active until its holder's data is erased; the row stays as a tombstone.
    pub enum AccountStatus {
        Active = "active",
        Erased = "erased",
    }
}

pub async fn find_by_phone(ctx: &AppContext, phone: &Phone) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find().filter(user::Column::PhoneHash.eq(phone.lookup_hash(ctx))).one(&ctx.db).await?)
}

/// These accounts, in no particular order (missing ids are left out).
pub async fn find_many(ctx: &AppContext, ids: &[Uuid]) -> AppResult<Vec<user::Model>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(user::Entity::find().filter(user::Column::Id.is_in(ids.iter().copied())).all(&ctx.db).await?)
}

pub async fn find(ctx: &AppContext, id: Uuid) -> AppResult<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id).one(&ctx.db).await?)
}

pub fn phone_of(ctx: &AppContext, user: &user::Model) -> AppResult<Option<Phone>> {
    user.phone_sealed
        .as_deref()
        .map(|sealed| ctx.keys.open(sealed).and_then(|p| Phone::parse(&p).map_err(AppError::internal)))
        .transpose()
}

/// Makes the person with this phone a platform admin, creating the account if needed
/// (`xqt admin create`). Their next sign-in carries the admin role.
pub async fn create_admin(ctx: &AppContext, phone: &str) -> AppResult<user::Model> {
    let phone = Phone::parse(phone)?;
    let user = match find_by_phone(ctx, &phone).await? {
        Some(u) => u,
        None => create_user(ctx, &phone).await?,
    };
    user::Entity::update_many()
        .col_expr(user::Column::Role, Expr::value("admin"))
        .col_expr(user::Column::UpdatedAt, Expr::value(ctx.clock.now()))
        .filter(user::Column::Id.eq(user.id))
        .exec(&ctx.db)
        .await?;
    tracing::info!(user = %user.id, phone = %phone.masked(), "platform admin created");
    find(ctx, user.id).await?.ok_or_else(|| AccountsError::NotFound("user").into())
}

pub(crate) async fn create_user(ctx: &AppContext, phone: &Phone) -> AppResult<user::Model> {
    if xqt_kernel::ceasing::ceased(ctx).await? {
        return Err(xqt_kernel::ceasing::ceased_error());
    }
    let now = ctx.clock.now();
    let row = user::ActiveModel {
        id: Set(ids::new_id()),
        phone_hash: Set(Some(phone.lookup_hash(ctx))),
        phone_sealed: Set(Some(ctx.keys.seal(phone.as_str()))),
        role: Set(xqt_kernel::auth::Role::User),
        status: Set(AccountStatus::Active),
        username: Set(None),
        nickname: Set(None),
        gender: Set(None),
        birth_date: Set(None),
        password_hash: Set(None),
        failed_sign_ins: Set(0),
        locked_until: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        avatar_file_id: Set(None),
    };
    match row.insert(&ctx.db).await {
        Ok(u) => {
            tracing::info!(user = %u.id, "account created");
            Ok(u)
        }
        // Two first sign-ins raced: the other one created it.
        Err(e) => find_by_phone(ctx, phone).await?.ok_or_else(|| AppError::internal(e)),
    }
}

/// Moves the account to a new phone, proven by a code sent to that phone; the old number is freed.
pub async fn change_phone(ctx: &AppContext, user_id: Uuid, new_phone: &str, code: &str) -> AppResult<user::Model> {
    let phone = Phone::parse(new_phone)?;
    crate::codes::verify(ctx, &phone, code).await?;
    if find_by_phone(ctx, &phone).await?.is_some() {
        return Err(AccountsError::PhoneTaken { field: "newPhone" }.into());
    }
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let updated = user::Entity::update_many()
        .col_expr(user::Column::PhoneHash, Expr::value(phone.lookup_hash(ctx)))
        .col_expr(user::Column::PhoneSealed, Expr::value(ctx.keys.seal(phone.as_str())))
        .col_expr(user::Column::UpdatedAt, Expr::value(ctx.clock.now()))
        .filter(user::Column::Id.eq(user_id))
        .exec(&txn)
        .await;
    if let Err(e) = updated {
        return Err(match e.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
                AccountsError::PhoneTaken { field: "newPhone" }.into()
            }
            _ => e.into(),
        });
    }
    log_event(
        &txn,
        ctx,
        user_id,
        crate::entity::security_event::SecurityEventKind::PhoneChanged,
        None,
        &RequestMeta::default(),
        &DeviceInfo::default(),
    )
    .await?;
    txn.commit().await?;
    let body = format!("账号绑定的手机号已更换为 {}。如非本人操作，请立即联系客服。", phone.masked());
    notify(
        ctx,
        NewNotification {
            user_id,
            kind: xqt_notifications::NotificationKind::SecurityPhoneChanged,
            title: "手机号已更换".into(),
            body,
        },
    )
    .await?;
    find(ctx, user_id).await?.ok_or_else(|| AccountsError::NotFound("user").into())
}

/// Sets or changes the password; changing one needs the current one.
pub async fn set_password(ctx: &AppContext, user_id: Uuid, current: Option<&str>, new: &str) -> AppResult<()> {
    let user = find(ctx, user_id).await?.ok_or(AccountsError::NotFound("user"))?;
    if user.password_hash.is_some() {
        let given = current.ok_or(AccountsError::CurrentPasswordWrong)?;
        if !password::verify(given.to_owned(), user.password_hash.clone()).await? {
            return Err(AccountsError::CurrentPasswordWrong.into());
        }
    }
    let phone = phone_of(ctx, &user)?;
    password::check_rules(new, phone.as_ref().map(Phone::as_str), user.username.as_deref())?;
    let hash = password::hash(new.to_owned()).await?;
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::UpdatedAt, Expr::value(ctx.clock.now()))
        .filter(user::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    log_event(
        &txn,
        ctx,
        user_id,
        crate::entity::security_event::SecurityEventKind::PasswordSet,
        None,
        &RequestMeta::default(),
        &DeviceInfo::default(),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Ids of accounts that are not erased, in id order after `after`: for notices to everyone.
pub async fn account_ids_after(ctx: &AppContext, after: Option<Uuid>, limit: u64) -> AppResult<Vec<Uuid>> {
    let mut q = user::Entity::find().filter(user::Column::Status.ne(AccountStatus::Erased));
    if let Some(after) = after {
        q = q.filter(user::Column::Id.gt(after));
    }
    Ok(q.order_by_asc(user::Column::Id)
        .select_only()
        .column(user::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(&ctx.db)
        .await?)
}

/// Gender and birth date of every account that is not erased, for aggregate statistics.
pub async fn demographics(
    ctx: &AppContext,
) -> AppResult<Vec<(Option<crate::profile::Gender>, Option<chrono::NaiveDate>)>> {
    Ok(user::Entity::find()
        .filter(user::Column::Status.ne(AccountStatus::Erased))
        .select_only()
        .column(user::Column::Gender)
        .column(user::Column::BirthDate)
        .into_tuple()
        .all(&ctx.db)
        .await?)
}

/// Accounts (not erased) born after `born_after`, with when they last changed: the children
/// the guardian rules apply to.
pub async fn born_after(ctx: &AppContext, born_after: chrono::NaiveDate) -> AppResult<Vec<(Uuid, DateTime<Utc>)>> {
    Ok(user::Entity::find()
        .filter(user::Column::Status.ne(AccountStatus::Erased))
        .filter(user::Column::BirthDate.gt(born_after))
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::UpdatedAt)
        .into_tuple()
        .all(&ctx.db)
        .await?)
}
