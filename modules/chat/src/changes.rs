//! A conversation's change log. Every stored change — a message, an edit, a recall, people
//! joining, leaving or being removed — takes the conversation's next position in the transaction
//! that stores it, so positions are dense and in commit order. A message keeps its position on its
//! own row (a send writes nothing more); every other change is a row here. A client that resumes
//! from a position reads every change after it, exactly once, in order.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::json;
use uuid::Uuid;
use xqt_kernel::live::Scan;
use xqt_kernel::{AppContext, AppResult};

use crate::entity::change::{self, ChangeKind};
use crate::entity::{conversation, hidden, message};
use crate::error::ChatError;
use crate::live::{Event, MembershipChange};

/// Takes the conversation's next change position, inside the caller's transaction: the
/// counter's row lock (PostgreSQL) or the single writer (SQLite) keeps positions dense.
pub(crate) async fn take_position(
    db: &impl ConnectionTrait,
    conversation: Uuid,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<i64> {
    conversation::Entity::update_many()
        .col_expr(conversation::Column::LastPosition, Expr::col(conversation::Column::LastPosition).add(1))
        .col_expr(conversation::Column::LastChangedAt, Expr::value(at))
        .filter(conversation::Column::Id.eq(conversation))
        .exec(db)
        .await?;
    Ok(conversation::Entity::find_by_id(conversation)
        .select_only()
        .column(conversation::Column::LastPosition)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .ok_or(ChatError::NotFound("conversation"))?)
}

/// Records that a message was edited or recalled; returns the change's position.
pub(crate) async fn record_update(
    db: &impl ConnectionTrait,
    ctx: &AppContext,
    conversation: Uuid,
    message: Uuid,
) -> AppResult<i64> {
    record(db, ctx, conversation, ChangeKind::Updated, Some(message), None).await
}

/// Records people joining, leaving or being removed; returns the change's position.
pub(crate) async fn record_members(
    db: &impl ConnectionTrait,
    ctx: &AppContext,
    conversation: Uuid,
    change: MembershipChange,
    users: &[Uuid],
) -> AppResult<i64> {
    let kind = match change {
        MembershipChange::Joined => ChangeKind::Joined,
        MembershipChange::Left => ChangeKind::Left,
        MembershipChange::Removed => ChangeKind::Removed,
    };
    record(db, ctx, conversation, kind, None, Some(json!(users).to_string())).await
}

async fn record(
    db: &impl ConnectionTrait,
    ctx: &AppContext,
    conversation: Uuid,
    kind: ChangeKind,
    message: Option<Uuid>,
    users: Option<String>,
) -> AppResult<i64> {
    let now = ctx.clock.now();
    let position = take_position(db, conversation, now).await?;
    change::ActiveModel {
        conversation_id: Set(conversation),
        position: Set(position),
        kind: Set(kind),
        message_id: Set(message),
        user_ids: Set(users),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(position)
}

/// The people a membership change names.
fn users_of(c: &change::Model) -> Vec<Uuid> {
    c.user_ids.as_deref().and_then(|u| serde_json::from_str(u).ok()).unwrap_or_default()
}

fn membership_change(kind: ChangeKind) -> Option<MembershipChange> {
    match kind {
        ChangeKind::Updated => None,
        ChangeKind::Joined => Some(MembershipChange::Joined),
        ChangeKind::Left => Some(MembershipChange::Left),
        ChangeKind::Removed => Some(MembershipChange::Removed),
    }
}

/// Up to `limit` changes after `after`, in order, as the events a member sees: messages the
/// person deleted for themselves are skipped (the position moves past them all the same).
pub async fn since(
    ctx: &AppContext,
    me: Uuid,
    conversation: Uuid,
    after: i64,
    limit: u64,
) -> AppResult<Scan<Event, i64>> {
    let messages = message::Entity::find()
        .filter(message::Column::ConversationId.eq(conversation))
        .filter(message::Column::Position.gt(after))
        .order_by_asc(message::Column::Position)
        .limit(limit)
        .all(&ctx.db)
        .await?;
    let changes = change::Entity::find()
        .filter(change::Column::ConversationId.eq(conversation))
        .filter(change::Column::Position.gt(after))
        .order_by_asc(change::Column::Position)
        .limit(limit)
        .all(&ctx.db)
        .await?;
    // Both lists are complete up to their last row; merged, the first `limit` are complete too.
    let more = messages.len() as u64 == limit
        || changes.len() as u64 == limit
        || (messages.len() + changes.len()) as u64 > limit;
    let updated: Vec<Uuid> = changes.iter().filter_map(|c| c.message_id).collect();
    let current: HashMap<Uuid, message::Model> = if updated.is_empty() {
        HashMap::new()
    } else {
        message::Entity::find()
            .filter(message::Column::Id.is_in(updated.clone()))
            .all(&ctx.db)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect()
    };
    let mut involved: Vec<Uuid> = messages.iter().map(|m| m.id).collect();
    involved.extend(updated);
    let hidden: HashSet<Uuid> = if involved.is_empty() {
        HashSet::new()
    } else {
        hidden::Entity::find()
            .filter(hidden::Column::UserId.eq(me))
            .filter(hidden::Column::MessageId.is_in(involved))
            .all(&ctx.db)
            .await?
            .into_iter()
            .map(|h| h.message_id)
            .collect()
    };

    let mut items = Vec::new();
    let mut reached = None;
    let (mut messages, mut changes) = (messages.into_iter().peekable(), changes.into_iter().peekable());
    for _ in 0..limit {
        let take_message = match (messages.peek(), changes.peek()) {
            (Some(m), Some(c)) => m.position < c.position,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_message {
            let m = messages.next().expect("peeked");
            reached = Some(m.position);
            if !hidden.contains(&m.id) {
                items.push((m.position, Event::Message { message: Box::new(m) }));
            }
            continue;
        }
        let c = changes.next().expect("peeked");
        reached = Some(c.position);
        let event = match (membership_change(c.kind), c.message_id) {
            (Some(change), _) => Some(Event::Members { user_ids: users_of(&c), change }),
            // Edited, then recalled: each change shows the message as it is now.
            (None, Some(id)) if !hidden.contains(&id) => {
                current.get(&id).map(|message| Event::Updated { message: Box::new(message.clone()) })
            }
            (None, _) => None,
        };
        if let Some(event) = event {
            items.push((c.position, event));
        }
    }
    Ok(Scan { items, reached, more })
}

/// How the person came to be out of the conversation after `after`: the latest change in which
/// they left or were removed, as the event they would have seen.
pub async fn departure(ctx: &AppContext, conversation: Uuid, me: Uuid, after: i64) -> AppResult<Option<(i64, Event)>> {
    let latest = change::Entity::find()
        .filter(change::Column::ConversationId.eq(conversation))
        .filter(change::Column::Position.gt(after))
        .filter(change::Column::Kind.is_in([ChangeKind::Left, ChangeKind::Removed]))
        .filter(change::Column::UserIds.contains(me.to_string().as_str()))
        .order_by_desc(change::Column::Position)
        .one(&ctx.db)
        .await?;
    Ok(latest.and_then(|c| {
        let change = membership_change(c.kind)?;
        Some((c.position, Event::Members { user_ids: users_of(&c), change }))
    }))
}

/// The newest position taken at or before `at` (0 before the first change): where a person who
/// has seen everything up to `at` resumes.
pub async fn position_at(ctx: &AppContext, conversation: Uuid, at: DateTime<Utc>) -> AppResult<i64> {
    let message: Option<i64> = message::Entity::find()
        .filter(message::Column::ConversationId.eq(conversation))
        .filter(message::Column::CreatedAt.lte(at))
        .select_only()
        .column_as(message::Column::Position.max(), "p")
        .into_tuple::<Option<i64>>()
        .one(&ctx.db)
        .await?
        .flatten();
    let change: Option<i64> = change::Entity::find()
        .filter(change::Column::ConversationId.eq(conversation))
        .filter(change::Column::CreatedAt.lte(at))
        .select_only()
        .column_as(change::Column::Position.max(), "p")
        .into_tuple::<Option<i64>>()
        .one(&ctx.db)
        .await?
        .flatten();
    Ok(Ord::max(message, change).unwrap_or(0))
}

/// Conversations the person left or was removed from after `since`: the latest such change in
/// each, as the event they would have seen.
pub async fn departures_since(ctx: &AppContext, me: Uuid, since: DateTime<Utc>) -> AppResult<Vec<(Uuid, i64, Event)>> {
    let rows = change::Entity::find()
        .filter(change::Column::CreatedAt.gt(since))
        .filter(change::Column::Kind.is_in([ChangeKind::Left, ChangeKind::Removed]))
        .filter(change::Column::UserIds.contains(me.to_string().as_str()))
        .order_by_asc(change::Column::CreatedAt)
        .all(&ctx.db)
        .await?;
    let mut latest: std::collections::BTreeMap<Uuid, change::Model> = std::collections::BTreeMap::new();
    for c in rows.into_iter().filter(|c| users_of(c).contains(&me)) {
        latest.insert(c.conversation_id, c);
    }
    Ok(latest
        .into_values()
        .filter_map(|c| {
            let change = membership_change(c.kind)?;
            Some((c.conversation_id, c.position, Event::Members { user_ids: users_of(&c), change }))
        })
        .collect())
}

/// Every recorded membership change that names the person (their export).
pub async fn naming(ctx: &AppContext, user: Uuid) -> AppResult<Vec<change::Model>> {
    Ok(change::Entity::find()
        .filter(change::Column::UserIds.contains(user.to_string().as_str()))
        .order_by_asc(change::Column::CreatedAt)
        .all(&ctx.db)
        .await?)
}

/// Replaces a person's id in every recorded membership change (erasure): the change stays, so
/// others' positions stay dense, but names no one.
pub(crate) async fn forget_person(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    let mut touched = 0;
    for row in naming(ctx, user).await? {
        let users = users_of(&row);
        let kept: Vec<Uuid> = users.into_iter().map(|u| if u == user { Uuid::nil() } else { u }).collect();
        let mut active: change::ActiveModel = row.into();
        active.user_ids = Set(Some(json!(kept).to_string()));
        active.update(&ctx.db).await?;
        touched += 1;
    }
    Ok(touched)
}
