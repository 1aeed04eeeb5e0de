use async_graphql::{Context, ID, Result, Subscription};
use futures::{Stream, StreamExt};
use xqt_kernel::ids::parse_id;

use super::types::{ConversationEvent, InboxEvent};
use crate::live;

#[derive(Default)]
pub struct ChatSubscription;

#[Subscription]
impl ChatSubscription {
    /// A conversation's events for a member. With `after` (the `cursor` of the last event the
    /// client has), every change since — new messages, edits, recalls, people joining, leaving or
    /// removed — comes first from storage, each once, in order, then live events; without it,
    /// live events from now.
    async fn conversation_events(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        after: Option<String>,
        #[graphql(deprecation = "pass `after`, the cursor of the last event; this replays from that message on")]
        after_seq: Option<i64>,
    ) -> Result<impl Stream<Item = Result<ConversationEvent>> + use<>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let conversation = parse_id("conversationId", &conversation_id)?;
        // Refused before the stream starts: a non-member gets an error, not an empty stream.
        // Boxed: the subscription's state keeps the size of its largest await for its whole life.
        Box::pin(crate::conversations::require_member(app, conversation, me)).await?;
        let from = match (after, after_seq) {
            (Some(cursor), _) => Some(live::parse_cursor(conversation, &cursor)?),
            (None, Some(seq)) => Some(
                Box::pin(crate::messages::position_of(app, conversation, seq))
                    .await?
                    .ok_or_else(|| crate::error::invalid("afterSeq", "no such message in this conversation"))?,
            ),
            (None, None) => None,
        };
        Ok(live::follow(app.clone(), me, conversation, from).map(move |r| {
            r.map(|d| ConversationEvent { conversation, position: d.position, event: d.item }).map_err(Into::into)
        }))
    }

    /// Everything arriving for the signed-in person: events of every conversation they are in
    /// (and join meanwhile) and their notifications. With `after` (the last `cursor` seen),
    /// everything since then comes first, then live, with no gap or duplicate.
    async fn inbox_events(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<InboxEvent>> + use<>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let after = after.as_deref().map(crate::inbox::Cursor::decode).transpose()?;
        Ok(crate::inbox::follow(app.clone(), me, after)
            .map(|r| r.map(|(item, cursor)| InboxEvent { item, cursor: cursor.encode() }).map_err(Into::into)))
    }
}
