//! What this module holds about a person (their inbox), how it is exported, erased and expired.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;
use xqt_kernel::module::{
    ClientPermission, Erasure, Expire, LegalBasis, PersonalData, Purpose, RetentionAction, RetentionRule,
};
use xqt_kernel::{AppContext, AppResult};

use crate::inbox;

pub const CATEGORY: &str = "notification_content";
/// Device push tokens, handed to the push provider to deliver notifications (PRM-2).
pub const PUSH_TOKENS: &str = "push_tokens";
pub const PUSH_PURPOSE: &str = "push_notifications";
/// Read notifications are kept this long, then deleted.
pub const READ_RETENTION_DAYS: i64 = 180;

pub fn purposes() -> Vec<Purpose> {
    vec![
        Purpose {
            id: "service_notifications",
            description: "在应用内通知账号、安全、政策变更和合作进展 (in-app notices about the account, security, policy changes and cooperation)",
            categories: vec![CATEGORY],
            sensitive: false,
            legal_basis: LegalBasis::Contract,
            separate_consent: false,
            retention_days: Some(READ_RETENTION_DAYS as u32),
        },
        Purpose {
            id: PUSH_PURPOSE,
            description: "推送：设备推送标识交给推送服务商，用于在应用未打开时送达消息与通知 (push: device tokens go to the push provider to deliver messages when the app is closed)",
            categories: vec![PUSH_TOKENS],
            sensitive: false,
            legal_basis: LegalBasis::Consent,
            separate_consent: false,
            retention_days: None,
        },
    ]
}

pub fn client_permissions() -> Vec<ClientPermission> {
    // What the push service (JPush) asks for, as M 三(一)4 lists it.
    let push = |id, description| ClientPermission { id, description, purpose: PUSH_PURPOSE };
    vec![
        push(
            "notifications",
            "通知：应用未打开时提醒新消息、来电与账号通知 (notifications: new messages, calls and account notices while the app is closed)",
        ),
        push("phone_state", "读取电话状态：推送服务识别设备 (phone state: the push service identifies the device)"),
        push(
            "network_state",
            "获取网络状态：推送服务判断网络连接是否有效 (network state: whether the connection works, for push)",
        ),
        push(
            "boot_completed",
            "开机自动运行：开机后继续接收推送 (run at start-up: keep receiving pushes after a restart)",
        ),
        push("vibrate", "振动：新消息与来电提醒 (vibration: new messages and incoming calls)"),
        push(
            "get_tasks",
            "获取任务信息：推送服务判断应用是否在前台 (running tasks: whether the app is in front, for push)",
        ),
    ]
}

pub struct Inbox;

#[async_trait]
impl PersonalData for Inbox {
    async fn export(&self, ctx: &AppContext, user: Uuid) -> AppResult<serde_json::Value> {
        let rows = inbox::all_for(ctx, user).await?;
        let pushes = crate::push::sent_to(ctx, user).await?;
        let devices = crate::push::devices(ctx, user).await?;
        Ok(serde_json::json!({ "notifications": rows, "pushes": pushes, "pushDevices": devices }))
    }

    async fn erase(&self, ctx: &AppContext, user: Uuid, erasure: &Erasure) -> AppResult<u64> {
        let mut touched = 0;
        if erasure.covers(PUSH_TOKENS) {
            touched += crate::push::delete_devices_for(ctx, user).await?;
        }
        if erasure.covers(CATEGORY) {
            touched += inbox::delete_for(ctx, user).await? + crate::push::delete_for(ctx, user).await?;
        }
        Ok(touched)
    }
}

struct ReadNotifications;

#[async_trait]
impl Expire for ReadNotifications {
    async fn expire(&self, ctx: &AppContext, older_than: DateTime<Utc>) -> AppResult<u64> {
        inbox::delete_read_before(ctx, older_than).await
    }
}

struct PushOutbox;

#[async_trait]
impl Expire for PushOutbox {
    async fn expire(&self, ctx: &AppContext, older_than: DateTime<Utc>) -> AppResult<u64> {
        crate::push::delete_before(ctx, older_than).await
    }
}

pub fn retention_rules() -> Vec<RetentionRule> {
    vec![
        RetentionRule {
            name: "read_notifications",
            category: CATEGORY,
            keep_for: Duration::days(READ_RETENTION_DAYS),
            action: RetentionAction::Delete,
            apply: Arc::new(ReadNotifications),
        },
        RetentionRule {
            name: "push_outbox",
            category: CATEGORY,
            keep_for: Duration::days(READ_RETENTION_DAYS),
            action: RetentionAction::Delete,
            apply: Arc::new(PushOutbox),
        },
    ]
}
