use async_graphql::connection::Connection;
use async_graphql::{Context, ID, Object, Result};
use xqt_kernel::ids::parse_id;
use xqt_kernel::pagination::{self, PageArgs};

use super::types::{Conversation, Message, Presence};
use crate::{conversations, live, messages};

pub const HISTORY: &str = "messages";
pub const CONVERSATIONS: &str = "conversations";

#[derive(Default)]
pub struct ChatQuery;

#[Object]
impl ChatQuery {
    /// The signed-in person's conversations, most recently active first.
    #[graphql(complexity = "pagination::complexity(first, last, child_complexity)")]
    async fn conversations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Conversation>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let page = PageArgs { first, after, last, before }.validate(CONVERSATIONS, &app.config.limits)?;
        let rows = conversations::page_mine(app, me, &page).await?;
        let rows = rows.into_iter().map(|(c, m)| Conversation(c, m)).collect();
        Ok(page.connection(CONVERSATIONS, rows, |c| c.0.last_activity.to_string()))
    }

    /// One conversation the person is in.
    pub async fn conversation(&self, ctx: &Context<'_>, id: ID) -> Result<Conversation> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let (c, m) = conversations::require_member(app, parse_id("id", &id)?, me).await?;
        Ok(Conversation(c, m))
    }

    /// A conversation's history in sequence order: `last: n` for the newest, then `before` for
    /// older pages; `first`/`after` reads forward. Members only.
    #[graphql(complexity = "pagination::complexity(first, last, child_complexity)")]
    async fn messages(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Message>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let conversation = parse_id("conversationId", &conversation_id)?;
        let page = PageArgs { first, after, last, before }.validate(HISTORY, &app.config.limits)?;
        let rows = messages::history(app, me, conversation, &page).await?;
        Ok(page.connection(HISTORY, rows.into_iter().map(Message).collect(), |m| m.0.seq.to_string()))
    }

    /// Text messages containing `text`, newest first: in one conversation, or all of the person's.
    #[graphql(complexity = "xqt_kernel::pagination::complexity(Some(first.unwrap_or(20)), None, child_complexity)")]
    async fn search_messages(
        &self,
        ctx: &Context<'_>,
        text: String,
        conversation_id: Option<ID>,
        first: Option<i32>,
    ) -> Result<Vec<Message>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let conversation = conversation_id.as_ref().map(|c| parse_id("conversationId", c)).transpose()?;
        let limit = u64::try_from(first.unwrap_or(20)).unwrap_or(0);
        Ok(messages::search(app, me, conversation, &text, limit).await?.into_iter().map(Message).collect())
    }

    /// Who in a conversation is online now (members only).
    async fn conversation_presence(&self, ctx: &Context<'_>, conversation_id: ID) -> Result<Vec<Presence>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let conversation = parse_id("conversationId", &conversation_id)?;
        conversations::require_member(app, conversation, me).await?;
        let members: Vec<uuid::Uuid> =
            conversations::members(app, conversation).await?.into_iter().map(|m| m.user_id).collect();
        let online = live::online_among(app, &members).await;
        Ok(members.into_iter().map(|u| Presence { user_id: ID(u.to_string()), online: online.contains(&u) }).collect())
    }

    /// A cursor at the present for `inboxEvents(after:)`: take it (with the data the app shows),
    /// then subscribe with it, and nothing that happens in between is missed.
    async fn inbox_cursor(&self, ctx: &Context<'_>) -> Result<String> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(crate::inbox::now(app, me).await?.encode())
    }
}
