//! Push to a person's devices. `PushGateway` is the seam for a real provider (which fans out to
//! the person's registered device tokens); the built-in one writes each push to the
//! `push_messages` outbox and logs it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;
use xqt_kernel::{AppContext, AppResult, ids};

use crate::entity::push_message;

#[async_trait]
pub trait PushGateway: Send + Sync + 'static {
    async fn push(&self, ctx: &AppContext, user: Uuid, kind: &str, title: &str, body: &str) -> AppResult<()>;
}

/// The built-in provider: an outbox table.
pub struct Outbox;

#[async_trait]
impl PushGateway for Outbox {
    async fn push(&self, ctx: &AppContext, user: Uuid, kind: &str, title: &str, body: &str) -> AppResult<()> {
        push_message::ActiveModel {
            id: Set(ids::new_id()),
            user_id: Set(user),
            kind: Set(kind.chars().take(64).collect()),
            title: Set(title.chars().take(100).collect()),
            body: Set(body.to_owned()),
            created_at: Set(ctx.clock.now()),
        }
        .insert(&ctx.db)
        .await?;
        tracing::info!(user = %user, kind, "push written to the outbox");
        Ok(())
    }
}

pub fn gateway() -> &'static dyn PushGateway {
    &Outbox
}

/// Everything pushed to `user`, oldest first (what the built-in provider "delivered").
pub async fn sent_to(ctx: &AppContext, user: Uuid) -> AppResult<Vec<push_message::Model>> {
    Ok(push_message::Entity::find()
        .filter(push_message::Column::UserId.eq(user))
        .order_by_asc(push_message::Column::Id)
        .all(&ctx.db)
        .await?)
}

pub async fn delete_for(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    Ok(push_message::Entity::delete_many()
        .filter(push_message::Column::UserId.eq(user))
        .exec(&ctx.db)
        .await?
        .rows_affected)
}

pub async fn delete_before(ctx: &AppContext, cutoff: DateTime<Utc>) -> AppResult<u64> {
    Ok(push_message::Entity::delete_many()
        .filter(push_message::Column::CreatedAt.lt(cutoff))
        .exec(&ctx.db)
        .await?
        .rows_affected)
}
