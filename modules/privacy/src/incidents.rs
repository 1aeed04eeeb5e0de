//! Security incidents (SEC-7; PIPL Art. 57): operators record what happened, which data, why,
//! the impact, the measures taken, what people can do, the remedies and whom to contact; each
//! affected person is told in-app with all of it; a public notice covers those who cannot be
//! reached; the report to the regulator is recorded.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;
use xqt_kernel::{AppContext, AppResult, ids};
use xqt_notifications::inbox::{NewNotification, notify};

use crate::entity::{incident, incident_notice};
use crate::error::PrivacyError;

const FIELD_MAX: usize = 2000;
/// People told per call.
pub const NOTIFY_MAX: usize = 1000;

pub struct NewIncident {
    pub title: String,
    pub what_happened: String,
    pub data_types: String,
    pub cause: String,
    pub impact: String,
    pub measures: String,
    pub advice: String,
    pub remedies: String,
    pub contact: String,
    pub occurred_at: DateTime<Utc>,
}

fn required(field: &'static str, value: &str, max: usize) -> AppResult<String> {
    Ok(xqt_kernel::text::Text::block(1, max)
        .check(value)
        .map_err(|message| PrivacyError::Invalid { field, message })?)
}

pub async fn record(ctx: &AppContext, operator: Uuid, new: NewIncident) -> AppResult<incident::Model> {
    if new.occurred_at > ctx.clock.now() {
        return Err(PrivacyError::Invalid { field: "occurredAt", message: "not in the future".into() }.into());
    }
    let row = incident::ActiveModel {
        id: Set(ids::new_id()),
        title: Set(required("title", &new.title, 200)?),
        what_happened: Set(required("whatHappened", &new.what_happened, FIELD_MAX)?),
        data_types: Set(required("dataTypes", &new.data_types, FIELD_MAX)?),
        cause: Set(required("cause", &new.cause, FIELD_MAX)?),
        impact: Set(required("impact", &new.impact, FIELD_MAX)?),
        measures: Set(required("measures", &new.measures, FIELD_MAX)?),
        advice: Set(required("advice", &new.advice, FIELD_MAX)?),
        remedies: Set(required("remedies", &new.remedies, FIELD_MAX)?),
        contact: Set(required("contact", &new.contact, 200)?),
        occurred_at: Set(new.occurred_at),
        recorded_at: Set(ctx.clock.now()),
        recorded_by: Set(operator),
        public_notice: Set(None),
        public_notice_at: Set(None),
        regulator_authority: Set(None),
        regulator_reference: Set(None),
        regulator_reported_at: Set(None),
    }
    .insert(&ctx.db)
    .await?;
    tracing::warn!(incident = %row.id, title = %row.title, "security incident recorded");
    Ok(row)
}

pub async fn find(ctx: &AppContext, id: Uuid) -> AppResult<incident::Model> {
    incident::Entity::find_by_id(id).one(&ctx.db).await?.ok_or_else(|| PrivacyError::NotFound("incident").into())
}

/// The notice an affected person receives: every Art. 57 field.
pub fn notice_body(i: &incident::Model) -> String {
    format!(
        "发生了什么：{}\n涉及的个人信息：{}\n原因：{}\n可能的影响：{}\n我们已采取的措施：{}\n您可以采取的措施：{}\n补救措施：{}\n联系我们：{}",
        i.what_happened, i.data_types, i.cause, i.impact, i.measures, i.advice, i.remedies, i.contact
    )
}

/// Tells each affected person (once each, however often this is called); returns how many
/// were told now.
pub async fn notify_affected(ctx: &AppContext, id: Uuid, people: &[Uuid]) -> AppResult<u64> {
    if people.is_empty() || people.len() > NOTIFY_MAX {
        return Err(
            PrivacyError::Invalid { field: "userIds", message: format!("1 to {NOTIFY_MAX} people per call") }.into()
        );
    }
    let incident = find(ctx, id).await?;
    let mut told = 0;
    for &user in people {
        if xqt_accounts::users::find(ctx, user).await?.is_none() {
            continue;
        }
        let row = incident_notice::ActiveModel {
            id: Set(ids::new_id()),
            incident_id: Set(id),
            user_id: Set(user),
            notified_at: Set(ctx.clock.now()),
        };
        let inserted = incident_notice::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([incident_notice::Column::IncidentId, incident_notice::Column::UserId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&ctx.db)
            .await?;
        if inserted == 0 {
            continue;
        }
        let title: String = format!("安全事件告知：{}", incident.title).chars().take(100).collect();
        let body: String = notice_body(&incident).chars().take(2000).collect();
        let n = NewNotification {
            user_id: user,
            kind: xqt_notifications::NotificationKind::PrivacyIncident,
            title: title.clone(),
            body,
        };
        notify(ctx, n).await?;
        // By push too, pointing to the full notice in the app.
        let short = format!("{}。详情见应用内通知。", incident.what_happened).chars().take(200).collect::<String>();
        let push = xqt_notifications::push::Push {
            kind: xqt_notifications::NotificationKind::PrivacyIncident,
            title: &title,
            body: &short,
            collapse_key: None,
        };
        xqt_notifications::push::gateway(ctx).push(ctx, user, &push).await?;
        told += 1;
    }
    Ok(told)
}

/// Publishes the announcement for people who cannot be reached individually.
pub async fn publish_notice(ctx: &AppContext, id: Uuid, text: &str) -> AppResult<incident::Model> {
    let text = required("notice", text, 10_000)?;
    find(ctx, id).await?;
    incident::Entity::update_many()
        .col_expr(incident::Column::PublicNotice, Expr::value(text))
        .col_expr(incident::Column::PublicNoticeAt, Expr::value(ctx.clock.now()))
        .filter(incident::Column::Id.eq(id))
        .exec(&ctx.db)
        .await?;
    find(ctx, id).await
}

/// Records the report made to the regulator (authority, its reference, when).
pub async fn record_regulator_report(
    ctx: &AppContext,
    id: Uuid,
    authority: &str,
    reference: &str,
    reported_at: DateTime<Utc>,
) -> AppResult<incident::Model> {
    let (authority, reference) = (required("authority", authority, 200)?, required("reference", reference, 200)?);
    find(ctx, id).await?;
    incident::Entity::update_many()
        .col_expr(incident::Column::RegulatorAuthority, Expr::value(authority))
        .col_expr(incident::Column::RegulatorReference, Expr::value(reference))
        .col_expr(incident::Column::RegulatorReportedAt, Expr::value(reported_at))
        .filter(incident::Column::Id.eq(id))
        .exec(&ctx.db)
        .await?;
    find(ctx, id).await
}

/// Every incident, newest first (operators).
pub async fn all(ctx: &AppContext) -> AppResult<Vec<incident::Model>> {
    Ok(incident::Entity::find().order_by_desc(incident::Column::Id).all(&ctx.db).await?)
}

/// Incidents with a published notice, newest first (public).
pub async fn public_notices(ctx: &AppContext) -> AppResult<Vec<incident::Model>> {
    Ok(incident::Entity::find()
        .filter(incident::Column::PublicNoticeAt.is_not_null())
        .order_by_desc(incident::Column::PublicNoticeAt)
        .all(&ctx.db)
        .await?)
}

/// How many people were told about an incident.
pub async fn notified_count(ctx: &AppContext, id: Uuid) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(incident_notice::Entity::find().filter(incident_notice::Column::IncidentId.eq(id)).count(&ctx.db).await?)
}
