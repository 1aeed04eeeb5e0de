use async_graphql::{Context, ID, Result, Subscription};
use futures::{Stream, StreamExt};
use xqt_kernel::ids::parse_id;

use super::types::ConversationEvent;
use crate::live;

#[derive(Default)]
pub struct ChatSubscription;

#[Subscription]
impl ChatSubscription {
    /// A conversation's events for a member. With `afterSeq` (the last sequence number the
    /// client has), every message after it comes first from storage, then live events, with no
    /// gap or duplicate; without it, live events from now.
    async fn conversation_events(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        after_seq: Option<i64>,
    ) -> Result<impl Stream<Item = Result<ConversationEvent>> + use<>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let conversation = parse_id("conversationId", &conversation_id)?;
        // Refused before the stream starts: a non-member gets an error, not an empty stream.
        crate::conversations::require_member(app, conversation, me).await?;
        Ok(live::follow(app.clone(), me, conversation, after_seq)
            .map(move |r| r.map(|event| ConversationEvent { conversation, event }).map_err(Into::into)))
    }
}
