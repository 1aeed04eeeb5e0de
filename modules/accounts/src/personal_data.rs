//! What accounts holds about a person, why, for how long; export, erasure, retention; and its
//! part in authentication (a signed-out session's tokens stop working).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;
use xqt_kernel::module::{
    Authenticator, Blocker, CancellationBlockers, ClientPermission, Erasure, Expire, LegalBasis, PersonalData, Purpose,
    RetentionAction, RetentionRule,
};
use xqt_kernel::{AppContext, AppResult};

use crate::entity::{security_event, session, sms_message, user};
use crate::{sessions, users};

pub const ACCOUNT: &str = "account_identity";
pub const PROFILE: &str = "profile";
pub const SECURITY_LOG: &str = "security_log";
pub const SMS: &str = "sms_messages";
pub const IDENTITY: &str = "real_name_identity";
pub const MEMBERSHIP: &str = "organization_membership";
pub const UPLOADS: &str = "uploaded_images";
/// Outbox messages (codes) are kept a day, for support questions, then deleted.
const SMS_KEEP_DAYS: i64 = 1;

/// The security log's declared period is the statutory minimum; deployments may keep it longer.
pub const SECURITY_LOG_MIN_DAYS: u32 = 180;

pub fn purposes() -> Vec<Purpose> {
    vec![
        Purpose {
            id: "account_registration",
            description: "注册、登录和实名校验所需的手机号与账号信息 (phone number and account data to register, sign in and verify identity)",
            categories: vec![ACCOUNT, SMS],
            sensitive: false,
            legal_basis: LegalBasis::Contract,
            separate_consent: false,
            retention_days: None,
        },
        Purpose {
            id: "profile",
            description: "个人资料：昵称、用户名、性别、出生日期、密码 (profile the person fills in)",
            categories: vec![PROFILE, MEMBERSHIP],
            sensitive: false,
            legal_basis: LegalBasis::Contract,
            separate_consent: false,
            retention_days: None,
        },
        Purpose {
            id: "uploads",
            description: "相机/相册：头像、营业执照与举报证据图片（上传前去除位置等元数据） (camera and album: avatar, licence and evidence images, metadata stripped)",
            categories: vec![UPLOADS],
            sensitive: false,
            legal_basis: LegalBasis::Contract,
            separate_consent: false,
            retention_days: None,
        },
        Purpose {
            id: "real_name_verification",
            description: "实名认证：真实姓名与身份证号（网络安全法第二十四条） (real name and ID number for real-identity checks)",
            categories: vec![IDENTITY],
            sensitive: true,
            legal_basis: LegalBasis::LegalObligation,
            separate_consent: false,
            retention_days: None,
        },
        Purpose {
            id: "account_security",
            description: "设备信息与登录日志，用于账号安全与新设备提醒（网络安全法第二十一条：留存不少于六个月） (device and sign-in records for account security)",
            categories: vec![SECURITY_LOG],
            sensitive: false,
            legal_basis: LegalBasis::LegalObligation,
            separate_consent: false,
            retention_days: Some(SECURITY_LOG_MIN_DAYS),
        },
    ]
}

pub fn client_permissions() -> Vec<ClientPermission> {
    vec![
        ClientPermission {
            id: "camera",
            description: "相机：拍摄头像、营业执照与举报证据 (camera: avatar, licence and evidence photos)",
            purpose: "uploads",
        },
        ClientPermission {
            id: "photo_library",
            description: "相册与媒体文件：选择头像、营业执照、举报证据与要发送的图片视频 (photo library and media: choose images and videos to upload)",
            purpose: "uploads",
        },
        ClientPermission {
            id: "network",
            description: "网络：应用基础权限，连接平台服务 (network: the app's basic permission, to reach the service; M 三(一)1)",
            purpose: "account_registration",
        },
        ClientPermission {
            id: "install_packages",
            description: "安装应用：下载并安装应用升级 (install packages: app updates; M 三(一)3)",
            purpose: "account_registration",
        },
        ClientPermission {
            id: "device_info",
            description: "设备信息（型号、系统版本、网络类型）：登录安全与新设备提醒 (device details for sign-in security)",
            purpose: "account_security",
        },
    ]
}

pub struct AccountsData;

#[async_trait]
impl PersonalData for AccountsData {
    async fn export(&self, ctx: &AppContext, user_id: Uuid) -> AppResult<serde_json::Value> {
        let Some(u) = users::find(ctx, user_id).await? else { return Ok(json!(null)) };
        let phone = users::phone_of(ctx, &u)?;
        let sessions = session::Entity::find()
            .filter(session::Column::UserId.eq(user_id))
            .order_by_asc(session::Column::CreatedAt)
            .all(&ctx.db)
            .await?;
        let events = security_event::Entity::find()
            .filter(security_event::Column::UserId.eq(user_id))
            .order_by_asc(security_event::Column::Id)
            .all(&ctx.db)
            .await?;
        let sms = match &u.phone_hash {
            Some(hash) => {
                sms_message::Entity::find().filter(sms_message::Column::PhoneHash.eq(hash.clone())).all(&ctx.db).await?
            }
            None => vec![],
        };
        Ok(json!({
            "account": { "id": u.id, "phone": phone.map(|p| p.as_str().to_owned()), "role": u.role, "status": u.status, "createdAt": u.created_at },
            "profile": { "username": u.username, "nickname": u.nickname, "gender": u.gender, "birthDate": u.birth_date, "hasPassword": u.password_hash.is_some() },
            "sessions": sessions.iter().map(|s| json!({
                "id": s.id, "deviceId": s.device_id, "deviceModel": s.device_model, "os": s.os, "appVersion": s.app_version,
                "network": s.network, "ip": s.ip, "createdAt": s.created_at, "lastUsedAt": s.last_used_at, "endedAt": s.ended_at,
            })).collect::<Vec<_>>(),
            "securityLog": events,
            "identityVerifications": crate::verification::all_for(ctx, user_id).await?.iter().map(|v| Ok(json!({
                "realName": ctx.keys.open(&v.real_name_sealed)?, "idNumber": ctx.keys.open(&v.id_number_sealed)?,
                "state": v.state, "reason": v.reason, "submittedAt": v.submitted_at, "reviewedAt": v.reviewed_at,
            }))).collect::<AppResult<Vec<_>>>()?,
            "uploads": crate::uploads::all_for(ctx, user_id).await?.iter().map(|f| json!({
                "id": f.id, "purpose": f.purpose, "contentType": f.content_type, "size": f.size, "sha256": f.sha256,
                "createdAt": f.created_at, "url": format!("/files/{}", f.id),
            })).collect::<Vec<_>>(),
            "reportsFiled": crate::reports::filed_by(ctx, user_id).await?,
            "restrictions": crate::reports::restrictions_of(ctx, user_id).await?,
            "memberships": crate::organizations::memberships(ctx, user_id).await?.iter().map(|m| json!({
                "organizationId": m.organization_id, "role": m.role, "joinedAt": m.joined_at,
            })).collect::<Vec<_>>(),
            "smsMessages": sms.iter().map(|m| json!({ "body": m.body, "createdAt": m.created_at })).collect::<Vec<_>>(),
        }))
    }

    async fn erase(&self, ctx: &AppContext, user_id: Uuid, erasure: &Erasure) -> AppResult<u64> {
        let Some(u) = users::find(ctx, user_id).await? else { return Ok(0) };
        let mut touched = 0;
        if erasure.covers(SMS)
            && let Some(hash) = &u.phone_hash
        {
            touched += sms_message::Entity::delete_many()
                .filter(sms_message::Column::PhoneHash.eq(hash.clone()))
                .exec(&ctx.db)
                .await?
                .rows_affected;
        }
        if erasure.covers(UPLOADS) {
            touched += crate::uploads::delete_for(ctx, user_id).await?;
        }
        if erasure.covers(ACCOUNT) {
            touched += crate::reports::forget_reporter(ctx, user_id).await?;
        }
        if erasure.covers(MEMBERSHIP) {
            use crate::entity::organization_member as member;
            touched += crate::organizations::hand_over_owned(ctx, user_id).await?;
            let left = crate::organizations::memberships(ctx, user_id).await?;
            touched += member::Entity::delete_many()
                .filter(member::Column::UserId.eq(user_id))
                .exec(&ctx.db)
                .await?
                .rows_affected;
            for m in left {
                ctx.modules.organization_left(ctx, m.organization_id, user_id).await;
            }
        }
        if erasure.covers(IDENTITY) {
            touched += crate::verification::delete_for(ctx, user_id).await?;
        }
        if erasure.covers(SECURITY_LOG) {
            sessions::end_all_sessions(ctx, user_id, crate::entity::security_event::SecurityEventKind::Erased).await?;
            touched += security_event::Entity::delete_many()
                .filter(security_event::Column::UserId.eq(user_id))
                .exec(&ctx.db)
                .await?
                .rows_affected;
            touched += session::Entity::delete_many()
                .filter(session::Column::UserId.eq(user_id))
                .exec(&ctx.db)
                .await?
                .rows_affected;
        }
        let mut update = user::Entity::update_many().filter(user::Column::Id.eq(user_id));
        let mut changed = false;
        if erasure.covers(PROFILE) {
            for col in
                [user::Column::Username, user::Column::Nickname, user::Column::Gender, user::Column::PasswordHash]
            {
                update = update.col_expr(col, Expr::value(Option::<String>::None));
            }
            update = update.col_expr(user::Column::BirthDate, Expr::value(Option::<chrono::NaiveDate>::None));
            changed = true;
        }
        if erasure.covers(ACCOUNT) {
            // Frees the phone number: registering with it again makes an unrelated account.
            update = update
                .col_expr(user::Column::PhoneHash, Expr::value(Option::<Vec<u8>>::None))
                .col_expr(user::Column::PhoneSealed, Expr::value(Option::<Vec<u8>>::None))
                .col_expr(user::Column::Status, Expr::value(crate::users::AccountStatus::Erased));
            changed = true;
        }
        if changed {
            touched += update
                .col_expr(user::Column::UpdatedAt, Expr::value(ctx.clock.now()))
                .exec(&ctx.db)
                .await?
                .rows_affected;
        }
        Ok(touched)
    }
}

struct SecurityLogRetention;

#[async_trait]
impl Expire for SecurityLogRetention {
    async fn expire(&self, ctx: &AppContext, older_than: DateTime<Utc>) -> AppResult<u64> {
        sessions::delete_security_log_before(ctx, older_than).await
    }
}

struct SmsRetention;

#[async_trait]
impl Expire for SmsRetention {
    async fn expire(&self, ctx: &AppContext, older_than: DateTime<Utc>) -> AppResult<u64> {
        Ok(sms_message::Entity::delete_many()
            .filter(sms_message::Column::CreatedAt.lt(older_than))
            .exec(&ctx.db)
            .await?
            .rows_affected)
    }
}

struct WebhookDeliveryRetention;

#[async_trait]
impl Expire for WebhookDeliveryRetention {
    async fn expire(&self, ctx: &AppContext, older_than: DateTime<Utc>) -> AppResult<u64> {
        crate::webhooks::delete_deliveries_before(ctx, older_than).await
    }
}

pub fn retention_rules(security_log_days: i64) -> Vec<RetentionRule> {
    vec![
        RetentionRule {
            name: "webhook_deliveries",
            category: "partner_webhooks",
            keep_for: Duration::days(crate::webhooks::KEEP_DAYS),
            action: RetentionAction::Delete,
            apply: Arc::new(WebhookDeliveryRetention),
        },
        RetentionRule {
            name: "security_log",
            category: SECURITY_LOG,
            keep_for: Duration::days(security_log_days),
            action: RetentionAction::Delete,
            apply: Arc::new(SecurityLogRetention),
        },
        RetentionRule {
            name: "sms_outbox",
            category: SMS,
            keep_for: Duration::days(SMS_KEEP_DAYS),
            action: RetentionAction::Delete,
            apply: Arc::new(SmsRetention),
        },
    ]
}

pub struct ReportsAndRestrictions;

#[async_trait]
impl CancellationBlockers for ReportsAndRestrictions {
    async fn blockers(&self, ctx: &AppContext, user: Uuid) -> AppResult<Vec<Blocker>> {
        crate::reports::blockers(ctx, user).await
    }
}

/// Accounts' part in authentication: live sessions, and partner tokens.
pub struct Credentials;

#[async_trait]
impl Authenticator for Credentials {
    async fn resolve(&self, ctx: &AppContext, token: &str) -> AppResult<Option<xqt_kernel::auth::Authenticated>> {
        crate::partners::resolve(ctx, token).await
    }

    async fn session_active(&self, ctx: &AppContext, user: Uuid, session: Uuid) -> AppResult<bool> {
        sessions::session_active(ctx, user, session).await
    }
}

/// Accounts' answer to who is who, for the modules beneath it (a partner's notification).
pub struct People;

#[async_trait]
impl xqt_kernel::module::Directory for People {
    async fn person_reachable(&self, ctx: &AppContext, user: Uuid) -> AppResult<bool> {
        Ok(crate::users::find(ctx, user).await?.is_some_and(|u| u.status == crate::users::AccountStatus::Active))
    }

    async fn partner_name(&self, ctx: &AppContext, partner: Uuid) -> AppResult<Option<String>> {
        Ok(crate::partners::find_partner(ctx, &partner.to_string()).await?.map(|p| p.name))
    }
}
