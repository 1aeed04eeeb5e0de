//! Live delivery. Every change to a conversation is published on its bus topic after it is
//! committed; a follower first reads what it missed from the database, then goes live, and
//! re-reads on any gap, so it sees every message once, in sequence order. Typing and presence
//! are ephemeral: never stored.

use std::time::Duration as StdDuration;

use bytes::Bytes;
use futures::Stream;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use xqt_kernel::bus::BusEvent;
use xqt_kernel::{AppContext, AppError, AppResult};

use crate::entity::{call, message};
use crate::error::ChatError;
use crate::{conversations, messages};

/// Rows read per query while catching a follower up.
const BACKFILL_BATCH: u64 = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A new message, with the next sequence number.
    Message {
        message: message::Model,
    },
    /// An earlier message was edited or recalled.
    Updated {
        message: message::Model,
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
        call: call::Model,
        signal: String,
        by: Option<Uuid>,
    },
    /// People joined, left or were removed.
    Members {
        user_ids: Vec<Uuid>,
        change: String,
    },
}

pub fn topic(conversation: Uuid) -> String {
    format!("chat:{conversation}")
}

/// Publishes an event about a committed change; a failure only delays live delivery (followers
/// re-read the database on their next gap or resume), so it is logged, not returned.
pub async fn publish(ctx: &AppContext, conversation: Uuid, event: &Event) {
    let payload = match serde_json::to_vec(event) {
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
pub async fn mark_online(ctx: &AppContext, user: Uuid) -> AppResult<()> {
    let ttl = StdDuration::from_secs(ctx.config.chat.presence_ttl_secs);
    ctx.cache.set(&presence_key(user), Bytes::from_static(b"1"), ttl).await
}

pub async fn is_online(ctx: &AppContext, user: Uuid) -> AppResult<bool> {
    Ok(ctx.cache.get(&presence_key(user)).await?.is_some())
}

/// Ticks a third of the presence TTL apart, the first tick already taken.
pub(crate) async fn presence_heartbeat(ctx: &AppContext) -> tokio::time::Interval {
    let refresh = StdDuration::from_secs((ctx.config.chat.presence_ttl_secs / 3).max(1));
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
    let fresh =
        ctx.cache.set_if_absent(&key, Bytes::from_static(b"1"), StdDuration::from_secs(TYPING_EVERY_SECS)).await?;
    if fresh {
        publish(ctx, conversation, &Event::Typing { user_id: me }).await;
    }
    Ok(fresh)
}

/// The conversation's events for a member: with `after_seq`, every message after it from the
/// database first, then live events; without, live events from now. Messages arrive once each,
/// in sequence order, with no gap. Ends with an error when the person leaves or is removed.
pub fn follow(
    ctx: AppContext,
    me: Uuid,
    conversation: Uuid,
    after_seq: Option<i64>,
) -> impl Stream<Item = AppResult<Event>> {
    follow_with(ctx, me, conversation, after_seq, true)
}

/// `follow`; `presence` says whether this stream keeps the person marked online (the inbox
/// does that once for all its conversations).
pub(crate) fn follow_with(
    ctx: AppContext,
    me: Uuid,
    conversation: Uuid,
    after_seq: Option<i64>,
    presence: bool,
) -> impl Stream<Item = AppResult<Event>> {
    async_stream::try_stream! {
        // Subscribe before reading, so nothing committed meanwhile falls between the two.
        let mut live = ctx.bus.subscribe(&topic(conversation)).await?;
        let (c, _) = conversations::require_member(&ctx, conversation, me).await?;
        if after_seq.is_some_and(|s| s < 0) {
            Err(AppError::from(crate::error::invalid("afterSeq", "a sequence number, 0 or more")))?;
        }
        let mut last = after_seq.unwrap_or(c.last_seq);
        let mut catch_up = after_seq.is_some();
        if presence {
            mark_online(&ctx, me).await?;
        }
        let mut heartbeat = presence_heartbeat(&ctx).await;
        loop {
            while catch_up {
                let (rows, scanned) = messages::after_seq(&ctx, me, conversation, last, BACKFILL_BATCH).await?;
                catch_up = scanned.is_some_and(|s| s.1 == BACKFILL_BATCH);
                if let Some((highest, _)) = scanned {
                    last = last.max(highest);
                }
                for message in rows {
                    yield Event::Message { message };
                }
            }
            // `None` from the heartbeat: refresh presence and wait again.
            let event = tokio::select! {
                event = live.recv() => Some(event),
                _ = heartbeat.tick(), if presence => None,
            };
            let Some(event) = event else {
                mark_online(&ctx, me).await?;
                continue;
            };
            match event {
                None => break,
                Some(BusEvent::Gap) => {
                    conversations::require_member(&ctx, conversation, me).await?;
                    catch_up = true;
                }
                Some(BusEvent::Message(bytes)) => {
                    let event = match serde_json::from_slice::<Event>(&bytes) {
                        Ok(e) => e,
                        Err(e) => {
                            tracing::warn!(error = %e, "undecodable chat event on the bus");
                            continue;
                        }
                    };
                    match event {
                        Event::Message { message } if message.seq <= last => {}
                        Event::Message { message } if message.seq == last + 1 => {
                            last = message.seq;
                            yield Event::Message { message };
                        }
                        // A message overtook one still in flight: read them in order.
                        Event::Message { .. } => catch_up = true,
                        Event::Typing { user_id } if user_id == me => {}
                        Event::Members { ref user_ids, ref change } if change != "joined" && user_ids.contains(&me) => {
                            yield event.clone();
                            Err(AppError::from(ChatError::NotFound("conversation")))?;
                        }
                        other => yield other,
                    }
                }
            }
        }
    }
}
