//! Favourites of posts and organisations: the person's own list, erased with the account (CAN-4).

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;
use xqt_kernel::{AppContext, AppResult};

use crate::entity::favourite::{self, FavouriteKind};
use crate::error::CooperationError;
use crate::posts;

pub const MAX: u64 = 500;

/// Marks a post or an organisation the person can see; marking twice is one mark.
pub async fn add(ctx: &AppContext, user: Uuid, kind: FavouriteKind, id: Uuid) -> AppResult<()> {
    match kind {
        FavouriteKind::Post => {
            posts::visible(ctx, Some(user), id).await?;
        }
        FavouriteKind::Organization => {
            if xqt_accounts::organizations::visible(ctx, Some(user), id).await?.is_none() {
                return Err(CooperationError::NotFound("organization").into());
            }
        }
    }
    let count = favourite::Entity::find().filter(favourite::Column::UserId.eq(user)).count(&ctx.db).await?;
    if count >= MAX {
        return Err(crate::error::invalid("id", format!("at most {MAX} favourites; remove some first")).into());
    }
    favourite::Entity::insert(favourite::ActiveModel {
        user_id: Set(user),
        subject_kind: Set(kind),
        subject_id: Set(id),
        created_at: Set(ctx.clock.now()),
    })
    .on_conflict(
        OnConflict::columns([favourite::Column::UserId, favourite::Column::SubjectKind, favourite::Column::SubjectId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&ctx.db)
    .await?;
    Ok(())
}

pub async fn remove(ctx: &AppContext, user: Uuid, kind: FavouriteKind, id: Uuid) -> AppResult<bool> {
    let done = favourite::Entity::delete_many()
        .filter(favourite::Column::UserId.eq(user))
        .filter(favourite::Column::SubjectKind.eq(kind))
        .filter(favourite::Column::SubjectId.eq(id))
        .exec(&ctx.db)
        .await?;
    Ok(done.rows_affected > 0)
}

pub async fn list(ctx: &AppContext, user: Uuid) -> AppResult<Vec<favourite::Model>> {
    Ok(favourite::Entity::find()
        .filter(favourite::Column::UserId.eq(user))
        .order_by_desc(favourite::Column::CreatedAt)
        .limit(MAX)
        .all(&ctx.db)
        .await?)
}

pub async fn delete_for(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    Ok(favourite::Entity::delete_many().filter(favourite::Column::UserId.eq(user)).exec(&ctx.db).await?.rows_affected)
}
