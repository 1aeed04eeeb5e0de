use async_graphql::{Context, Enum, ID, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;
use xqt_accounts::loaders::UserLoader;
use xqt_kernel::module::loader;

use xqt_accounts::graphql::organizations::MemberProfile;

use super::loaders::{LastMessageKey, LastMessageLoader, PeerKey, PeerLoader, UnreadLoader};
use crate::entity::call::{CallMedia, CallState};
use crate::entity::conversation::ConversationKind;
use crate::entity::member::ChatRole;
use crate::entity::message::MessageKind;
use crate::entity::{call, conversation, member, message};
use crate::live::Event;
use crate::messages;

fn id(u: Uuid) -> ID {
    ID(u.to_string())
}

/// Shown where the author's account was erased.
pub const ERASED_AUTHOR: &str = "已注销用户";

/// A conversation as one member sees it.
pub struct Conversation(pub conversation::Model, pub member::Model);

#[Object]
impl Conversation {
    pub async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn kind(&self) -> ConversationKind {
        self.0.kind
    }
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    async fn avatar_file_id(&self) -> Option<ID> {
        self.0.avatar_file_id.map(id)
    }
    async fn organization_id(&self) -> Option<ID> {
        self.0.organization_id.map(id)
    }
    /// The newest message's sequence number.
    async fn last_seq(&self) -> i64 {
        self.0.last_seq
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn my_role(&self) -> ChatRole {
        self.1.role
    }
    async fn last_read_seq(&self) -> i64 {
        self.1.last_read_seq
    }
    async fn muted(&self) -> bool {
        self.1.muted
    }
    /// Others' messages after the read position, less recalled ones and those deleted for me.
    async fn unread_count(&self, ctx: &Context<'_>) -> Result<u64> {
        let key = messages::UnreadKey::of(&self.1, self.0.last_seq);
        Ok(loader::<UnreadLoader>(ctx).load_one(key).await?.unwrap_or(0))
    }
    /// The newest message (not deleted for me), for the conversation list's preview.
    async fn last_message(&self, ctx: &Context<'_>) -> Result<Option<Message>> {
        let key = LastMessageKey { user: self.1.user_id, conversation: self.0.id, last_seq: self.0.last_seq };
        Ok(loader::<LastMessageLoader>(ctx).load_one(key).await?.map(Message))
    }
    /// In a direct conversation, the other person (for the list's name and avatar); `None` in
    /// groups and channels, and once the other account is erased.
    async fn peer(&self, ctx: &Context<'_>) -> Result<Option<MemberProfile>> {
        if self.0.kind != ConversationKind::Direct {
            return Ok(None);
        }
        let key = PeerKey { conversation: self.0.id, me: self.1.user_id };
        match loader::<PeerLoader>(ctx).load_one(key).await? {
            Some(other) => MemberProfile::load(ctx, other).await,
            None => Ok(None),
        }
    }
    /// The members, in the order they joined; `first` takes only so many (a list's avatar
    /// collage), which is also what the query is weighed at (all of them weigh 100).
    #[graphql(complexity = "xqt_kernel::pagination::complexity(first, None, child_complexity)")]
    async fn members(&self, ctx: &Context<'_>, first: Option<i32>) -> Result<Vec<ChatMember>> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        let rows = crate::conversations::members(app, self.0.id).await?;
        let take = match first {
            Some(n) if n < 0 => return Err(crate::error::invalid("first", "0 or more").into()),
            Some(n) => n as usize,
            None => usize::MAX,
        };
        Ok(rows
            .into_iter()
            .take(take)
            .map(|m| ChatMember {
                user_id: id(m.user_id),
                role: m.role,
                last_read_seq: m.last_read_seq,
                joined_at: m.joined_at,
            })
            .collect())
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ChatMember {
    pub user_id: ID,
    pub role: ChatRole,
    pub last_read_seq: i64,
    pub joined_at: DateTime<Utc>,
}

#[async_graphql::ComplexObject]
impl ChatMember {
    /// Who this is: nickname and avatar (`None` once the account is erased).
    async fn person(&self, ctx: &Context<'_>) -> Result<Option<MemberProfile>> {
        match Uuid::parse_str(&self.user_id) {
            Ok(user) => MemberProfile::load(ctx, user).await,
            Err(_) => Ok(None),
        }
    }
}

pub struct Message(pub message::Model);

impl Message {
    fn payload(&self) -> Option<Value> {
        serde_json::from_str(self.0.payload.as_deref()?).ok()
    }
}

#[derive(SimpleObject)]
pub struct Attachment {
    pub id: ID,
    pub content_type: String,
    pub size: i64,
    pub file_name: Option<String>,
    /// Where members download it (`Authorization: Bearer …`).
    pub url: String,
    /// The same without a bearer token, for `<img>`, `<video>`, a mini-program's `<image>`:
    /// one to two hours, the same link all hour so caches keep it.
    pub signed_url: Option<String>,
}

#[derive(SimpleObject)]
pub struct LocationCard {
    pub latitude: f64,
    pub longitude: f64,
    pub name: String,
    pub address: Option<String>,
}

#[derive(SimpleObject)]
pub struct CallRecord {
    pub call_id: ID,
    pub media: CallMedia,
    /// `MISSED`, `REJECTED`, `CANCELLED` or `ENDED`.
    pub outcome: CallState,
    pub duration_secs: Option<i64>,
    pub reason: Option<crate::entity::call::CallEndReason>,
}

#[Object]
impl Message {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn conversation_id(&self) -> ID {
        id(self.0.conversation_id)
    }
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    async fn kind(&self) -> MessageKind {
        self.0.kind
    }
    /// `None` for system messages and authors whose account was erased.
    async fn sender_id(&self) -> Option<ID> {
        self.0.sender_id.map(id)
    }
    /// Who wrote it: nickname and avatar, for the bubble (`None` for system messages and once
    /// the author's account is erased).
    async fn sender(&self, ctx: &Context<'_>) -> Result<Option<MemberProfile>> {
        match self.0.sender_id {
            Some(sender) => MemberProfile::load(ctx, sender).await,
            None => Ok(None),
        }
    }
    /// The author's nickname; a placeholder once their account is erased.
    async fn sender_name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let Some(sender) = self.0.sender_id else {
            let system = self.0.kind == MessageKind::System;
            return Ok((!system).then(|| ERASED_AUTHOR.to_owned()));
        };
        let user = loader::<UserLoader>(ctx).load_one(sender).await?;
        Ok(Some(match user {
            Some(u) => u.nickname.unwrap_or_else(|| "用户".into()),
            None => ERASED_AUTHOR.into(),
        }))
    }
    /// The sender's own id for it; shown to the sender only.
    async fn client_message_id(&self, ctx: &Context<'_>) -> Option<&str> {
        let (_, viewer) = xqt_kernel::from_graphql(ctx);
        if viewer.person_id().is_some() && viewer.person_id() == self.0.sender_id {
            self.0.client_message_id.as_deref()
        } else {
            None
        }
    }
    /// The text or caption; `None` once recalled or erased.
    async fn text(&self) -> Option<&str> {
        self.0.body.as_deref()
    }
    async fn attachment(&self, ctx: &Context<'_>) -> Option<Attachment> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let p = self.payload()?;
        let a = p["attachmentId"].as_str()?;
        let signed_url =
            viewer.person_id().zip(Uuid::parse_str(a).ok()).map(|(me, id)| crate::attachments::signed_url(app, id, me));
        Some(Attachment {
            id: ID(a.to_owned()),
            content_type: p["contentType"].as_str().unwrap_or_default().to_owned(),
            size: p["size"].as_i64().unwrap_or_default(),
            file_name: p["fileName"].as_str().map(str::to_owned),
            url: crate::attachments::url(a),
            signed_url,
        })
    }
    async fn duration_secs(&self) -> Option<i64> {
        self.payload()?["durationSecs"].as_i64()
    }
    async fn location(&self) -> Option<LocationCard> {
        if self.0.kind != MessageKind::Location {
            return None;
        }
        let p = self.payload()?;
        Some(LocationCard {
            latitude: p["latitude"].as_f64()?,
            longitude: p["longitude"].as_f64()?,
            name: p["name"].as_str()?.to_owned(),
            address: p["address"].as_str().map(str::to_owned),
        })
    }
    async fn call(&self) -> Option<CallRecord> {
        if self.0.kind != MessageKind::Call {
            return None;
        }
        let p = self.payload()?;
        Some(CallRecord {
            call_id: ID(p["callId"].as_str()?.to_owned()),
            media: serde_json::from_value(p["media"].clone()).ok()?,
            outcome: serde_json::from_value(p["outcome"].clone()).ok()?,
            duration_secs: p["durationSecs"].as_i64(),
            // Reasons written before the set was closed read as none rather than hiding the record.
            reason: serde_json::from_value(p["reason"].clone()).ok().flatten(),
        })
    }
    /// For system messages: what happened (`group.created`, `group.joined`, …) and its details.
    async fn system_event(&self) -> Option<Json<Value>> {
        (self.0.kind == MessageKind::System).then(|| Json(self.payload().unwrap_or(Value::Null)))
    }
    async fn reply_to_seq(&self) -> Option<i64> {
        self.0.reply_to_seq
    }
    async fn mentions(&self) -> Vec<ID> {
        let ids: Vec<Uuid> = self.0.mentions.as_deref().and_then(|m| serde_json::from_str(m).ok()).unwrap_or_default();
        ids.into_iter().map(id).collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn edited_at(&self) -> Option<DateTime<Utc>> {
        self.0.edited_at
    }
    /// A recalled message is a tombstone: "message recalled", its content gone.
    async fn recalled(&self) -> bool {
        self.0.recalled_at.is_some()
    }
    async fn recalled_at(&self) -> Option<DateTime<Utc>> {
        self.0.recalled_at
    }
    /// Members who have read it (its sender aside).
    #[graphql(complexity = "10 * child_complexity + 5")]
    async fn read_by(&self, ctx: &Context<'_>) -> Result<Vec<ID>> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        Ok(messages::read_by(app, &self.0).await?.into_iter().map(id).collect())
    }
}

pub struct Call(pub call::Model);

#[Object]
impl Call {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn conversation_id(&self) -> ID {
        id(self.0.conversation_id)
    }
    async fn caller_id(&self) -> Option<ID> {
        self.0.caller_id.map(id)
    }
    async fn media(&self) -> CallMedia {
        self.0.media
    }
    async fn state(&self) -> CallState {
        self.0.state
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn ring_until(&self) -> DateTime<Utc> {
        self.0.ring_until
    }
    /// Who answered; with the caller, the call's participants (only they hang up).
    async fn answered_by(&self) -> Option<ID> {
        self.0.answered_by.map(id)
    }
    /// Members of a group who declined while it rang (a group call rings on for the others).
    async fn declined_by(&self) -> Vec<ID> {
        self.0.declined_by.split_whitespace().map(|d| ID(d.to_owned())).collect()
    }
    async fn answered_at(&self) -> Option<DateTime<Utc>> {
        self.0.answered_at
    }
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }
    async fn end_reason(&self) -> Option<crate::entity::call::CallEndReason> {
        self.0.end_reason
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ConversationEventKind {
    Message,
    Updated,
    Read,
    Typing,
    Call,
    Members,
}

/// One event of a conversation: a new message (in sequence order), an edit or recall, a read
/// receipt, someone typing, a call signal, or people joining or leaving.
pub struct ConversationEvent {
    pub conversation: Uuid,
    /// The change position reached with this event.
    pub position: i64,
    pub event: Event,
}

#[Object]
impl ConversationEvent {
    /// Pass as `after` when subscribing again to continue from here, missing nothing.
    async fn cursor(&self) -> String {
        crate::live::cursor(self.conversation, self.position)
    }
    async fn kind(&self) -> ConversationEventKind {
        match self.event {
            Event::Message { .. } => ConversationEventKind::Message,
            Event::Updated { .. } => ConversationEventKind::Updated,
            Event::Read { .. } => ConversationEventKind::Read,
            Event::Typing { .. } => ConversationEventKind::Typing,
            Event::Call { .. } => ConversationEventKind::Call,
            Event::Members { .. } => ConversationEventKind::Members,
        }
    }
    async fn conversation_id(&self) -> ID {
        id(self.conversation)
    }
    /// For `MESSAGE` and `UPDATED`.
    async fn message(&self) -> Option<Message> {
        match &self.event {
            Event::Message { message } | Event::Updated { message } => Some(Message((**message).clone())),
            _ => None,
        }
    }
    /// Who read, typed, signalled a call.
    async fn user_id(&self) -> Option<ID> {
        match &self.event {
            Event::Read { user_id, .. } | Event::Typing { user_id } => Some(id(*user_id)),
            Event::Call { by, .. } => by.map(id),
            _ => None,
        }
    }
    /// For `READ`: read up to this sequence number.
    async fn read_seq(&self) -> Option<i64> {
        match &self.event {
            Event::Read { seq, .. } => Some(*seq),
            _ => None,
        }
    }
    async fn call(&self) -> Option<Call> {
        match &self.event {
            Event::Call { call, .. } => Some(Call((**call).clone())),
            _ => None,
        }
    }
    /// For `CALL`: the signal.
    async fn signal(&self) -> Option<crate::calls::Signal> {
        match &self.event {
            Event::Call { signal, .. } => Some(*signal),
            _ => None,
        }
    }
    /// For `MEMBERS`: who.
    async fn member_ids(&self) -> Option<Vec<ID>> {
        match &self.event {
            Event::Members { user_ids, .. } => Some(user_ids.iter().copied().map(id).collect()),
            _ => None,
        }
    }
    /// For `MEMBERS`: whether they joined, left or were removed.
    async fn change(&self) -> Option<crate::live::MembershipChange> {
        match &self.event {
            Event::Members { change, .. } => Some(*change),
            _ => None,
        }
    }
}

#[derive(SimpleObject)]
pub struct Presence {
    pub user_id: ID,
    pub online: bool,
}

/// One item of a person's inbox stream: a conversation event or a notification, with the
/// cursor to resume after it.
pub struct InboxEvent {
    pub item: crate::inbox::InboxItem,
    pub cursor: String,
}

#[Object]
impl InboxEvent {
    /// Pass as `after` when subscribing again to continue from here.
    async fn cursor(&self) -> &str {
        &self.cursor
    }
    async fn conversation_event(&self) -> Option<ConversationEvent> {
        match &self.item {
            crate::inbox::InboxItem::Conversation { conversation, position, event } => {
                Some(ConversationEvent { conversation: *conversation, position: *position, event: event.clone() })
            }
            _ => None,
        }
    }
    async fn notification(&self) -> Option<xqt_notifications::graphql::Notification> {
        match &self.item {
            crate::inbox::InboxItem::Notification(n) => Some(xqt_notifications::graphql::Notification(n.clone())),
            _ => None,
        }
    }
}
