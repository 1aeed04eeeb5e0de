//! The privacy module's background work: carrying out queued erasures (withdrawn consents, a
//! guardian's withdrawal), retention of every module's data (SEC-2), and erasing children's
//! accounts no guardian confirmed in time (MIN-2).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Duration, Months};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use xqt_kernel::config::Config;
use xqt_kernel::jobs::{JobHandler, Schedule};
use xqt_kernel::module::Erasure;
use xqt_kernel::{AppContext, AppResult};

use crate::consent;
use crate::entity::erasure_request;
use crate::purposes::GUARDIAN;
use crate::requests::deletable_categories;
use crate::standing::{MINOR_AGE, today};

pub const ERASURE: &str = "privacy.erasure";
pub const RETENTION: &str = "privacy.retention";
pub const GUARDIAN_EXPIRY: &str = "privacy.guardian_expiry";
pub const CANCELLATIONS: &str = "privacy.cancellations";
/// Queued erasures carried out per run.
const ERASURE_BATCH: u64 = 100;

pub fn handlers() -> Vec<Arc<dyn JobHandler>> {
    vec![Arc::new(Erasures), Arc::new(Retention), Arc::new(GuardianExpiry), Arc::new(Cancellations)]
}

pub fn schedules(_config: &Config) -> Vec<Schedule> {
    vec![
        Schedule { kind: ERASURE, every: Duration::minutes(1) },
        Schedule { kind: CANCELLATIONS, every: Duration::minutes(1) },
        Schedule { kind: GUARDIAN_EXPIRY, every: Duration::hours(1) },
        Schedule { kind: RETENTION, every: Duration::days(1) },
    ]
}

/// What `*` erases: everything a person may have deleted; what the law keeps stays.
fn erasure_of(categories: &str, ctx: &AppContext) -> Erasure {
    let chosen: Vec<String> = if categories == "*" {
        deletable_categories(ctx).into_iter().map(str::to_owned).collect()
    } else {
        categories.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect()
    };
    Erasure::Categories(chosen)
}

/// Carries out queued erasures, oldest first. Erasing twice is harmless, so a run cut short is
/// simply repeated.
pub async fn run_erasures(ctx: &AppContext) -> AppResult<u64> {
    let due = erasure_request::Entity::find()
        .filter(erasure_request::Column::CompletedAt.is_null())
        .order_by_asc(erasure_request::Column::CreatedAt)
        .limit(ERASURE_BATCH)
        .all(&ctx.db)
        .await?;
    let mut done = 0;
    for row in due {
        if row.categories == "*" {
            // The whole account goes: nothing it signed in with may keep working.
            xqt_accounts::sessions::end_all_sessions(
                ctx,
                row.user_id,
                xqt_accounts::entity::security_event::SecurityEventKind::Erased,
            )
            .await?;
        }
        let touched: u64 = ctx.modules.erase(ctx, row.user_id, &erasure_of(&row.categories, ctx)).await?.values().sum();
        erasure_request::Entity::update_many()
            .col_expr(erasure_request::Column::CompletedAt, Expr::value(ctx.clock.now()))
            .filter(erasure_request::Column::Id.eq(row.id))
            .exec(&ctx.db)
            .await?;
        tracing::info!(user = %row.user_id, reason = %row.reason, touched, "queued erasure carried out");
        done += 1;
    }
    Ok(done)
}

/// Children whose guardian has not confirmed within the configured period: every session ends
/// and everything about them is queued for erasure.
pub async fn expire_unconfirmed_children(ctx: &AppContext) -> AppResult<u64> {
    let today = today(ctx);
    let Some(born_after) = today.checked_sub_months(Months::new(12 * MINOR_AGE)) else { return Ok(0) };
    let cutoff =
        ctx.clock.now() - Duration::days(ctx.config.section::<crate::config::PrivacyConfig>().guardian_confirm_days);
    let mut queued = 0;
    // A pending child can change nothing, so `updated_at` is when the birth date made them one.
    for (user, since) in xqt_accounts::users::born_after(ctx, born_after).await? {
        if since > cutoff || consent::state_of(ctx, user, GUARDIAN, None).await?.is_some() {
            continue;
        }
        let already = erasure_request::Entity::find()
            .filter(erasure_request::Column::UserId.eq(user))
            .filter(erasure_request::Column::Reason.eq("guardian_not_confirmed"))
            .one(&ctx.db)
            .await?;
        if already.is_some() {
            continue;
        }
        xqt_accounts::sessions::end_all_sessions(
            ctx,
            user,
            xqt_accounts::entity::security_event::SecurityEventKind::GuardianNotConfirmed,
        )
        .await?;
        consent::queue_erasure(ctx, user, "*", "guardian_not_confirmed").await?;
        queued += 1;
    }
    Ok(queued)
}

struct Erasures;

#[async_trait]
impl JobHandler for Erasures {
    fn kind(&self) -> &'static str {
        ERASURE
    }
    async fn run(&self, ctx: &AppContext, _: &serde_json::Value) -> AppResult<()> {
        run_erasures(ctx).await.map(|_| ())
    }
}

struct Retention;

#[async_trait]
impl JobHandler for Retention {
    fn kind(&self) -> &'static str {
        RETENTION
    }
    async fn run(&self, ctx: &AppContext, _: &serde_json::Value) -> AppResult<()> {
        ctx.modules.run_retention(ctx, ctx.clock.now()).await.map(|_| ())
    }
}

struct GuardianExpiry;

#[async_trait]
impl JobHandler for GuardianExpiry {
    fn kind(&self) -> &'static str {
        GUARDIAN_EXPIRY
    }
    async fn run(&self, ctx: &AppContext, _: &serde_json::Value) -> AppResult<()> {
        expire_unconfirmed_children(ctx).await?;
        // Erase at once rather than wait for the next erasure run.
        run_erasures(ctx).await.map(|_| ())
    }
}

struct Cancellations;

#[async_trait]
impl JobHandler for Cancellations {
    fn kind(&self) -> &'static str {
        CANCELLATIONS
    }
    async fn run(&self, ctx: &AppContext, _: &serde_json::Value) -> AppResult<()> {
        crate::requests::run_cancellations(ctx).await.map(|_| ())
    }
}
