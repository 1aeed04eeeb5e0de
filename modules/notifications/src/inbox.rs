//! The inbox: other modules call `notify`; people page, count, mark read and follow it live.

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;
use xqt_kernel::live::{Arrival, Feed, Scan, scan_then_live};
use xqt_kernel::pagination::{ListOrder, PageRequest};
use xqt_kernel::text::Text;
use xqt_kernel::{AppContext, AppError, AppResult, ids};

use crate::entity::notification::{self, Entity as Notifications};
use crate::error::{BODY_MAX, NotificationError, TITLE_MAX};

pub struct NewNotification {
    pub user_id: Uuid,
    pub kind: crate::NotificationKind,
    pub title: String,
    pub body: String,
}

impl NewNotification {
    fn validate(&self) -> Result<(), NotificationError> {
        Text::line(1, TITLE_MAX).check(&self.title).map_err(|m| NotificationError::Invalid("title", m))?;
        Text::block(0, BODY_MAX).check(&self.body).map_err(|m| NotificationError::Invalid("body", m))?;
        Ok(())
    }
}

pub fn topic(user: Uuid) -> String {
    format!("notifications:{user}")
}

/// Stores the notification, then announces it live; it is durable before anyone sees it.
pub async fn notify(ctx: &AppContext, new: NewNotification) -> AppResult<notification::Model> {
    new.validate()?;
    store(ctx, new, None).await
}

/// A notification sent by hand (`sendNotification`): only to a person who exists, and a
/// partner's carries the partner's name so it cannot pass for the platform's.
pub async fn send_by_hand(
    ctx: &AppContext,
    new: NewNotification,
    sender: Option<String>,
) -> AppResult<notification::Model> {
    new.validate()?;
    if !ctx.modules.person_reachable(ctx, new.user_id).await? {
        return Err(NotificationError::NoSuchPerson.into());
    }
    store(ctx, new, sender).await
}

/// Inserts a validated notification and announces it.
async fn store(ctx: &AppContext, new: NewNotification, sender: Option<String>) -> AppResult<notification::Model> {
    let row = notification::ActiveModel {
        id: Set(ids::new_id()),
        user_id: Set(new.user_id),
        kind: Set(new.kind),
        title: Set(new.title.trim().to_owned()),
        body: Set(new.body),
        created_at: Set(ctx.clock.now()),
        read_at: Set(None),
        sender: Set(sender),
    }
    .insert(&ctx.db)
    .await?;
    if row.kind.pushed_as_notice() {
        let job = serde_json::json!({ "notification": row.id });
        xqt_kernel::jobs::enqueue(ctx, crate::push::NOTICE, job, ctx.clock.now(), None).await?;
        xqt_kernel::jobs::wake();
    }
    let payload = serde_json::to_vec(&row).map_err(AppError::internal)?;
    if let Err(e) = ctx.bus.publish(&topic(row.user_id), Bytes::from(payload)).await {
        // Stored already: a live subscriber catches up from the database on its next gap or resume.
        tracing::warn!(error = ?e, notification = %row.id, "live delivery failed");
    }
    Ok(row)
}

/// `limit + 1` rows of the person's inbox in `page.direction` order, newest first.
pub async fn page(
    ctx: &AppContext,
    user: Uuid,
    page: &PageRequest,
    unread_only: bool,
) -> AppResult<Vec<notification::Model>> {
    let mut q = Notifications::find().filter(notification::Column::UserId.eq(user));
    if unread_only {
        q = q.filter(notification::Column::ReadAt.is_null());
    }
    Ok(page.apply(q, notification::Column::Id, ListOrder::NewestFirst)?.all(&ctx.db).await?)
}

pub async fn unread_count(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    Ok(Notifications::find()
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::ReadAt.is_null())
        .count(&ctx.db)
        .await?)
}

/// Marks the person's unread notifications read, all of them or those up to and including `up_to`.
pub async fn mark_read(ctx: &AppContext, user: Uuid, up_to: Option<Uuid>) -> AppResult<u64> {
    let mut q = Notifications::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(ctx.clock.now()))
        .filter(notification::Column::UserId.eq(user))
        .filter(notification::Column::ReadAt.is_null());
    if let Some(up_to) = up_to {
        q = q.filter(notification::Column::Id.lte(up_to));
    }
    Ok(q.exec(&ctx.db).await?.rows_affected)
}

/// The id of the person's newest notification: where a stream from now on starts.
pub async fn newest_id(ctx: &AppContext, user: Uuid) -> AppResult<Option<Uuid>> {
    Ok(Notifications::find()
        .filter(notification::Column::UserId.eq(user))
        .order_by_desc(notification::Column::Id)
        .one(&ctx.db)
        .await?
        .map(|n| n.id))
}

/// A person's stored notifications, positioned by id (UUIDv7: time-ordered, with holes).
struct Inbox {
    ctx: AppContext,
    user: Uuid,
}

#[async_trait]
impl Feed for Inbox {
    type Item = notification::Model;
    type Position = Option<Uuid>;

    async fn scan(&self, after: &Option<Uuid>, limit: u64) -> AppResult<Scan<notification::Model, Option<Uuid>>> {
        let mut q = Notifications::find().filter(notification::Column::UserId.eq(self.user));
        if let Some(after) = after {
            q = q.filter(notification::Column::Id.gt(*after));
        }
        let rows = q.order_by_asc(notification::Column::Id).limit(limit).all(&self.ctx.db).await?;
        Ok(Scan::of(rows.into_iter().map(|n| (Some(n.id), n)).collect(), limit))
    }

    fn decode(&self, payload: &xqt_kernel::bus::Payload) -> Arrival<notification::Model, Option<Uuid>> {
        match serde_json::from_slice::<notification::Model>(payload) {
            Ok(row) => Arrival::Stored(Some(row.id), row),
            Err(e) => {
                tracing::warn!(error = %e, "undecodable notification on the bus");
                Arrival::Skip
            }
        }
    }

    fn is_next(&self, last: &Option<Uuid>, at: &Option<Uuid>) -> bool {
        at > last
    }
}

/// The person's notifications after `after` (or from now on when `None`), oldest first: first
/// the stored ones, then live ones, with no gap and no duplicate (the kernel's driver).
pub fn follow(ctx: AppContext, user: Uuid, after: Option<Uuid>) -> impl Stream<Item = AppResult<notification::Model>> {
    async_stream::try_stream! {
        let from = match after {
            Some(id) => Some(id),
            None => Box::pin(newest_id(&ctx, user)).await?,
        };
        let feed = Inbox { ctx: ctx.clone(), user };
        let mut rows = Box::pin(scan_then_live(ctx.bus.clone(), topic(user), feed, from));
        while let Some(delivered) = rows.next().await {
            yield delivered?.item;
        }
    }
}

pub async fn all_for(ctx: &AppContext, user: Uuid) -> AppResult<Vec<notification::Model>> {
    Ok(Notifications::find()
        .filter(notification::Column::UserId.eq(user))
        .order_by_asc(notification::Column::Id)
        .all(&ctx.db)
        .await?)
}

pub async fn delete_for(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    Ok(Notifications::delete_many().filter(notification::Column::UserId.eq(user)).exec(&ctx.db).await?.rows_affected)
}

pub async fn delete_read_before(ctx: &AppContext, cutoff: DateTime<Utc>) -> AppResult<u64> {
    Ok(Notifications::delete_many().filter(notification::Column::ReadAt.lt(cutoff)).exec(&ctx.db).await?.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(title: &str, body: &str) -> NewNotification {
        let kind = crate::NotificationKind::Notice;
        NewNotification { user_id: Uuid::nil(), kind, title: title.into(), body: body.into() }
    }

    #[test]
    fn validation_names_the_bad_field() {
        assert_eq!(new("新版隐私政策", "请阅读").validate(), Ok(()));
        let field = |n: NewNotification| match n.validate() {
            Err(NotificationError::Invalid(field, _)) => Some(field),
            _ => None,
        };
        assert_eq!(field(new("  ", "")), Some("title"));
        assert_eq!(field(new(&"标".repeat(201), "")), Some("title"));
        assert_eq!(new(&"标".repeat(200), "").validate(), Ok(()));
        assert_eq!(field(new("t", &"b".repeat(2001))), Some("body"));
        assert_eq!(field(new("第一行\n第二行", "")), Some("title"), "a title is one line");
    }
}
