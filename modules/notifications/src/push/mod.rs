//! Push to a person's devices. `PushGateway` is the seam; `[notifications.push] provider` picks
//! the client: `outbox` (built in: each push written to the `push_messages` table and logged;
//! production refuses it) or `jpush` (`jpush.rs`: to the person's devices registered as `JPUSH`).
//! Device tokens are registered only under the push consent (PRM-2) and dropped when it is
//! withdrawn or the account goes, so nobody without both is pushed to.

pub mod jpush;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;
use xqt_kernel::{AppContext, AppResult, ids};

use crate::entity::{push_device, push_message};
use crate::personal_data::PUSH_PURPOSE;

/// One push. Pushes with the same `collapse_key` replace each other on the device (APNs
/// `apns-collapse-id`, FCM `collapse_key`): how a recalled chat message's notice is withdrawn.
#[derive(Debug, Clone, Copy)]
pub struct Push<'a> {
    pub kind: crate::NotificationKind,
    pub title: &'a str,
    pub body: &'a str,
    pub collapse_key: Option<&'a str>,
}

#[async_trait]
pub trait PushGateway: Send + Sync + 'static {
    async fn push(&self, ctx: &AppContext, user: Uuid, push: &Push<'_>) -> AppResult<()>;
    /// Replaces what an earlier push with the same collapse key shows, where the person got
    /// one; nobody else is pushed to.
    async fn replace(&self, ctx: &AppContext, user: Uuid, push: &Push<'_>) -> AppResult<()>;

    /// The same push to many people (a group's members): providers batch it.
    async fn push_many(&self, ctx: &AppContext, users: &[Uuid], push: &Push<'_>) -> AppResult<()> {
        for user in users {
            self.push(ctx, *user, push).await?;
        }
        Ok(())
    }

    /// `replace` for many people.
    async fn replace_many(&self, ctx: &AppContext, users: &[Uuid], push: &Push<'_>) -> AppResult<()> {
        for user in users {
            self.replace(ctx, *user, push).await?;
        }
        Ok(())
    }
}

/// The job that pushes a stored platform notice (`NotificationKind::pushed_as_notice`).
pub const NOTICE: &str = "notifications.push_notice";

struct PushNotice;

#[async_trait]
impl xqt_kernel::jobs::JobHandler for PushNotice {
    fn kind(&self) -> &'static str {
        NOTICE
    }

    async fn run(&self, ctx: &AppContext, payload: &serde_json::Value) -> AppResult<()> {
        let id = payload["notification"].as_str().and_then(|s| s.parse::<Uuid>().ok());
        let Some(id) = id else { return Ok(()) };
        // Gone (erased, or the person cancelled) before it was pushed: nothing to push.
        let Some(n) = crate::entity::notification::Entity::find_by_id(id).one(&ctx.db).await? else { return Ok(()) };
        // Only to people who hold the push consent now, whichever provider delivers.
        if !holds_push_consent(ctx, n.user_id).await? {
            return Ok(());
        }
        let key = format!("n:{}", n.id);
        let push = Push { kind: n.kind, title: &n.title, body: &n.body, collapse_key: Some(&key) };
        gateway(ctx).push(ctx, n.user_id, &push).await
    }
}

pub fn handlers() -> Vec<std::sync::Arc<dyn xqt_kernel::jobs::JobHandler>> {
    vec![std::sync::Arc::new(PushNotice)]
}

/// Whether the person holds the push consent at this moment.
pub async fn holds_push_consent(ctx: &AppContext, user: Uuid) -> AppResult<bool> {
    Ok(ctx.modules.privacy().consent.permitted_among(ctx, &[user], PUSH_PURPOSE).await?.contains(&user))
}

/// The outbox's column widths.
const TITLE_MAX: usize = 100;
const COLLAPSE_KEY_MAX: usize = 100;

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// The built-in provider: an outbox table; a collapse key overwrites the earlier row.
pub struct Outbox;

/// Rows written per statement (SQLite allows 32,766 bound values; seven a row).
const OUTBOX_BATCH: usize = 500;

#[async_trait]
impl PushGateway for Outbox {
    async fn push(&self, ctx: &AppContext, user: Uuid, push: &Push<'_>) -> AppResult<()> {
        self.push_many(ctx, &[user], push).await
    }

    async fn replace(&self, ctx: &AppContext, user: Uuid, push: &Push<'_>) -> AppResult<()> {
        self.replace_many(ctx, &[user], push).await
    }

    /// One statement per `OUTBOX_BATCH` people.
    async fn push_many(&self, ctx: &AppContext, users: &[Uuid], push: &Push<'_>) -> AppResult<()> {
        let now = ctx.clock.now();
        for chunk in users.chunks(OUTBOX_BATCH) {
            let rows = chunk.iter().map(|user| push_message::ActiveModel {
                id: Set(ids::new_id()),
                user_id: Set(*user),
                kind: Set(push.kind),
                title: Set(clip(push.title, TITLE_MAX)),
                body: Set(push.body.to_owned()),
                created_at: Set(now),
                collapse_key: Set(push.collapse_key.map(|k| clip(k, COLLAPSE_KEY_MAX))),
            });
            push_message::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::columns([push_message::Column::UserId, push_message::Column::CollapseKey])
                        .update_columns([
                            push_message::Column::Kind,
                            push_message::Column::Title,
                            push_message::Column::Body,
                            push_message::Column::CreatedAt,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(&ctx.db)
                .await?;
        }
        tracing::info!(people = users.len(), kind = %push.kind, "push written to the outbox");
        Ok(())
    }

    async fn replace_many(&self, ctx: &AppContext, users: &[Uuid], push: &Push<'_>) -> AppResult<()> {
        let Some(key) = push.collapse_key else { return Ok(()) };
        for chunk in users.chunks(OUTBOX_BATCH) {
            push_message::Entity::update_many()
                .col_expr(push_message::Column::Kind, Expr::value(push.kind))
                .col_expr(push_message::Column::Title, Expr::value(clip(push.title, TITLE_MAX)))
                .col_expr(push_message::Column::Body, Expr::value(push.body))
                .filter(push_message::Column::UserId.is_in(chunk.iter().copied()))
                .filter(push_message::Column::CollapseKey.eq(key))
                .exec(&ctx.db)
                .await?;
        }
        Ok(())
    }
}

/// The configured provider.
pub fn gateway(ctx: &AppContext) -> std::sync::Arc<dyn PushGateway> {
    let config = ctx.config.section::<crate::config::NotificationsConfig>();
    match config.push.provider {
        crate::config::PushProviderKind::Outbox => std::sync::Arc::new(Outbox),
        crate::config::PushProviderKind::Jpush => std::sync::Arc::new(jpush::Jpush::new(&config.push)),
    }
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

xqt_kernel::closed_set! {
    /// The push service a device token belongs to.
    pub enum PushPlatform {
        Apns = "apns",
        Fcm = "fcm",
        Huawei = "huawei",
        Xiaomi = "xiaomi",
        Oppo = "oppo",
        Vivo = "vivo",
        Honor = "honor",
        /// A JPush registration id (JPush reaches the phone through its own channel and the
        /// vendors').
        Jpush = "jpush",
    }
}

pub const TOKEN_MAX: usize = 512;
/// Devices one person may register; the oldest goes when a new one would exceed it.
pub const DEVICES_MAX: u64 = 10;

/// Registers a device's push token, only under the push consent. A token moves to whoever
/// registers it last (a phone changes hands), and a person keeps at most `DEVICES_MAX`.
pub async fn register_device(
    ctx: &AppContext,
    user: Uuid,
    platform: PushPlatform,
    token: &str,
) -> AppResult<push_device::Model> {
    let token = token.trim();
    if token.is_empty() || token.len() > TOKEN_MAX || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(crate::NotificationError::PushTokenInvalid.into());
    }
    ctx.modules.privacy().consent.require(ctx, user, PUSH_PURPOSE, None).await?;
    push_device::Entity::delete_many().filter(push_device::Column::Token.eq(token)).exec(&ctx.db).await?;
    let held = push_device::Entity::find().filter(push_device::Column::UserId.eq(user)).count(&ctx.db).await?;
    if held >= DEVICES_MAX
        && let Some(oldest) = push_device::Entity::find()
            .filter(push_device::Column::UserId.eq(user))
            .order_by_asc(push_device::Column::Id)
            .one(&ctx.db)
            .await?
    {
        push_device::Entity::delete_by_id(oldest.id).exec(&ctx.db).await?;
    }
    let row = push_device::ActiveModel {
        id: Set(ids::new_id()),
        user_id: Set(user),
        platform: Set(platform),
        token: Set(token.to_owned()),
        created_at: Set(ctx.clock.now()),
    }
    .insert(&ctx.db)
    .await?;
    tracing::info!(user = %user, %platform, "push device registered");
    Ok(row)
}

pub async fn devices(ctx: &AppContext, user: Uuid) -> AppResult<Vec<push_device::Model>> {
    Ok(push_device::Entity::find()
        .filter(push_device::Column::UserId.eq(user))
        .order_by_asc(push_device::Column::Id)
        .all(&ctx.db)
        .await?)
}

/// The devices of `users` a push may go to now: only those of people who hold the push consent
/// at this moment (two reads: the consents, then their devices). A withdrawal queues the tokens'
/// erasure for the job runner; until it has run, this is what keeps them from being pushed to
/// (PRM-2).
pub async fn reachable_devices_of(ctx: &AppContext, users: &[Uuid]) -> AppResult<Vec<push_device::Model>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let consenting = ctx.modules.privacy().consent.permitted_among(ctx, users, PUSH_PURPOSE).await?;
    if consenting.is_empty() {
        return Ok(Vec::new());
    }
    let mut devices = Vec::new();
    let consenting: Vec<Uuid> = consenting.into_iter().collect();
    for chunk in consenting.chunks(OUTBOX_BATCH) {
        devices.extend(
            push_device::Entity::find()
                .filter(push_device::Column::UserId.is_in(chunk.iter().copied()))
                .order_by_asc(push_device::Column::Id)
                .all(&ctx.db)
                .await?,
        );
    }
    Ok(devices)
}

/// Removes one of the person's devices; true when it was theirs.
pub async fn unregister_device(ctx: &AppContext, user: Uuid, id: Uuid) -> AppResult<bool> {
    let gone = push_device::Entity::delete_many()
        .filter(push_device::Column::Id.eq(id))
        .filter(push_device::Column::UserId.eq(user))
        .exec(&ctx.db)
        .await?;
    Ok(gone.rows_affected > 0)
}

/// Drops a device the provider says is gone.
pub async fn forget_device(ctx: &AppContext, user: Uuid, platform: PushPlatform, token: &str) -> AppResult<()> {
    push_device::Entity::delete_many()
        .filter(push_device::Column::UserId.eq(user))
        .filter(push_device::Column::Platform.eq(platform))
        .filter(push_device::Column::Token.eq(token))
        .exec(&ctx.db)
        .await?;
    Ok(())
}

pub async fn delete_devices_for(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    Ok(push_device::Entity::delete_many()
        .filter(push_device::Column::UserId.eq(user))
        .exec(&ctx.db)
        .await?
        .rows_affected)
}
