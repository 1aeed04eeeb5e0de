//! One stream per person over everything that arrives for them: every conversation they are in
//! (and any they join while it runs) and their notifications. Its cursor is a point in time up to
//! which the person has seen every conversation, plus the positions of the few that changed since
//! (and the last notification), so it stays small however many conversations a person is in, and
//! a client that reconnects with the last cursor it saw resumes every one of them with no gap and
//! no duplicate.
//!
//! Why a point in time covers the rest: a change takes its conversation's next position in the
//! transaction that stores it and stamps the conversation's `last_changed_at`; no such transaction
//! stays open `SETTLE` long, so everything stamped at or before `now - SETTLE` is committed `now`.
//! A conversation leaves the cursor only once the stream has delivered its last position as of a
//! snapshot and that position is older than the snapshot less `SETTLE`.

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::time::Duration as StdDuration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::stream::SelectAll;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use xqt_kernel::bus::{BusEvent, BusSubscription};
use xqt_kernel::{AppContext, AppError, AppResult, ErrorCode};
use xqt_notifications::entity::notification;

use crate::entity::{conversation, member};
use crate::error::invalid;
use crate::live::{self, Event};
use crate::{changes, conversations, messages};

/// Longest cursor accepted, encoded.
pub const CURSOR_MAX: usize = 256 * 1024;

/// Longer than any transaction that takes a change position stays open.
pub const SETTLE: Duration = Duration::minutes(5);

/// How often a running stream re-reads where its conversations stand, so the cursor can drop
/// the ones that went quiet.
const REFRESH: StdDuration = StdDuration::from_secs(60);

/// Where a client is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Milliseconds since the epoch: every conversation not named in `conversations` has been
    /// seen up to this time. Absent in cursors from before it existed, which name every one.
    #[serde(rename = "w", default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<i64>,
    /// Positions seen in conversations that changed after the watermark; a negative one is the
    /// position of the person's own departure, which they have seen.
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

    fn watermark_time(&self) -> Option<DateTime<Utc>> {
        self.watermark.and_then(|w| Utc.timestamp_millis_opt(w).single())
    }
}

/// What the stream knows, from which each cursor it hands out is made.
struct Seen {
    /// Every followed conversation and the position delivered in it.
    delivered: BTreeMap<Uuid, i64>,
    /// Conversations the person left or was removed from while the stream ran: the departure's
    /// position and when it was delivered.
    departed: BTreeMap<Uuid, (i64, DateTime<Utc>)>,
    /// Each conversation's last position and when it was taken, as of `snapshot_at`.
    snapshot: HashMap<Uuid, (i64, Option<DateTime<Utc>>)>,
    snapshot_at: DateTime<Utc>,
    notification: Option<Uuid>,
}

impl Seen {
    fn new(snapshot_at: DateTime<Utc>, notification: Option<Uuid>) -> Self {
        Self {
            delivered: BTreeMap::new(),
            departed: BTreeMap::new(),
            snapshot: HashMap::new(),
            snapshot_at,
            notification,
        }
    }

    /// Where the person's conversations stood at `at` (read at or after it).
    fn take_snapshot<'a>(&mut self, at: DateTime<Utc>, mine: impl IntoIterator<Item = &'a conversation::Model>) {
        self.snapshot = mine.into_iter().map(|c| (c.id, (c.last_position, c.last_changed_at))).collect();
        self.snapshot_at = at;
    }

    async fn refresh(&mut self, ctx: &AppContext, me: Uuid) -> AppResult<()> {
        let at = ctx.clock.now();
        let mine = conversations::mine(ctx, me).await?;
        self.take_snapshot(at, mine.iter().map(|(c, _)| c));
        Ok(())
    }

    /// The cursor now: the watermark and the conversations it does not cover.
    fn cursor(&self) -> Cursor {
        let w = self.snapshot_at - SETTLE;
        let covered =
            |c: &Uuid, p: i64| matches!(self.snapshot.get(c), Some((last, Some(at))) if *last == p && *at <= w);
        let mut conversations: BTreeMap<Uuid, i64> =
            self.delivered.iter().filter(|(c, p)| !covered(c, **p)).map(|(c, p)| (*c, *p)).collect();
        for (c, (position, at)) in &self.departed {
            if *at > w {
                conversations.insert(*c, -position);
            }
        }
        Cursor { watermark: Some(w.timestamp_millis()), conversations, notification: self.notification }
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
    // Database calls below are boxed: the stream's state is as large as its largest await, for
    // as long as the subscription lives. The start (the person's conversations, where each one
    // resumes, what they left) is one boxed call, so its rows are freed once it is done.
    async_stream::try_stream! {
        let Start { mut joins, mut seen, mut parts, unknown, departures } = Box::pin(start(&ctx, me, after)).await?;
        for (conversation, position, event) in departures {
            seen.departed.insert(conversation, (position, ctx.clock.now()));
            yield (InboxItem::Conversation { conversation, position, event }, seen.cursor());
        }
        Box::pin(follow_joined(&ctx, me, &mut seen, &mut parts, unknown)).await?;
        let notifications = xqt_notifications::inbox::follow(ctx.clone(), me, seen.notification)
            .map(|r| r.map(InboxItem::Notification));
        parts.push(notifications.boxed());
        Box::pin(live::mark_online(&ctx, me)).await?;
        let mut heartbeat = live::presence_heartbeat(&ctx).await;
        let mut refresh = tokio::time::interval_at(tokio::time::Instant::now() + REFRESH, REFRESH);
        loop {
            let next = tokio::select! {
                item = parts.next() => Step::Item(item.map(|r| r.map(Box::new))),
                join = joins.recv() => Step::Joined(join),
                _ = heartbeat.tick() => Step::Heartbeat,
                _ = refresh.tick() => Step::Refresh,
            };
            match next {
                Step::Item(None) | Step::Joined(None) => break,
                Step::Item(Some(item)) => {
                    let item = *item?;
                    match &item {
                        // Out of it (its part ends here): remembered as seen, and being added
                        // again is a join.
                        InboxItem::Conversation { conversation, position, event: Event::Members { user_ids, change } }
                            if change.departs() && user_ids.contains(&me) =>
                        {
                            seen.delivered.remove(conversation);
                            seen.departed.insert(*conversation, (*position, ctx.clock.now()));
                        }
                        InboxItem::Conversation { conversation, position, .. } => {
                            seen.delivered.insert(*conversation, *position);
                        }
                        InboxItem::Notification(n) => seen.notification = Some(n.id),
                    }
                    yield (item, seen.cursor());
                }
                Step::Joined(Some(BusEvent::Message(bytes))) => {
                    let Some(conversation) = std::str::from_utf8(&bytes).ok().and_then(|s| Uuid::parse_str(s).ok()) else {
                        continue;
                    };
                    if seen.delivered.contains_key(&conversation) {
                        continue;
                    }
                    let joined = Box::pin(conversations::membership(&ctx, conversation, me)).await?;
                    Box::pin(follow_joined(&ctx, me, &mut seen, &mut parts, joined)).await?;
                }
                Step::Joined(Some(BusEvent::Gap)) => {
                    let all = Box::pin(conversations::mine(&ctx, me)).await?.into_iter().map(|(_, m)| m);
                    Box::pin(follow_joined(&ctx, me, &mut seen, &mut parts, all)).await?;
                }
                Step::Heartbeat => Box::pin(live::mark_online(&ctx, me)).await?,
                Step::Refresh => Box::pin(seen.refresh(&ctx, me)).await?,
            }
        }
    }
}

/// What following starts from: the joins subscription (taken first, so a conversation joined
/// meanwhile is not missed), where each conversation resumes, and what the person left since
/// the cursor was made (told once, before anything else).
struct Start {
    joins: BusSubscription,
    seen: Seen,
    parts: SelectAll<Boxed>,
    unknown: Vec<member::Model>,
    departures: Vec<(Uuid, i64, Event)>,
}

async fn start(ctx: &AppContext, me: Uuid, after: Option<Cursor>) -> AppResult<Start> {
    // Subscribe to joins first, so a conversation joined while we start is not missed.
    let joins = ctx.bus.subscribe(&live::user_topic(me)).await?;
    let after = match after {
        Some(after) => after,
        None => now(ctx, me).await?,
    };
    let watermark = after.watermark_time();
    let snapshot_at = ctx.clock.now();
    let mine = conversations::mine(ctx, me).await?;
    let mut seen = Seen::new(snapshot_at, after.notification);
    seen.take_snapshot(snapshot_at, mine.iter().map(|(c, _)| c));
    let mut parts: SelectAll<Boxed> = SelectAll::new();
    let mut unknown = Vec::new();
    let mut named = after.conversations.clone();
    for (c, m) in mine {
        let from = match (named.remove(&c.id), watermark) {
            (Some(position), _) if position >= 0 => Some(position),
            // Out of it when the cursor was made, in it again now: a join.
            (Some(_), _) => None,
            // Cursors from before watermarks name every conversation: this one is new.
            (None, None) => None,
            (None, Some(w)) => {
                if m.joined_at > w {
                    None
                } else if c.last_changed_at.is_some_and(|at| at <= w) {
                    Some(c.last_position)
                } else {
                    Some(changes::position_at(ctx, c.id, w).await?)
                }
            }
        };
        match from {
            Some(position) => {
                seen.delivered.insert(c.id, position);
                parts.push(conversation_part(ctx, me, c.id, Some(position)));
            }
            None => unknown.push(m),
        }
    }
    // Out of these since the cursor was made: told how, once, then forgotten.
    let mut departures = Vec::new();
    // (A departure the client saw is named by its negative position: only a later one counts.)
    for (conversation, position) in named {
        if let Some((position, event)) = changes::departure(ctx, conversation, me, position.abs()).await? {
            departures.push((conversation, position, event));
        }
    }
    if let Some(w) = watermark {
        for (conversation, position, event) in changes::departures_since(ctx, me, w).await? {
            let known = after.conversations.contains_key(&conversation) || seen.delivered.contains_key(&conversation);
            if !known {
                departures.push((conversation, position, event));
            }
        }
    }
    Ok(Start { joins, seen, parts, unknown, departures })
}

/// Starts following each conversation in `joined` that the cursor does not know yet. What was
/// said there before the person joined is not new to them: they start from what they last read.
async fn follow_joined(
    ctx: &AppContext,
    me: Uuid,
    seen: &mut Seen,
    parts: &mut SelectAll<Boxed>,
    joined: impl IntoIterator<Item = member::Model>,
) -> AppResult<()> {
    for m in joined {
        if seen.delivered.contains_key(&m.conversation_id) {
            continue;
        }
        let from = messages::position_of(ctx, m.conversation_id, m.last_read_seq).await?.unwrap_or(0);
        seen.departed.remove(&m.conversation_id);
        seen.delivered.insert(m.conversation_id, from);
        parts.push(conversation_part(ctx, me, m.conversation_id, Some(from)));
    }
    Ok(())
}

/// A cursor at the present: a client that takes it before it first subscribes misses nothing
/// that happens in between. It names only the conversations that changed lately.
pub async fn now(ctx: &AppContext, me: Uuid) -> AppResult<Cursor> {
    let notification = xqt_notifications::inbox::newest_id(ctx, me).await?;
    let mut seen = Seen::new(ctx.clock.now(), notification);
    seen.refresh(ctx, me).await?;
    seen.delivered = seen.snapshot.iter().map(|(c, (position, _))| (*c, *position)).collect();
    Ok(seen.cursor())
}

enum Step {
    Item(Option<AppResult<Box<InboxItem>>>),
    Joined(Option<BusEvent>),
    Heartbeat,
    Refresh,
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
