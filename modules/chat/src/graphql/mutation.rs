use async_graphql::{Context, ID, InputObject, Object, Result};
use xqt_kernel::ids::parse_id;

use super::types::{Call, Conversation, Message};
use crate::conversations;
use crate::entity::member::ChatRole;
use crate::entity::message::MessageKind;
use crate::messages::{self, Location, NewMessage};
use crate::{calls, live};

#[derive(InputObject)]
pub struct LocationInput {
    pub latitude: f64,
    pub longitude: f64,
    pub name: String,
    pub address: Option<String>,
}

#[derive(InputObject)]
pub struct SendMessageInput {
    pub conversation_id: ID,
    /// The client's own id for this message (1–64 of A-Z a-z 0-9 - _): sending again with the
    /// same id returns the message stored the first time.
    pub client_message_id: String,
    pub kind: MessageKind,
    pub text: Option<String>,
    /// An upload to this conversation: `POST /files?purpose=chat_<kind>&conversation=<id>`.
    pub attachment_id: Option<ID>,
    pub duration_secs: Option<i32>,
    pub location: Option<LocationInput>,
    pub reply_to_seq: Option<i64>,
    #[graphql(default)]
    pub mentions: Vec<ID>,
}

#[derive(InputObject)]
pub struct CreateGroupInput {
    pub name: String,
    pub member_ids: Vec<ID>,
}

fn ids(field: &'static str, list: &[ID]) -> Result<Vec<uuid::Uuid>> {
    Ok(list.iter().map(|i| parse_id(field, i)).collect::<Result<_, _>>()?)
}

#[derive(Default)]
pub struct ChatMutation;

#[Object]
impl ChatMutation {
    /// The direct conversation with someone, created on first use.
    async fn open_direct_conversation(&self, ctx: &Context<'_>, user_id: ID) -> Result<Conversation> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let c = conversations::open_direct(app, me, parse_id("userId", &user_id)?).await?;
        let (c, m) = conversations::require_member(app, c.id, me).await?;
        Ok(Conversation(c, m))
    }

    /// A new group with the signed-in person as owner.
    async fn create_group(&self, ctx: &Context<'_>, input: CreateGroupInput) -> Result<Conversation> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let c = conversations::create_group(app, me, &input.name, &ids("memberIds", &input.member_ids)?).await?;
        let (c, m) = conversations::require_member(app, c.id, me).await?;
        Ok(Conversation(c, m))
    }

    /// The organisation's channel (members of the organisation only).
    async fn open_organization_channel(&self, ctx: &Context<'_>, organization_id: ID) -> Result<Conversation> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let (c, m) =
            conversations::organization_channel(app, me, parse_id("organizationId", &organization_id)?).await?;
        Ok(Conversation(c, m))
    }

    /// Adds people to a group (owner and admins); returns who was added.
    async fn add_group_members(&self, ctx: &Context<'_>, conversation_id: ID, user_ids: Vec<ID>) -> Result<Vec<ID>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let added = conversations::add_members(
            app,
            me,
            parse_id("conversationId", &conversation_id)?,
            &ids("userIds", &user_ids)?,
        )
        .await?;
        Ok(added.into_iter().map(|u| ID(u.to_string())).collect())
    }

    async fn remove_group_member(&self, ctx: &Context<'_>, conversation_id: ID, user_id: ID) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        conversations::remove_member(
            app,
            me,
            parse_id("conversationId", &conversation_id)?,
            parse_id("userId", &user_id)?,
        )
        .await?;
        Ok(true)
    }

    async fn leave_conversation(&self, ctx: &Context<'_>, conversation_id: ID) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        conversations::leave(app, viewer.require_person()?, parse_id("conversationId", &conversation_id)?).await?;
        Ok(true)
    }

    /// The owner makes a member an admin (`admin: true`) or a member again.
    async fn set_group_admin(&self, ctx: &Context<'_>, conversation_id: ID, user_id: ID, admin: bool) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let role = if admin { ChatRole::Admin } else { ChatRole::Member };
        let (c, u) = (parse_id("conversationId", &conversation_id)?, parse_id("userId", &user_id)?);
        conversations::set_role(app, viewer.require_person()?, c, u, role).await?;
        Ok(true)
    }

    /// Renames a group or sets its avatar (an `avatar` upload of one's own).
    async fn update_group(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        name: Option<String>,
        avatar_file_id: Option<ID>,
    ) -> Result<Conversation> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let conversation = parse_id("conversationId", &conversation_id)?;
        let avatar = avatar_file_id.as_ref().map(|a| parse_id("avatarFileId", a)).transpose()?;
        let (c, m) = conversations::update_group(app, me, conversation, name.as_deref(), avatar).await?;
        Ok(Conversation(c, m))
    }

    /// Mutes or unmutes a conversation's pushes (mentions still come through).
    async fn set_conversation_muted(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        muted: bool,
    ) -> Result<Conversation> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let conversation = parse_id("conversationId", &conversation_id)?;
        let (c, m) = conversations::set_muted(app, me, conversation, muted).await?;
        Ok(Conversation(c, m))
    }

    /// Sends a message (members with a verified real name). Idempotent on `clientMessageId`.
    async fn send_message(&self, ctx: &Context<'_>, input: SendMessageInput) -> Result<Message> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let new = NewMessage {
            conversation: parse_id("conversationId", &input.conversation_id)?,
            client_message_id: input.client_message_id,
            kind: input.kind,
            text: input.text,
            attachment: input.attachment_id.as_ref().map(|a| parse_id("attachmentId", a)).transpose()?,
            duration_secs: input.duration_secs,
            location: input.location.map(|l| Location {
                latitude: l.latitude,
                longitude: l.longitude,
                name: l.name,
                address: l.address,
            }),
            reply_to_seq: input.reply_to_seq,
            mentions: ids("mentions", &input.mentions)?,
        };
        Ok(Message(messages::send(app, me, new).await?))
    }

    /// The sender edits a text message within the edit window.
    async fn edit_message(&self, ctx: &Context<'_>, message_id: ID, text: String) -> Result<Message> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(Message(messages::edit(app, viewer.require_person()?, parse_id("messageId", &message_id)?, &text).await?))
    }

    /// Recalls a message: the sender within the recall window; a group's owner or admins always.
    async fn recall_message(&self, ctx: &Context<'_>, message_id: ID) -> Result<Message> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(Message(messages::recall(app, viewer.require_person()?, parse_id("messageId", &message_id)?).await?))
    }

    /// Deletes a message from the person's own history only.
    async fn delete_message_for_me(&self, ctx: &Context<'_>, message_id: ID) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        messages::hide(app, viewer.require_person()?, parse_id("messageId", &message_id)?).await?;
        Ok(true)
    }

    /// Marks the conversation read up to `seq`; returns the read position (it never moves back).
    async fn mark_conversation_read(&self, ctx: &Context<'_>, conversation_id: ID, seq: i64) -> Result<i64> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(messages::mark_read(app, me, parse_id("conversationId", &conversation_id)?, seq).await?)
    }

    /// Tells the other members the person is typing; nothing is stored. At most one
    /// announcement per 3 seconds goes out; returns whether this one did.
    async fn send_typing(&self, ctx: &Context<'_>, conversation_id: ID) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(live::typing(app, viewer.require_person()?, parse_id("conversationId", &conversation_id)?).await?)
    }

    /// Reports a message to the platform; returns the report's id.
    async fn report_message(
        &self,
        ctx: &Context<'_>,
        message_id: ID,
        category: xqt_accounts::reports::ReportCategory,
        description: String,
    ) -> Result<ID> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        let r = messages::report(app, me, parse_id("messageId", &message_id)?, category, &description).await?;
        Ok(ID(r.id.to_string()))
    }

    /// Starts an `audio` or `video` call in a conversation; it rings until answered or timed out.
    async fn invite_call(
        &self,
        ctx: &Context<'_>,
        conversation_id: ID,
        media: crate::entity::call::CallMedia,
    ) -> Result<Call> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let me = viewer.require_person()?;
        Ok(Call(calls::invite(app, me, parse_id("conversationId", &conversation_id)?, media).await?))
    }

    async fn call_ringing(&self, ctx: &Context<'_>, call_id: ID) -> Result<Call> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(Call(calls::ringing(app, viewer.require_person()?, parse_id("callId", &call_id)?).await?))
    }

    async fn accept_call(&self, ctx: &Context<'_>, call_id: ID) -> Result<Call> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(Call(calls::accept(app, viewer.require_person()?, parse_id("callId", &call_id)?).await?))
    }

    async fn reject_call(&self, ctx: &Context<'_>, call_id: ID) -> Result<Call> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(Call(calls::reject(app, viewer.require_person()?, parse_id("callId", &call_id)?).await?))
    }

    async fn cancel_call(&self, ctx: &Context<'_>, call_id: ID) -> Result<Call> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(Call(calls::cancel(app, viewer.require_person()?, parse_id("callId", &call_id)?).await?))
    }

    /// Ends an answered call, saying why.
    async fn hang_up_call(
        &self,
        ctx: &Context<'_>,
        call_id: ID,
        reason: crate::entity::call::CallEndReason,
    ) -> Result<Call> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(Call(calls::hang_up(app, viewer.require_person()?, parse_id("callId", &call_id)?, reason).await?))
    }
}
