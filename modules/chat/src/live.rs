//! Live delivery. Every change to a conversation is published on its bus topic after it is
//! committed, with its change position; a follower is the kernel's backfill-then-live driver over
//! the conversation's change log (`changes.rs`), so it sees every change once, in order. Typing,
//! read receipts, call signals and presence pass by: never replayed.

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use xqt_kernel::live::{Arrival, Delivered, Feed, Scan, scan_then_live};
use xqt_kernel::{AppContext, AppError, AppResult};

use crate::entity::{call, message};
use crate::error::ChatError;
use crate::{changes, conversations};

/// The rows are boxed: an event sits in every follower's stream state (its next item, the
/// one being yielded, the one being resolved), and a row inline made each of those slots 240
/// bytes, for every idle subscriber; boxed, the event is 32.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A new message, with the next sequence number.
    Message {
        message: Box<message::Model>,
    },
    /// An earlier message was edited or recalled.
    Updated {
        message: Box<message::Model>,
    },
    /// Someone has read up to `seq`.
    Read {
        user_id: Uuid,
        seq: i64,
    },
    Typing {
        user_id: Uuid,
    },
    /// A call signal (`invite`, `ringing`, `accept`, …) with the call's state after it.
    Call {
        call: Box<call::Model>,
        signal: crate::calls::Signal,
        by: Option<Uuid>,
    },
    /// People joined, left or were removed.
    Members {
        user_ids: Vec<Uuid>,
        change: MembershipChange,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
pub enum MembershipChange {
    Joined,
    Left,
    Removed,
}

impl MembershipChange {
    /// Whether the people it names are out of the conversation.
    pub fn departs(self) -> bool {
        self != MembershipChange::Joined
    }
}

/// An event as it travels on the bus: stored ones carry their change position.
#[derive(Serialize, Deserialize)]
struct Announcement {
    #[serde(rename = "at", default, skip_serializing_if = "Option::is_none")]
    position: Option<i64>,
    event: Event,
}

fn cursor_list(conversation: Uuid) -> String {
    format!("events.{conversation}")
}

/// An opaque cursor for a position in the conversation's changes.
pub fn cursor(conversation: Uuid, position: i64) -> String {
    xqt_kernel::pagination::encode_cursor(&cursor_list(conversation), &position.to_string())
}

/// The position a cursor of this conversation's events names (another's is refused).
pub fn parse_cursor(conversation: Uuid, cursor: &str) -> AppResult<i64> {
    xqt_kernel::pagination::decode_cursor(&cursor_list(conversation), cursor, "after")?
        .parse::<i64>()
        .ok()
        .filter(|p| *p >= 0)
        .ok_or_else(|| crate::error::invalid("after", "invalid cursor").into())
}

pub fn topic(conversation: Uuid) -> String {
    format!("chat:{conversation}")
}

/// Publishes an event: a committed change with its position, or a passing one (`None`). A
/// failure only delays live delivery (followers re-read the database on their next gap or
/// resume), so it is logged, not returned.
pub async fn publish(ctx: &AppContext, conversation: Uuid, position: Option<i64>, event: &Event) {
    let payload = match serde_json::to_vec(&Announcement { position, event: event.clone() }) {
        Ok(p) => p,
        Err(e) => return tracing::error!(error = %e, "unencodable chat event"),
    };
    if let Err(e) = ctx.bus.publish(&topic(conversation), Bytes::from(payload)).await {
        tracing::warn!(error = ?e, conversation = %conversation, "live delivery failed");
    }
}

fn presence_key(user: Uuid) -> String {
    format!("chat:online:{user}")
}

/// Marks the person online for the configured TTL (each live connection refreshes it).
/// With Redis down presence is not kept: nobody shows online, and pushes go out as if offline.
pub async fn mark_online(ctx: &AppContext, user: Uuid) -> AppResult<()> {
    let ttl = StdDuration::from_secs(ctx.config.section::<crate::config::ChatConfig>().presence_ttl_secs);
    ctx.cache.set_or_skip(&presence_key(user), Bytes::from_static(b"1"), ttl).await;
    Ok(())
}

/// Who of `users` is online, in one read (`MGET` on Redis) however large the group; with Redis
/// down nobody is (pushes go out as if all were away).
pub async fn online_among(ctx: &AppContext, users: &[Uuid]) -> std::collections::HashSet<Uuid> {
    let keys: Vec<String> = users.iter().map(|u| presence_key(*u)).collect();
    match ctx.cache.get_many(&keys).await {
        Ok(found) => users.iter().zip(found).filter(|(_, v)| v.is_some()).map(|(u, _)| *u).collect(),
        Err(e) => {
            tracing::warn!(error = ?e, "presence unreadable: everyone treated as away");
            Default::default()
        }
    }
}

/// Ticks a third of the presence TTL apart, the first tick already taken.
pub(crate) async fn presence_heartbeat(ctx: &AppContext) -> tokio::time::Interval {
    let refresh =
        StdDuration::from_secs((ctx.config.section::<crate::config::ChatConfig>().presence_ttl_secs / 3).max(1));
    let mut heartbeat = tokio::time::interval(refresh);
    heartbeat.tick().await;
    heartbeat
}

pub fn user_topic(user: Uuid) -> String {
    format!("chat:user:{user}")
}

/// Tells each person's inbox stream that they are now in `conversation`, so it follows it too.
pub async fn announce_joined(ctx: &AppContext, conversation: Uuid, users: &[Uuid]) {
    let payload = Bytes::from(conversation.to_string());
    for user in users {
        if let Err(e) = ctx.bus.publish(&user_topic(*user), payload.clone()).await {
            tracing::warn!(error = ?e, user = %user, "inbox not told of a new conversation");
        }
    }
}

/// A person's typing is announced at most once per this many seconds per conversation; clients
/// send it on every keystroke.
pub const TYPING_EVERY_SECS: u64 = 3;

/// Tells the conversation the person is typing (members only; nothing is stored). Returns
/// whether it was announced (false: one went out moments ago).
pub async fn typing(ctx: &AppContext, me: Uuid, conversation: Uuid) -> AppResult<bool> {
    conversations::require_member(ctx, conversation, me).await?;
    let key = format!("chat:typing:{conversation}:{me}");
    // Typing is ephemeral: with Redis down it is simply not announced.
    let fresh = ctx
        .cache
        .set_if_absent(&key, Bytes::from_static(b"1"), StdDuration::from_secs(TYPING_EVERY_SECS))
        .await
        .unwrap_or(false);
    if fresh {
        publish(ctx, conversation, None, &Event::Typing { user_id: me }).await;
    }
    Ok(fresh)
}

/// A conversation's changes and passing events as one member sees them.
struct ConversationFeed {
    ctx: AppContext,
    me: Uuid,
    conversation: Uuid,
}

#[async_trait]
impl Feed for ConversationFeed {
    type Item = Event;
    type Position = i64;

    async fn scan(&self, after: &i64, limit: u64) -> AppResult<Scan<Event, i64>> {
        changes::since(&self.ctx, self.me, self.conversation, *after, limit).await
    }

    fn decode(&self, payload: &xqt_kernel::bus::Payload) -> Arrival<Event, i64> {
        // Decoded once per instance for all the conversation's followers here.
        let shared = payload.decoded(|bytes| serde_json::from_slice::<Announcement>(bytes).map_err(|e| e.to_string()));
        match &*shared {
            Err(e) => {
                tracing::warn!(error = %e, "undecodable chat event on the bus");
                Arrival::Skip
            }
            Ok(Announcement { event: Event::Typing { user_id }, .. }) if *user_id == self.me => Arrival::Skip,
            Ok(Announcement { position: Some(p), event }) => Arrival::Stored(*p, event.clone()),
            Ok(Announcement { position: None, event }) => Arrival::Passing(event.clone()),
        }
    }

    fn is_next(&self, last: &i64, at: &i64) -> bool {
        *at == last + 1
    }

    async fn on_gap(&self) -> AppResult<()> {
        conversations::require_member(&self.ctx, self.conversation, self.me).await.map(|_| ())
    }
}

/// The conversation's events for a member after `after` (a change position), or from now on:
/// every stored change after it from the database first, then live, each once, in order, with
/// the position to resume from. Ends with `NOT_FOUND` once the person is out of it.
pub fn follow(
    ctx: AppContext,
    me: Uuid,
    conversation: Uuid,
    after: Option<i64>,
) -> impl Stream<Item = AppResult<Delivered<Event, i64>>> {
    follow_with(ctx, me, conversation, after, true)
}

/// `follow`; `presence` says whether this stream keeps the person marked online (the inbox
/// does that once for all its conversations).
pub(crate) fn follow_with(
    ctx: AppContext,
    me: Uuid,
    conversation: Uuid,
    after: Option<i64>,
    presence: bool,
) -> impl Stream<Item = AppResult<Delivered<Event, i64>>> {
    async_stream::try_stream! {
        // Each database call below is boxed: a stream's state is as large as its largest await,
        // for as long as the subscription lives, and queries are the large ones.
        // Only the position is kept: the rows would sit in the stream's state for its life.
        // (Mapped before `?`: an error's `Result` stays in the state while it is yielded.)
        let last_position =
            Box::pin(conversations::require_member(&ctx, conversation, me)).await.map(|(c, _)| c.last_position)?;
        if after.is_some_and(|p| p < 0) {
            Err(AppError::from(crate::error::invalid("after", "a cursor from conversationEvents")))?;
        }
        // From now on: the driver reads anything committed since this read before going live.
        let from = after.unwrap_or(last_position);
        let feed = ConversationFeed { ctx: ctx.clone(), me, conversation };
        let mut events = Box::pin(scan_then_live(ctx.bus.clone(), topic(conversation), feed, from));
        if presence {
            Box::pin(mark_online(&ctx, me)).await?;
        }
        let mut heartbeat = presence_heartbeat(&ctx).await;
        loop {
            // `None` from the heartbeat: refresh presence and wait again.
            let next = tokio::select! {
                next = events.next() => Some(next),
                _ = heartbeat.tick(), if presence => None,
            };
            let Some(next) = next else {
                Box::pin(mark_online(&ctx, me)).await?;
                continue;
            };
            let Some(delivered) = next else { break };
            let delivered = delivered?;
            let out_of_it = matches!(
                &delivered.item,
                Event::Members { user_ids, change } if change.departs() && user_ids.contains(&me)
            );
            yield delivered;
            // Out of it, unless added back since (a resume may replay an old removal).
            if out_of_it && Box::pin(conversations::membership(&ctx, conversation, me)).await?.is_none() {
                Err(AppError::from(ChatError::NotFound("conversation")))?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// An event sits in several slots of every follower's stream state for as long as it is
    /// subscribed (the next item, the one being yielded, the one being resolved), so a message or
    /// call row inside it is boxed: inline, each slot was 240 bytes for every idle subscriber.
    #[test]
    fn an_event_keeps_its_rows_boxed() {
        let size = std::mem::size_of::<super::Event>();
        assert!(size <= 40, "chat live Event is {size} bytes inline; box the large variants' rows");
    }
}
