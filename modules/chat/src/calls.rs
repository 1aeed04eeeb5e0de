//! Call signalling for audio and video: invite, ringing, accept, reject, cancel, hang up. The
//! media flows outside this API. An invitation nobody answers within the ring timeout becomes a
//! missed call; every call that ends leaves a record in the history.

use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;
use xqt_kernel::{AppContext, AppResult, ids};

use crate::conversations;
use crate::entity::call::{self, CallEndReason, CallMedia, CallState};
use crate::entity::message::MessageKind;
use crate::error::{ChatError, invalid};
use crate::live::{self, Event};
use crate::messages;

/// A step in a call's signalling, as members see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "snake_case")]
#[graphql(name = "CallSignal")]
pub enum Signal {
    Invite,
    Ringing,
    Accept,
    Reject,
    Cancel,
    Hangup,
    Missed,
}

async fn find(ctx: &AppContext, me: Uuid, id: Uuid) -> AppResult<call::Model> {
    let c = call::Entity::find_by_id(id).one(&ctx.db).await?.ok_or(ChatError::NotFound("call"))?;
    conversations::require_member(ctx, c.conversation_id, me).await.map_err(|_| ChatError::NotFound("call"))?;
    Ok(c)
}

async fn announce(ctx: &AppContext, c: &call::Model, signal: Signal, by: Option<Uuid>) {
    live::publish(ctx, c.conversation_id, None, &Event::Call { call: Box::new(c.clone()), signal, by }).await;
}

/// Starts a call in a conversation; one call at a time per conversation.
pub async fn invite(ctx: &AppContext, me: Uuid, conversation: Uuid, media: CallMedia) -> AppResult<call::Model> {
    conversations::require_member(ctx, conversation, me).await?;
    xqt_accounts::reports::require_verified_and_unrestricted(ctx, me, xqt_accounts::reports::RestrictedAction::Chat)
        .await?;
    let open = call::Entity::find()
        .filter(call::Column::ConversationId.eq(conversation))
        .filter(call::Column::State.is_in([CallState::Ringing, CallState::Accepted]))
        .all(&ctx.db)
        .await?;
    for c in open {
        // A ringing call past its timeout is missed already, whether or not its job has run.
        if !expire_if_unanswered(ctx, c.id).await? {
            return Err(ChatError::CallState(c.state).into());
        }
    }
    let now = ctx.clock.now();
    let row = call::ActiveModel {
        id: Set(ids::new_id()),
        conversation_id: Set(conversation),
        caller_id: Set(Some(me)),
        media: Set(media),
        state: Set(CallState::Ringing),
        created_at: Set(now),
        ring_until: Set(now + Duration::seconds(ctx.config.section::<crate::config::ChatConfig>().ring_timeout_secs)),
        answered_at: Set(None),
        ended_at: Set(None),
        end_reason: Set(None),
        ended_by: Set(None),
        answered_by: Set(None),
        declined_by: Set(String::new()),
    }
    .insert(&ctx.db)
    .await?;
    xqt_kernel::jobs::enqueue(ctx, crate::jobs::RING_TIMEOUT, json!({ "call": row.id }), row.ring_until, None).await?;
    xqt_kernel::jobs::enqueue(ctx, crate::jobs::RING_PUSH, json!({ "call": row.id }), now, None).await?;
    xqt_kernel::jobs::wake();
    announce(ctx, &row, Signal::Invite, Some(me)).await;
    Ok(row)
}

/// A callee's device says it is ringing.
pub async fn ringing(ctx: &AppContext, me: Uuid, id: Uuid) -> AppResult<call::Model> {
    let c = find(ctx, me, id).await?;
    if c.state != CallState::Ringing || c.caller_id == Some(me) {
        return Err(ChatError::CallState(c.state).into());
    }
    announce(ctx, &c, Signal::Ringing, Some(me)).await;
    Ok(c)
}

/// Moves the call from one state to another if it is still in `from`; false if it was not.
async fn transition(
    ctx: &AppContext,
    c: &call::Model,
    from: CallState,
    to: CallState,
    by: Option<Uuid>,
    reason: Option<CallEndReason>,
) -> AppResult<Option<call::Model>> {
    let now = ctx.clock.now();
    let mut q = call::Entity::update_many().col_expr(call::Column::State, Expr::value(to));
    if to == CallState::Accepted {
        q = q.col_expr(call::Column::AnsweredAt, Expr::value(now)).col_expr(call::Column::AnsweredBy, Expr::value(by));
    } else {
        q = q
            .col_expr(call::Column::EndedAt, Expr::value(now))
            .col_expr(call::Column::EndedBy, Expr::value(by))
            .col_expr(call::Column::EndReason, Expr::value(reason));
    }
    let moved = q.filter(call::Column::Id.eq(c.id)).filter(call::Column::State.eq(from)).exec(&ctx.db).await?;
    if moved.rows_affected == 0 {
        return Ok(None);
    }
    Ok(call::Entity::find_by_id(c.id).one(&ctx.db).await?)
}

/// Writes the call's outcome into the conversation's history.
async fn record(ctx: &AppContext, c: &call::Model) -> AppResult<()> {
    let duration = match (c.answered_at, c.ended_at) {
        (Some(a), Some(e)) => Some((e - a).num_seconds()),
        _ => None,
    };
    let payload = json!({
        "callId": c.id, "media": c.media, "outcome": c.state, "durationSecs": duration, "reason": c.end_reason,
    });
    // A missed call is pushed to those away, like a message.
    let missed = c.state == CallState::Missed;
    messages::post_record(ctx, c.conversation_id, c.caller_id, MessageKind::Call, payload, missed).await?;
    Ok(())
}

async fn finish(
    ctx: &AppContext,
    c: &call::Model,
    from: CallState,
    to: CallState,
    signal: Signal,
    by: Option<Uuid>,
    reason: Option<CallEndReason>,
) -> AppResult<call::Model> {
    let Some(done) = transition(ctx, c, from, to, by, reason).await? else {
        let now = call::Entity::find_by_id(c.id).one(&ctx.db).await?.map_or(c.state, |r| r.state);
        return Err(ChatError::CallState(now).into());
    };
    announce(ctx, &done, signal, by).await;
    if to != CallState::Accepted {
        record(ctx, &done).await?;
    }
    Ok(done)
}

/// A callee answers, while it still rings.
pub async fn accept(ctx: &AppContext, me: Uuid, id: Uuid) -> AppResult<call::Model> {
    let c = find(ctx, me, id).await?;
    if c.caller_id == Some(me) {
        return Err(ChatError::NotAllowed("the caller cannot answer their own call").into());
    }
    if expire_if_unanswered(ctx, c.id).await? {
        return Err(ChatError::CallState(CallState::Missed).into());
    }
    finish(ctx, &c, CallState::Ringing, CallState::Accepted, Signal::Accept, Some(me), None).await
}

/// A callee declines. In a direct conversation that ends the call; in a group it declines for
/// this member only, and the call ends as rejected once every other member has declined.
pub async fn reject(ctx: &AppContext, me: Uuid, id: Uuid) -> AppResult<call::Model> {
    let mut c = find(ctx, me, id).await?;
    if c.caller_id == Some(me) {
        return Err(ChatError::NotAllowed("the caller cancels instead").into());
    }
    let direct = conversations::find(ctx, c.conversation_id)
        .await?
        .is_some_and(|conv| conv.kind == crate::entity::conversation::ConversationKind::Direct);
    if direct {
        return finish(ctx, &c, CallState::Ringing, CallState::Rejected, Signal::Reject, Some(me), None).await;
    }
    // Recorded against the list as read, so two members declining at once both count.
    loop {
        if c.state != CallState::Ringing {
            return Err(ChatError::CallState(c.state).into());
        }
        let mut declined: Vec<&str> = c.declined_by.split_whitespace().collect();
        let mine = me.to_string();
        if !declined.contains(&mine.as_str()) {
            declined.push(&mine);
        }
        let list = declined.join(" ");
        let saved = call::Entity::update_many()
            .col_expr(call::Column::DeclinedBy, Expr::value(list.clone()))
            .filter(call::Column::Id.eq(c.id))
            .filter(call::Column::State.eq(CallState::Ringing))
            .filter(call::Column::DeclinedBy.eq(c.declined_by.clone()))
            .exec(&ctx.db)
            .await?;
        if saved.rows_affected == 1 {
            c.declined_by = list;
            break;
        }
        c = call::Entity::find_by_id(c.id).one(&ctx.db).await?.ok_or(ChatError::NotFound("call"))?;
    }
    let others = conversations::members(ctx, c.conversation_id).await?;
    let everyone_declined = others
        .iter()
        .filter(|m| Some(m.user_id) != c.caller_id)
        .all(|m| c.declined_by.split_whitespace().any(|d| d == m.user_id.to_string()));
    if everyone_declined {
        return finish(ctx, &c, CallState::Ringing, CallState::Rejected, Signal::Reject, Some(me), None).await;
    }
    announce(ctx, &c, Signal::Reject, Some(me)).await;
    Ok(c)
}

pub async fn cancel(ctx: &AppContext, me: Uuid, id: Uuid) -> AppResult<call::Model> {
    let c = find(ctx, me, id).await?;
    if c.caller_id != Some(me) {
        return Err(ChatError::NotAllowed("only the caller can cancel").into());
    }
    finish(ctx, &c, CallState::Ringing, CallState::Cancelled, Signal::Cancel, Some(me), None).await
}

/// A participant (the caller or who answered) ends an answered call, saying why (`normal`, `network`, `busy`, …).
pub async fn hang_up(ctx: &AppContext, me: Uuid, id: Uuid, reason: CallEndReason) -> AppResult<call::Model> {
    if reason == CallEndReason::Timeout {
        return Err(invalid("reason", "only an unanswered call times out").into());
    }
    let c = find(ctx, me, id).await?;
    if c.caller_id != Some(me) && c.answered_by != Some(me) {
        return Err(ChatError::NotAllowed("only the call's participants hang up").into());
    }
    finish(ctx, &c, CallState::Accepted, CallState::Ended, Signal::Hangup, Some(me), Some(reason)).await
}

/// Marks a call missed if it is still ringing past its timeout; true when it is (now) missed.
pub async fn expire_if_unanswered(ctx: &AppContext, id: Uuid) -> AppResult<bool> {
    let Some(c) = call::Entity::find_by_id(id).one(&ctx.db).await? else { return Ok(false) };
    if c.state == CallState::Missed {
        return Ok(true);
    }
    if c.state != CallState::Ringing || ctx.clock.now() < c.ring_until {
        return Ok(false);
    }
    if let Some(missed) =
        transition(ctx, &c, CallState::Ringing, CallState::Missed, None, Some(CallEndReason::Timeout)).await?
    {
        announce(ctx, &missed, Signal::Missed, None).await;
        record(ctx, &missed).await?;
    }
    Ok(true)
}
