//! Ceasing operation (POL-4; M 一, end): collection stops everywhere at once, every account is
//! told, and everyone's data is queued for erasure (the runner carries it out; what the law
//! keeps for a period stays until it ends).

use uuid::Uuid;
use xqt_kernel::{AppContext, AppResult};
use xqt_notifications::inbox::{NewNotification, notify};

use crate::consent;
use crate::error::PrivacyError;

/// Accounts handled per batch when telling or erasing everyone.
const BATCH: u64 = 500;

/// Sends one notification to every account that is not erased; returns how many.
pub async fn notify_everyone(
    ctx: &AppContext,
    kind: xqt_notifications::NotificationKind,
    title: &str,
    body: &str,
) -> AppResult<u64> {
    let (mut after, mut sent) = (None, 0u64);
    loop {
        let batch = xqt_accounts::users::account_ids_after(ctx, after, BATCH).await?;
        let Some(last) = batch.last().copied() else { break };
        for user_id in batch {
            let n = NewNotification {
                user_id,
                kind,
                title: title.chars().take(100).collect(),
                body: body.chars().take(2000).collect(),
            };
            notify(ctx, n).await?;
            sent += 1;
        }
        tracing::info!(%kind, sent, "notice to everyone: progress");
        after = Some(last);
    }
    Ok(sent)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ceased {
    /// False when operation had already ceased (then nobody is told twice).
    pub newly: bool,
    pub notified: u64,
    pub erasures_queued: u64,
}

/// Stops collection, tells every account, and queues everyone's erasure. Safe to run again:
/// a second run only queues erasure for accounts that do not have it queued yet.
pub async fn cease(ctx: &AppContext, notice: &str) -> AppResult<Ceased> {
    let notice = &xqt_kernel::text::Text::block(1, 2000)
        .check(notice)
        .map_err(|m| PrivacyError::Invalid { field: "notice", message: format!("what users are told, {m}") })?;
    let newly = xqt_kernel::ceasing::cease(ctx).await?;
    let notified = if newly {
        notify_everyone(ctx, xqt_notifications::NotificationKind::ServiceCeased, "校企通停止运营通知", notice).await?
    } else {
        0
    };
    let (mut after, mut queued): (Option<Uuid>, u64) = (None, 0);
    loop {
        let batch = xqt_accounts::users::account_ids_after(ctx, after, BATCH).await?;
        let Some(last) = batch.last().copied() else { break };
        for user in batch {
            let already = consent::queued_erasures(ctx, user).await?.iter().any(|q| q.reason == "service_ceased");
            if !already {
                consent::queue_erasure(ctx, user, "*", "service_ceased").await?;
                queued += 1;
            }
        }
        after = Some(last);
    }
    tracing::warn!(notified, queued, "operation ceased: collection stopped, erasure queued for everyone");
    Ok(Ceased { newly, notified, erasures_queued: queued })
}
