//! One stream per person over everything that arrives for them: every conversation they are in
//! (and any they join while it runs) and their notifications. Its cursor records a position in
//! each, so a client that reconnects with the last cursor it saw resumes every one of them with
//! no gap and no duplicate.

use std::collections::BTreeMap;
use std::pin::Pin;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::stream::SelectAll;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use xqt_kernel::bus::BusEvent;
use xqt_kernel::{AppContext, AppError, AppResult, ErrorCode};
use xqt_notifications::entity::notification;

use crate::entity::member;
use crate::error::invalid;
use crate::live::{self, Event};
use crate::{changes, conversations, messages};

/// Longest cursor accepted, encoded (a person in a few thousand conversations).
pub const CURSOR_MAX: usize = 256 * 1024;

/// Where a client is: the last change position per conversation, the last notification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "c", default)]
    pub conversations: BTreeMap<Uuid, i64>,
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<Uuid>,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(s: &str) -> AppResult<Self> {
        let bad = || AppError::from(invalid("after", "a cursor from inboxEvents"));
        if s.len() > CURSOR_MAX {
            return Err(bad());
        }
        let raw = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        serde_json::from_slice(&raw).map_err(|_| bad())
    }
}

#[derive(Debug, Clone)]
pub enum InboxItem {
    Conversation { conversation: Uuid, position: i64, event: Event },
    Notification(notification::Model),
}

type Boxed = Pin<Box<dyn Stream<Item = AppResult<InboxItem>> + Send>>;

/// A conversation's events as inbox items; leaving it (or losing it) ends only this part.
fn conversation_part(ctx: &AppContext, me: Uuid, conversation: Uuid, after: Option<i64>) -> Boxed {
    live::follow_with(ctx.clone(), me, conversation, after, false)
        .take_while(|r| futures::future::ready(!matches!(r, Err(e) if e.code() == ErrorCode::NotFound)))
        .map(move |r| r.map(|d| InboxItem::Conversation { conversation, position: d.position, event: d.item }))
        .boxed()
}

/// Everything for the person after `after` (or from now on), each item with the cursor to
/// resume after it.
pub fn follow(ctx: AppContext, me: Uuid, after: Option<Cursor>) -> impl Stream<Item = AppResult<(InboxItem, Cursor)>> {
    async_stream::try_stream! {
        // Subscribe to joins first, so a conversation joined while we start is not missed.
        let mut joins = ctx.bus.subscribe(&live::user_topic(me)).await?;
        let mut cursor = match after {
            Some(after) => after,
            None => now(&ctx, me).await?,
        };
        let mut parts: SelectAll<Boxed> = SelectAll::new();
        let mut unknown = Vec::new();
        let mut gone = cursor.conversations.clone();
        for (c, m) in conversations::mine(&ctx, me).await? {
            match gone.remove(&c.id) {
                Some(position) => parts.push(conversation_part(&ctx, me, c.id, Some(position))),
                // Joined since the cursor was made: from what the person last read there.
                None => unknown.push(m),
            }
        }
        // Out of these since the cursor was made: told how, once, then forgotten.
        for (conversation, position) in gone {
            cursor.conversations.remove(&conversation);
            if let Some((position, event)) = changes::departure(&ctx, conversation, me, position).await? {
                yield (InboxItem::Conversation { conversation, position, event }, cursor.clone());
            }
        }
        follow_joined(&ctx, me, &mut cursor, &mut parts, unknown).await?;
        let notifications = xqt_notifications::service::follow(ctx.clone(), me, cursor.notification)
            .map(|r| r.map(InboxItem::Notification));
        parts.push(notifications.boxed());
        live::mark_online(&ctx, me).await?;
        let mut heartbeat = live::presence_heartbeat(&ctx).await;
        loop {
            let next = tokio::select! {
                item = parts.next() => Step::Item(item.map(|r| r.map(Box::new))),
                join = joins.recv() => Step::Joined(join),
                _ = heartbeat.tick() => Step::Heartbeat,
            };
            match next {
                Step::Item(None) | Step::Joined(None) => break,
                Step::Item(Some(item)) => {
                    let item = *item?;
                    match &item {
                        // Out of it (its part ends here): forgotten, so being added again is a join.
                        InboxItem::Conversation { conversation, event: Event::Members { user_ids, change }, .. }
                            if change.departs() && user_ids.contains(&me) =>
                        {
                            cursor.conversations.remove(conversation);
                        }
                        InboxItem::Conversation { conversation, position, .. } => {
                            cursor.conversations.insert(*conversation, *position);
                        }
                        InboxItem::Notification(n) => cursor.notification = Some(n.id),
                    }
                    yield (item, cursor.clone());
                }
                Step::Joined(Some(BusEvent::Message(bytes))) => {
                    let Some(conversation) = std::str::from_utf8(&bytes).ok().and_then(|s| Uuid::parse_str(s).ok()) else {
                        continue;
                    };
                    if cursor.conversations.contains_key(&conversation) {
                        continue;
                    }
                    let joined = conversations::membership(&ctx, conversation, me).await?;
                    follow_joined(&ctx, me, &mut cursor, &mut parts, joined).await?;
                }
                Step::Joined(Some(BusEvent::Gap)) => {
                    let all = conversations::mine(&ctx, me).await?.into_iter().map(|(_, m)| m);
                    follow_joined(&ctx, me, &mut cursor, &mut parts, all).await?;
                }
                Step::Heartbeat => live::mark_online(&ctx, me).await?,
            }
        }
    }
}

/// Starts following each conversation in `joined` that the cursor does not know yet. What was
/// said there before the person joined is not new to them: they start from what they last read.
async fn follow_joined(
    ctx: &AppContext,
    me: Uuid,
    cursor: &mut Cursor,
    parts: &mut SelectAll<Boxed>,
    joined: impl IntoIterator<Item = member::Model>,
) -> AppResult<()> {
    for m in joined {
        if cursor.conversations.contains_key(&m.conversation_id) {
            continue;
        }
        let from = messages::position_of(ctx, m.conversation_id, m.last_read_seq).await?.unwrap_or(0);
        cursor.conversations.insert(m.conversation_id, from);
        parts.push(conversation_part(ctx, me, m.conversation_id, Some(from)));
    }
    Ok(())
}

/// A cursor at the present: a client that takes it before it first subscribes misses nothing
/// that happens in between.
pub async fn now(ctx: &AppContext, me: Uuid) -> AppResult<Cursor> {
    let conversations = conversations::mine(ctx, me).await?.into_iter().map(|(c, _)| (c.id, c.last_position)).collect();
    let notification = xqt_notifications::service::newest_id(ctx, me).await?;
    Ok(Cursor { conversations, notification })
}

enum Step {
    Item(Option<AppResult<Box<InboxItem>>>),
    Joined(Option<BusEvent>),
    Heartbeat,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_bad_input() {
        let mut c = Cursor::default();
        c.conversations.insert(Uuid::nil(), 42);
        c.notification = Some(Uuid::max());
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert_eq!(Cursor::decode("not a cursor!").unwrap_err().code(), ErrorCode::BadUserInput);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(b"[1,2]")).unwrap_err().code(), ErrorCode::BadUserInput);
    }
}
