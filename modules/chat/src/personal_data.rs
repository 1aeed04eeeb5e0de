//! What chat holds about a person and why; its part in export and erasure. Message content is
//! processed only to deliver it, keep the history and let members search it (COL-2).

use async_trait::async_trait;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

use chrono::{DateTime, Duration, Utc};
use xqt_kernel::module::{
    ClientPermission, Erasure, Expire, LegalBasis, PersonalData, Purpose, RetentionAction, RetentionRule,
};
use xqt_kernel::{AppContext, AppResult};

use crate::conversations;
use crate::entity::conversation::ConversationKind;
use crate::entity::member::ChatRole;
use crate::entity::{call, conversation, hidden, member, message};

pub const PURPOSE: &str = "chat";
/// Messages, attachments and call records the person made.
pub const CONTENT: &str = "chat_content";
/// Which conversations the person is in, read positions, mute and hidden messages.
pub const MEMBERSHIP: &str = "chat_membership";

pub fn purposes() -> Vec<Purpose> {
    vec![Purpose {
        id: PURPOSE,
        description: "即时通讯：投递、保存您与会话成员的消息，供成员查看与搜索；不用于统计、推荐或提供给合作方 (chat: deliver and keep messages for the conversation's members; never analytics, recommendations or partners)",
        categories: vec![CONTENT, MEMBERSHIP],
        sensitive: false,
        legal_basis: LegalBasis::Contract,
        separate_consent: false,
        retention_days: None,
    }]
}

pub fn client_permissions() -> Vec<ClientPermission> {
    vec![
        ClientPermission {
            id: "microphone",
            description: "麦克风：发送语音消息、语音与视频通话 (microphone: voice messages and calls)",
            purpose: PURPOSE,
        },
        ClientPermission {
            id: "system_alert_window",
            description: "悬浮窗：来电时在其他应用上方显示接听界面 (overlay: show an incoming call over other apps)",
            purpose: PURPOSE,
        },
    ]
}

/// Attachments uploaded and never sent.
struct UnsentAttachments;

#[async_trait]
impl Expire for UnsentAttachments {
    async fn expire(&self, ctx: &AppContext, older_than: DateTime<Utc>) -> AppResult<u64> {
        crate::attachments::delete_unsent_before(ctx, older_than).await
    }
}

pub fn retention_rules() -> Vec<RetentionRule> {
    vec![RetentionRule {
        name: "unsent_attachments",
        category: CONTENT,
        keep_for: Duration::hours(crate::attachments::UNSENT_KEEP_HOURS),
        action: RetentionAction::Delete,
        apply: Arc::new(UnsentAttachments),
    }]
}

pub struct ChatData;

#[async_trait]
impl PersonalData for ChatData {
    async fn export(&self, ctx: &AppContext, user: Uuid) -> AppResult<serde_json::Value> {
        let conversations: Vec<_> = conversations::mine(ctx, user)
            .await?
            .into_iter()
            .map(|(c, m)| {
                json!({
                    "id": c.id, "kind": c.kind, "name": c.name, "organizationId": c.organization_id,
                    "role": m.role, "joinedAt": m.joined_at, "lastReadSeq": m.last_read_seq, "muted": m.muted,
                })
            })
            .collect();
        let messages = message::Entity::find()
            .filter(message::Column::SenderId.eq(user))
            .order_by_asc(message::Column::CreatedAt)
            .all(&ctx.db)
            .await?;
        let attachments = crate::attachments::uploaded_by(ctx, user).await?;
        let calls = call::Entity::find().filter(call::Column::CallerId.eq(user)).all(&ctx.db).await?;
        let membership_changes = crate::changes::naming(ctx, user).await?;
        Ok(json!({
            "conversations": conversations,
            "membershipChanges": membership_changes,
            "messages": messages,
            "attachments": attachments,
            "calls": calls,
        }))
    }

    async fn erase(&self, ctx: &AppContext, user: Uuid, erasure: &Erasure) -> AppResult<u64> {
        let mut touched = 0;
        if erasure.covers(CONTENT) {
            touched += erase_content(ctx, user).await?;
        }
        if erasure.covers(MEMBERSHIP) {
            touched += erase_membership(ctx, user).await?;
        }
        Ok(touched)
    }
}

/// The person's messages lose their content and their author: others' histories keep an
/// anonymous placeholder in sequence. Their attachments are deleted.
async fn erase_content(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    let mut touched = 0;
    for a in crate::attachments::uploaded_by(ctx, user).await? {
        crate::attachments::delete(ctx, a.id).await?;
        touched += 1;
    }
    touched += message::Entity::update_many()
        .col_expr(message::Column::SenderId, Expr::value(Option::<Uuid>::None))
        .col_expr(message::Column::ClientMessageId, Expr::value(Option::<String>::None))
        .col_expr(message::Column::Body, Expr::value(Option::<String>::None))
        .col_expr(message::Column::Payload, Expr::value(Option::<String>::None))
        .col_expr(message::Column::Mentions, Expr::value(Option::<String>::None))
        .filter(message::Column::SenderId.eq(user))
        .exec(&ctx.db)
        .await?
        .rows_affected;
    message::Entity::update_many()
        .col_expr(message::Column::RecalledBy, Expr::value(Option::<Uuid>::None))
        .filter(message::Column::RecalledBy.eq(user))
        .exec(&ctx.db)
        .await?;
    touched += call::Entity::update_many()
        .col_expr(call::Column::CallerId, Expr::value(Option::<Uuid>::None))
        .filter(call::Column::CallerId.eq(user))
        .exec(&ctx.db)
        .await?
        .rows_affected;
    call::Entity::update_many()
        .col_expr(call::Column::EndedBy, Expr::value(Option::<Uuid>::None))
        .filter(call::Column::EndedBy.eq(user))
        .exec(&ctx.db)
        .await?;
    Ok(touched)
}

/// The person leaves every conversation (a group they own passes to the next in line), their
/// direct conversations stop naming them, and what they hid is forgotten.
async fn erase_membership(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    let owned: Vec<Uuid> = conversations::mine(ctx, user)
        .await?
        .into_iter()
        .filter(|(c, m)| c.kind == ConversationKind::Group && m.role == ChatRole::Owner)
        .map(|(c, _)| c.id)
        .collect();
    let mut touched =
        member::Entity::delete_many().filter(member::Column::UserId.eq(user)).exec(&ctx.db).await?.rows_affected;
    for c in owned {
        conversations::hand_over(&ctx.db, c).await?;
    }
    touched += crate::changes::forget_person(ctx, user).await?;
    touched += hidden::Entity::delete_many().filter(hidden::Column::UserId.eq(user)).exec(&ctx.db).await?.rows_affected;
    touched += conversation::Entity::update_many()
        .col_expr(conversation::Column::DirectKey, Expr::value(Option::<String>::None))
        .filter(conversation::Column::DirectKey.contains(user.to_string()))
        .exec(&ctx.db)
        .await?
        .rows_affected;
    conversation::Entity::update_many()
        .col_expr(conversation::Column::CreatedBy, Expr::value(Option::<Uuid>::None))
        .filter(conversation::Column::CreatedBy.eq(user))
        .exec(&ctx.db)
        .await?;
    Ok(touched)
}
