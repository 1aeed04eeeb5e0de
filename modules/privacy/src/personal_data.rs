//! What the privacy module holds about a person: export, erasure, retention.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use xqt_kernel::config::Config;
use xqt_kernel::module::{Erasure, Expire, PersonalData, RetentionAction, RetentionRule, StartupTask};
use xqt_kernel::{AppContext, AppResult};

use crate::entity::consent_state;
use crate::purposes::{CAT_ANALYTICS, CAT_CONSENTS, CAT_SHARING, CAT_VISIBILITY, RECORDS_DAYS};
use crate::{analytics, audit, consent, sharing, visibility};

pub struct PrivacyData;

#[async_trait]
impl PersonalData for PrivacyData {
    async fn export(&self, ctx: &AppContext, user: Uuid) -> AppResult<serde_json::Value> {
        let analytics: Vec<_> = analytics::of(ctx, user)
            .await?
            .into_iter()
            .map(|e| {
                json!({ "name": e.name, "properties": serde_json::from_str::<serde_json::Value>(&e.properties).unwrap_or_default(),
                    "occurredAt": e.occurred_at, "receivedAt": e.received_at })
            })
            .collect();
        Ok(json!({
            "consentRecords": consent::records(ctx, user).await?,
            "consents": consent::states(ctx, user).await?,
            "analyticsEvents": analytics,
            "sharingRecords": sharing::ledger(ctx, user).await?,
            "profileVisibility": visibility::settings(ctx, user).await?,
            "accessToMyData": audit::list(ctx, Some(user), 200).await?,
            "queuedErasures": consent::queued_erasures(ctx, user).await?,
        }))
    }

    /// Consent records, sharing records and the audit log are proof the law asks to keep; they
    /// stay (under legal hold once Privacy II lands) and are purged by retention.
    async fn erase(&self, ctx: &AppContext, user: Uuid, erasure: &Erasure) -> AppResult<u64> {
        let mut touched = 0;
        if erasure.covers(CAT_ANALYTICS) {
            touched += analytics::delete_for(ctx, user).await?;
        }
        if erasure.covers(CAT_VISIBILITY) {
            touched += visibility::delete_for(ctx, user).await?;
        }
        if erasure.covers(CAT_CONSENTS) {
            touched += consent_state::Entity::delete_many()
                .filter(consent_state::Column::UserId.eq(user))
                .exec(&ctx.db)
                .await?
                .rows_affected;
        }
        xqt_kernel::privacy::guard_state_changed(ctx, user).await?;
        Ok(touched)
    }
}

struct AnalyticsRetention;

#[async_trait]
impl Expire for AnalyticsRetention {
    async fn expire(&self, ctx: &AppContext, older_than: DateTime<Utc>) -> AppResult<u64> {
        analytics::delete_before(ctx, older_than).await
    }
}

struct SharingRetention;

#[async_trait]
impl Expire for SharingRetention {
    async fn expire(&self, ctx: &AppContext, older_than: DateTime<Utc>) -> AppResult<u64> {
        sharing::delete_ledger_before(ctx, older_than).await
    }
}

pub fn retention_rules(config: &Config) -> Vec<RetentionRule> {
    vec![
        RetentionRule {
            name: "analytics_events",
            category: CAT_ANALYTICS,
            keep_for: Duration::days(config.section::<crate::config::PrivacyConfig>().analytics_retention_days),
            action: RetentionAction::Delete,
            apply: Arc::new(AnalyticsRetention),
        },
        RetentionRule {
            name: "sharing_records",
            category: CAT_SHARING,
            keep_for: Duration::days(i64::from(RECORDS_DAYS)),
            action: RetentionAction::Delete,
            apply: Arc::new(SharingRetention),
        },
    ]
}

/// Loads the first policy versions at start-up.
pub struct SeedPolicies;

#[async_trait]
impl StartupTask for SeedPolicies {
    async fn run(&self, ctx: &AppContext) -> AppResult<()> {
        crate::policies::seed(ctx).await.map(|_| ())
    }
}
