//! What attendance holds about a person, the purpose it is held for, export and erasure, and
//! the retention that takes precise coordinates away after the configured period (SEC-2).
//! Location itself is cooperation's registered purpose (`location`, `location_coarse`, and the
//! `location` client permission): one consent covers nearby search and check-in, as the
//! policies describe them together.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use xqt_kernel::module::{Erasure, Expire, LegalBasis, PersonalData, Purpose, RetentionAction, RetentionRule};
use xqt_kernel::{AppContext, AppResult};

use crate::checkins;
use crate::config::AttendanceConfig;
use crate::entity::record;
use crate::{groups, makeups, photos};

pub const ATTENDANCE: &str = "attendance";

/// Check-ins and days: times, results, explanations, the site and whether inside.
pub const CAT_RECORDS: &str = "attendance_records";
pub const CAT_MAKE_UPS: &str = "make_up_requests";
pub const CAT_PHOTOS: &str = "field_photos";
/// What the device reported with a check: accuracy, Wi-Fi BSSID, mock-location flag (COL-9).
pub const CAT_DEVICE: &str = "check_in_device";
/// Coordinates of a check-in: cooperation's `location` category, under the location consent.
pub const CAT_LOCATION: &str = xqt_cooperation::personal_data::CAT_LOCATION;

pub fn purposes() -> Vec<Purpose> {
    vec![Purpose {
        id: ATTENDANCE,
        description: "考勤打卡：按考勤组规则记录打卡时间、结果及说明、外勤备注与照片、补卡申请与统计，仅本人与考勤组管理员可见 (attendance: check times, results and their explanations, field notes and photos, make-up requests and statistics, seen by the person and the group's admins only)",
        categories: vec![CAT_RECORDS, CAT_MAKE_UPS, CAT_PHOTOS, CAT_DEVICE],
        sensitive: false,
        legal_basis: LegalBasis::Contract,
        separate_consent: false,
        retention_days: None,
    }]
}

struct CoarsenCoordinates;

#[async_trait]
impl Expire for CoarsenCoordinates {
    async fn expire(&self, ctx: &AppContext, older_than: DateTime<Utc>) -> AppResult<u64> {
        checkins::coarsen_before(ctx, older_than).await
    }
}

pub fn retention_rules(config: &xqt_kernel::config::Config) -> Vec<RetentionRule> {
    vec![RetentionRule {
        name: "check_in_coordinates",
        category: CAT_LOCATION,
        keep_for: Duration::days(config.section::<AttendanceConfig>().coordinates_keep_days),
        action: RetentionAction::Coarsen,
        apply: Arc::new(CoarsenCoordinates),
    }]
}

pub struct AttendanceData;

#[async_trait]
impl PersonalData for AttendanceData {
    async fn export(&self, ctx: &AppContext, user: Uuid) -> AppResult<serde_json::Value> {
        let records = record::Entity::find().filter(record::Column::UserId.eq(user)).all(&ctx.db).await?;
        let days =
            crate::entity::day::Entity::find().filter(crate::entity::day::Column::UserId.eq(user)).all(&ctx.db).await?;
        Ok(json!({
            "groups": groups::memberships(ctx, user).await?,
            "checkIns": records,
            "days": days,
            "makeUpRequests": makeups::of_user(ctx, user).await?,
            "fieldPhotos": photos::of_user(ctx, user).await?,
        }))
    }

    /// Everything goes with the account; withdrawing the location consent takes the
    /// coordinates (and what the device reported) off the person's check-ins.
    async fn erase(&self, ctx: &AppContext, user: Uuid, erasure: &Erasure) -> AppResult<u64> {
        let mut touched = 0;
        if erasure.covers(CAT_PHOTOS) {
            touched += photos::delete_for(ctx, user).await?;
        }
        if erasure.covers(CAT_MAKE_UPS) {
            touched += makeups::delete_for(ctx, user).await?;
        }
        if erasure.covers(CAT_RECORDS) {
            touched += checkins::delete_for(ctx, user).await?;
            touched += groups::leave_all(ctx, user).await?;
        }
        if erasure.covers(CAT_LOCATION) || erasure.covers(CAT_DEVICE) {
            touched += checkins::coarsen_for(ctx, user).await?;
        }
        Ok(touched)
    }
}

/// Wi-Fi state: a check-in matched against the site's access points (BSSID), and for push.
pub fn client_permissions() -> Vec<xqt_kernel::module::ClientPermission> {
    vec![xqt_kernel::module::ClientPermission {
        id: "wifi_state",
        description: "获取与改变 WiFi 状态：打卡时核对考勤点的 WLAN 热点，推送服务判断网络 (Wi-Fi state: match a site's access point at check-in; push; M 三(一)4)",
        purpose: ATTENDANCE,
    }]
}
