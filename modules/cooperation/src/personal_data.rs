//! What cooperation holds about a person, the purposes it processes it for, the partner scopes
//! on its data, export and erasure, and the retention of agreements under legal hold.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use xqt_kernel::module::{
    ClientPermission, Erasure, Expire, LegalBasis, PersonalData, Purpose, RetentionAction, RetentionRule, Scope,
};
use xqt_kernel::{AppContext, AppResult};

use crate::entity::post::{self, PostState};
use crate::entity::revision;
use crate::{agreements, applications, favourites, programmes};

/// Posts, applications and programmes: running the cooperation the person takes part in.
pub const COOPERATION: &str = "cooperation";
/// Agreements and what their signing sends to the e-signature provider.
pub const AGREEMENTS: &str = "internship_agreements";
/// Precise location, for nearby recommendations (and check-in).
pub const LOCATION: &str = "location";
/// Location rounded to about 1 km: nearby in distance bands only.
pub const LOCATION_COARSE: &str = "location_coarse";

pub const CAT_POSTS: &str = "cooperation_posts";
pub const CAT_APPLICATIONS: &str = "cooperation_applications";
pub const CAT_FAVOURITES: &str = "favourites";
pub const CAT_PROGRAMMES: &str = "programme_membership";
pub const CAT_AGREEMENTS: &str = "agreements";
/// A signer's name and phone, as sent to the e-signature provider.
pub const CAT_SIGNERS: &str = "signer_identity";
pub const CAT_LOCATION: &str = "location";

pub const SCOPE_READ: &str = "cooperation:read";
pub const SCOPE_WRITE: &str = "cooperation:write";

pub fn purposes() -> Vec<Purpose> {
    vec![
        Purpose {
            id: COOPERATION,
            description: "校企合作：发布与展示您填写的需求与人才信息、投递与处理合作申请、组织实习项目 (cooperation: the posts you fill in, applications and internship programmes)",
            categories: vec![CAT_POSTS, CAT_APPLICATIONS, CAT_FAVOURITES, CAT_PROGRAMMES],
            sensitive: false,
            legal_basis: LegalBasis::Contract,
            separate_consent: false,
            retention_days: None,
        },
        Purpose {
            id: AGREEMENTS,
            description: "实习协议：生成协议并经电子签名服务商签署，仅发送签署所需的姓名与手机号；签署完成的协议依法保存 (agreements: signed through the e-signature provider, which receives only the signers' names and phones; signed ones are kept as the law requires)",
            categories: vec![CAT_AGREEMENTS, CAT_SIGNERS],
            sensitive: false,
            legal_basis: LegalBasis::Contract,
            separate_consent: false,
            retention_days: None,
        },
        Purpose {
            id: LOCATION,
            description: "精确位置：附近的合作机会与考勤打卡；仅在您使用时读取。附近搜索不保存您的位置；打卡位置仅您与考勤组管理员可见，保存 90 天后只保留考勤地点与结果 (precise location: nearby opportunities and check-in, read when you use them; a nearby search stores nothing, a check-in's position is seen by you and the group's admins only and after 90 days only its site and result remain)",
            categories: vec![CAT_LOCATION],
            sensitive: true,
            legal_basis: LegalBasis::Consent,
            separate_consent: true,
            // Check-ins keep their position this long by default (`attendance.coordinates_keep_days`).
            retention_days: Some(90),
        },
        Purpose {
            id: LOCATION_COARSE,
            description: "大致位置（约1公里）：附近的合作机会按距离范围显示；打卡按约 1 公里的精度判断并只保存约 1 公里精度的位置 (approximate location, about 1 km: nearby shown in distance bands; check-in judged and stored at about 1 km)",
            categories: vec![CAT_LOCATION],
            sensitive: true,
            legal_basis: LegalBasis::Consent,
            separate_consent: true,
            // Check-ins keep their position this long by default (`attendance.coordinates_keep_days`).
            retention_days: Some(90),
        },
    ]
}

pub fn scopes() -> Vec<Scope> {
    vec![
        Scope {
            id: SCOPE_READ,
            description: "Published public posts and organisation profiles, masked; never contact details",
        },
        Scope { id: SCOPE_WRITE, description: "A school's own system syncs its talent pool (idempotent on its ids)" },
    ]
}

pub fn client_permissions() -> Vec<ClientPermission> {
    vec![ClientPermission {
        id: "location",
        description: "位置：查看附近的合作机会、实习考勤打卡 (location: nearby opportunities and check-in)",
        purpose: LOCATION,
    }]
}

/// How precisely a person lets their location be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Under `location`: the point as the device reported it.
    Precise,
    /// Under `location_coarse` only: the point rounded to ~1 km before anything uses it.
    Coarse,
}

/// The person's location consent, for nearby search and check-in: precise, coarse, or neither
/// (`CONSENT_REQUIRED` naming `location`, COL-4).
pub async fn location_precision(ctx: &AppContext, user: Uuid) -> AppResult<Precision> {
    let gate = &ctx.modules.privacy().consent;
    match gate.require(ctx, user, LOCATION, None).await {
        Ok(()) => Ok(Precision::Precise),
        Err(e) if e.code() == xqt_kernel::ErrorCode::ConsentRequired => {
            match gate.require(ctx, user, LOCATION_COARSE, None).await {
                Ok(()) => Ok(Precision::Coarse),
                Err(c) if c.code() == xqt_kernel::ErrorCode::ConsentRequired => Err(e),
                Err(c) => Err(c),
            }
        }
        Err(e) => Err(e),
    }
}

struct HeldAgreements;

#[async_trait]
impl Expire for HeldAgreements {
    /// `older_than` is now: the rule's period is each agreement's own `hold_until`.
    async fn expire(&self, ctx: &AppContext, older_than: DateTime<Utc>) -> AppResult<u64> {
        agreements::purge_held_until(ctx, older_than).await
    }
}

pub fn retention_rules() -> Vec<RetentionRule> {
    vec![RetentionRule {
        name: "agreements_past_legal_hold",
        category: CAT_AGREEMENTS,
        keep_for: Duration::zero(),
        action: RetentionAction::Delete,
        apply: Arc::new(HeldAgreements),
    }]
}

pub struct CooperationData;

#[async_trait]
impl PersonalData for CooperationData {
    async fn export(&self, ctx: &AppContext, user: Uuid) -> AppResult<serde_json::Value> {
        let posts = post::Entity::find().filter(post::Column::AuthorId.eq(user)).all(&ctx.db).await?;
        let ids: Vec<Uuid> = posts.iter().map(|p| p.id).collect();
        let revisions = revision::Entity::find().filter(revision::Column::PostId.is_in(ids)).all(&ctx.db).await?;
        Ok(json!({
            "posts": posts,
            "postRevisions": revisions,
            "applications": applications::of_applicant(ctx, user).await?,
            "favourites": favourites::list(ctx, user).await?,
            "programmes": programmes::of_member(ctx, user).await?,
            "agreements": agreements::of_student(ctx, user).await?,
        }))
    }

    /// Favourites and the person's own talent profile go; their open applications are withdrawn
    /// and their messages dropped; they leave their programmes. Posts written for an
    /// organisation stay with it, and signed agreements stay under legal hold (CAN-5).
    async fn erase(&self, ctx: &AppContext, user: Uuid, erasure: &Erasure) -> AppResult<u64> {
        let mut touched = 0;
        if erasure.covers(CAT_FAVOURITES) {
            touched += favourites::delete_for(ctx, user).await?;
        }
        if erasure.covers(CAT_POSTS) {
            touched += post::Entity::delete_many()
                .filter(post::Column::AuthorId.eq(user))
                .filter(
                    sea_orm::Condition::any()
                        .add(post::Column::OrganizationId.is_null())
                        .add(post::Column::State.eq(PostState::Draft)),
                )
                .exec(&ctx.db)
                .await?
                .rows_affected;
        }
        if erasure.covers(CAT_APPLICATIONS) {
            touched += applications::forget_applicant(ctx, user).await?;
        }
        if erasure.covers(CAT_PROGRAMMES) {
            touched += programmes::leave_all(ctx, user).await?;
        }
        if erasure.covers(CAT_AGREEMENTS) {
            touched += agreements::forget_drafts(ctx, user).await?;
        }
        Ok(touched)
    }
}
