//! Usage analytics (COL-7): events are stored only under the analytics consent and dropped
//! otherwise; the person can delete theirs at any time.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;
use xqt_kernel::{AppContext, AppResult, ErrorCode, ids};

use crate::entity::analytics_event;
use crate::error::PrivacyError;
use crate::purposes::ANALYTICS;

pub const MAX_EVENTS: usize = 50;
const NAME_MAX: usize = 64;
const PROPERTIES_MAX_BYTES: usize = 2048;

pub struct NewEvent {
    /// e.g. `page_view`, `click:apply_button`.
    pub name: String,
    /// A JSON object of small facts (page, element); no free text from the person.
    pub properties: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ingested {
    pub stored: u64,
    /// Dropped unread because the analytics consent is not granted.
    pub dropped: u64,
}

fn validate(events: &[NewEvent], now: DateTime<Utc>) -> Result<(), PrivacyError> {
    let invalid = |field, message: String| PrivacyError::Invalid { field, message };
    if events.is_empty() || events.len() > MAX_EVENTS {
        return Err(invalid("events", format!("1 to {MAX_EVENTS} events per call")));
    }
    for e in events {
        let name_ok = !e.name.is_empty()
            && e.name.len() <= NAME_MAX
            && e.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.:/-".contains(&b));
        if !name_ok {
            return Err(invalid("events.name", "1 to 64 of a-z, 0-9 and _ . : / -".into()));
        }
        if !e.properties.is_object() || e.properties.to_string().len() > PROPERTIES_MAX_BYTES {
            return Err(invalid("events.properties", format!("a JSON object of at most {PROPERTIES_MAX_BYTES} bytes")));
        }
        if e.occurred_at > now + Duration::minutes(5) || e.occurred_at < now - Duration::days(7) {
            return Err(invalid("events.occurredAt", "within the last 7 days".into()));
        }
    }
    Ok(())
}

/// Stores the events if the person consented to analytics; otherwise drops them all.
pub async fn ingest(ctx: &AppContext, user: Uuid, events: Vec<NewEvent>) -> AppResult<Ingested> {
    let now = ctx.clock.now();
    validate(&events, now)?;
    let n = events.len() as u64;
    match ctx.modules.privacy().consent.require(ctx, user, ANALYTICS, None).await {
        Ok(()) => {}
        Err(e) if e.code() == ErrorCode::ConsentRequired => return Ok(Ingested { stored: 0, dropped: n }),
        Err(e) => return Err(e),
    }
    let rows = events.into_iter().map(|e| analytics_event::ActiveModel {
        id: Set(ids::new_id()),
        user_id: Set(user),
        name: Set(e.name),
        properties: Set(e.properties.to_string()),
        occurred_at: Set(e.occurred_at),
        received_at: Set(now),
    });
    analytics_event::Entity::insert_many(rows).exec(&ctx.db).await?;
    Ok(Ingested { stored: n, dropped: 0 })
}

pub async fn of(ctx: &AppContext, user: Uuid) -> AppResult<Vec<analytics_event::Model>> {
    Ok(analytics_event::Entity::find()
        .filter(analytics_event::Column::UserId.eq(user))
        .order_by_asc(analytics_event::Column::Id)
        .all(&ctx.db)
        .await?)
}

pub async fn delete_for(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    Ok(analytics_event::Entity::delete_many()
        .filter(analytics_event::Column::UserId.eq(user))
        .exec(&ctx.db)
        .await?
        .rows_affected)
}

pub async fn delete_before(ctx: &AppContext, cutoff: DateTime<Utc>) -> AppResult<u64> {
    Ok(analytics_event::Entity::delete_many()
        .filter(analytics_event::Column::ReceivedAt.lt(cutoff))
        .exec(&ctx.db)
        .await?
        .rows_affected)
}
