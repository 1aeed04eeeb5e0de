//! Background work of chat, queued in the durable jobs table so nothing is lost on a crash:
//! pushes to members who are away, the replacement of a recalled message's push, and ringing
//! calls that nobody answered.

use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use uuid::Uuid;
use xqt_kernel::jobs::{JobHandler, enqueue_on};
use xqt_kernel::{AppContext, AppError, AppResult};
use xqt_notifications::push::{Push, gateway};

use crate::conversations;
use crate::entity::conversation::ConversationKind;
use crate::entity::message;
use crate::entity::message::MessageKind;
use crate::live;

pub const PUSH: &str = "chat.push";
pub const RING_TIMEOUT: &str = "chat.ring_timeout";
/// Pushes a call invitation to the callees' phones, at once (the runner is woken) and urgent.
pub const RING_PUSH: &str = "chat.ring_push";

pub fn handlers() -> Vec<Arc<dyn JobHandler>> {
    vec![Arc::new(PushMessage), Arc::new(RingTimeout), Arc::new(RingPush)]
}

struct RingPush;

#[async_trait]
impl JobHandler for RingPush {
    fn kind(&self) -> &'static str {
        RING_PUSH
    }

    async fn run(&self, ctx: &AppContext, payload: &Value) -> AppResult<()> {
        let id = id_in(payload, "call")?;
        let Some(c) = crate::entity::call::Entity::find_by_id(id).one(&ctx.db).await? else { return Ok(()) };
        // Answered, declined or given up already: nothing should ring any more.
        if c.state != crate::entity::call::CallState::Ringing || ctx.clock.now() >= c.ring_until {
            return Ok(());
        }
        let Some(conversation) = conversations::find(ctx, c.conversation_id).await? else { return Ok(()) };
        let title = match conversation.kind {
            ConversationKind::Direct => "来电".to_owned(),
            _ => conversation.name.clone().unwrap_or_else(|| "群聊".into()),
        };
        let body = match c.media {
            crate::entity::call::CallMedia::Video => "邀请你视频通话",
            crate::entity::call::CallMedia::Audio => "邀请你语音通话",
        };
        let key = format!("call:{}", c.id);
        let push = Push {
            kind: xqt_notifications::NotificationKind::CallInvitation,
            title: &title,
            body,
            collapse_key: Some(&key),
        };
        // Every callee's phone rings, online or not: an app in the background keeps no socket
        // it can ring on. Muting a conversation silences messages, not calls.
        let callees: Vec<Uuid> = conversations::members(ctx, c.conversation_id)
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .filter(|u| Some(*u) != c.caller_id)
            .collect();
        gateway(ctx).push_many(ctx, &callees, &push).await?;
        Ok(())
    }
}

/// Queues the push for a stored message (or, `recalled`, the replacement of its push) in the
/// transaction that stores it, so the message and its push commit together or not at all.
pub async fn queue_push<C: sea_orm::ConnectionTrait>(
    db: &C,
    ctx: &AppContext,
    m: &message::Model,
    recalled: bool,
) -> AppResult<()> {
    if let Some((payload, dedupe)) = push_job(m.id, m.kind, recalled) {
        enqueue_on(db, ctx, PUSH, payload, ctx.clock.now(), Some(dedupe)).await?;
    }
    Ok(())
}

/// `queue_push` as part of the statement that stores the message (PostgreSQL), which names the
/// stored row `per`.
pub(crate) fn push_per_row(
    ctx: &AppContext,
    id: Uuid,
    kind: MessageKind,
    per: &str,
) -> Option<sea_orm::sea_query::InsertStatement> {
    let (payload, dedupe) = push_job(id, kind, false)?;
    Some(xqt_kernel::jobs::insert_per_row(ctx, PUSH, payload, ctx.clock.now(), Some(dedupe), per))
}

/// The push job's payload and dedupe key; system lines are not pushed.
fn push_job(id: Uuid, kind: MessageKind, recalled: bool) -> Option<(Value, String)> {
    if kind == MessageKind::System {
        return None;
    }
    let dedupe = format!("{PUSH}:{id}:{}", if recalled { "recall" } else { "send" });
    Some((json!({ "message": id, "recalled": recalled }), dedupe))
}

/// What the push says: who and where, never the content — message content goes to no one
/// outside the conversation, the push provider included (COL-2).
fn wording(m: &message::Model, conversation: &str, mentioned: bool) -> (String, &'static str) {
    let body = match m.kind {
        _ if mentioned => "有人@了你",
        MessageKind::Call => "邀请你通话",
        MessageKind::Image => "发来一张图片",
        MessageKind::Voice => "发来一段语音",
        MessageKind::Video => "发来一段视频",
        MessageKind::File => "发来一个文件",
        MessageKind::Location => "发来一个位置",
        MessageKind::Text | MessageKind::System => "发来一条消息",
    };
    (conversation.to_owned(), body)
}

fn collapse_key(m: &message::Model) -> String {
    format!("chat:{}", m.id)
}

/// The id a job's payload carries under `key`.
fn id_in(payload: &Value, key: &str) -> AppResult<Uuid> {
    payload[key]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| AppError::internal(format!("job payload without a `{key}` id")))
}

struct PushMessage;

#[async_trait]
impl JobHandler for PushMessage {
    fn kind(&self) -> &'static str {
        PUSH
    }

    async fn run(&self, ctx: &AppContext, payload: &Value) -> AppResult<()> {
        let id = id_in(payload, "message")?;
        let recalled = payload["recalled"].as_bool().unwrap_or(false);
        let Some(m) = <message::Entity as sea_orm::EntityTrait>::find_by_id(id).one(&ctx.db).await? else {
            return Ok(());
        };
        let Some(c) = conversations::find(ctx, m.conversation_id).await? else { return Ok(()) };
        let title = match c.kind {
            ConversationKind::Direct => "私信".to_owned(),
            _ => c.name.clone().unwrap_or_else(|| "群聊".into()),
        };
        let key = collapse_key(&m);
        let mentions: Vec<Uuid> = m.mentions.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
        let gateway = gateway(ctx);
        let others: Vec<_> = conversations::members(ctx, c.id)
            .await?
            .into_iter()
            .filter(|member| Some(member.user_id) != m.sender_id && Some(member.user_id) != m.recalled_by)
            .collect();
        if recalled {
            let push = Push {
                kind: xqt_notifications::NotificationKind::ChatRecalled,
                title: &title,
                body: "撤回了一条消息",
                collapse_key: Some(&key),
            };
            let users: Vec<Uuid> = others.iter().map(|member| member.user_id).collect();
            return gateway.replace_many(ctx, &users, &push).await;
        }
        // Muted conversations stay quiet, except for the person someone @-mentioned; whoever is
        // online sees it live. Presence for the whole group is one read.
        let wanted: Vec<_> =
            others.iter().filter(|member| !member.muted || mentions.contains(&member.user_id)).collect();
        let online = live::online_among(ctx, &wanted.iter().map(|member| member.user_id).collect::<Vec<_>>()).await;
        let (mentioned, plain): (Vec<Uuid>, Vec<Uuid>) = wanted
            .iter()
            .map(|member| member.user_id)
            .filter(|u| !online.contains(u))
            .partition(|u| mentions.contains(u));
        for (users, is_mentioned) in [(mentioned, true), (plain, false)] {
            if users.is_empty() {
                continue;
            }
            let (title, body) = wording(&m, &title, is_mentioned);
            let push = Push {
                kind: xqt_notifications::NotificationKind::ChatMessage,
                title: &title,
                body,
                collapse_key: Some(&key),
            };
            gateway.push_many(ctx, &users, &push).await?;
        }
        Ok(())
    }
}

struct RingTimeout;

#[async_trait]
impl JobHandler for RingTimeout {
    fn kind(&self) -> &'static str {
        RING_TIMEOUT
    }

    async fn run(&self, ctx: &AppContext, payload: &Value) -> AppResult<()> {
        let id = id_in(payload, "call")?;
        crate::calls::expire_if_unanswered(ctx, id).await?;
        Ok(())
    }
}
