//! Agreements: generated from a programme's fields, sent to the e-signature provider, their
//! state mirroring the provider's flow (draft → signing → signed | rejected | revoked | expired),
//! moved only by verified callbacks, once per (flow, event). Only what the provider needs is
//! sent — the organisations' names, and the signers' names and phones — and each person's
//! disclosure is written to the sharing ledger first. Agreements being signed block their
//! signers' cancellation; signed ones are kept under legal hold after it (CAN-5).

use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set, SqlErr};
use serde_json::json;
use uuid::Uuid;
use xqt_kernel::module::{Blocker, CancellationBlockers, Inbound, Webhook, WebhookReply};
use xqt_kernel::privacy::Disclosure;
use xqt_kernel::{AppContext, AppResult, ids};
use xqt_notifications::NotificationKind;
use xqt_notifications::inbox::{NewNotification, notify};

use crate::config::{CooperationConfig, SignatureProviderKind};
use crate::entity::agreement::{self, AgreementState};
use crate::entity::agreement_event;
use crate::entity::programme::{self, ProgrammeState};
use crate::entity::programme_member::MemberState;
use crate::error::{CooperationError, invalid, state};
use crate::personal_data::{AGREEMENTS, CAT_SIGNERS};
use crate::programmes;
use crate::signature::{self, Document, Signer, esign};

/// The partner a provider's disclosures are recorded against (created on first use).
pub fn provider_partner_name(kind: SignatureProviderKind) -> &'static str {
    match kind {
        SignatureProviderKind::Builtin => "内置电子签名（开发用）",
        SignatureProviderKind::Esign => "e签宝",
    }
}

async fn provider_partner(ctx: &AppContext, kind: SignatureProviderKind) -> AppResult<Uuid> {
    let name = provider_partner_name(kind);
    if let Some(p) = xqt_accounts::partners::find_partner(ctx, name).await? {
        return Ok(p.id);
    }
    match xqt_accounts::partners::create_partner(ctx, name).await {
        Ok(p) => Ok(p.id),
        // Another instance created it meanwhile; any other failure is the creation's own.
        Err(e) => match xqt_accounts::partners::find_partner(ctx, name).await? {
            Some(p) => Ok(p.id),
            None => Err(e),
        },
    }
}

/// Whether the person runs the programme on either side: a supervisor or a manager.
async fn runs(ctx: &AppContext, p: &programme::Model, user: Uuid) -> AppResult<bool> {
    if p.school_supervisor_id == user || p.enterprise_supervisor_id == user {
        return Ok(true);
    }
    for org in [p.school_id, p.enterprise_id] {
        if xqt_accounts::organizations::role_of(ctx, org, user).await?.is_some_and(|r| r.manages()) {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn name_of(ctx: &AppContext, user: Uuid, field: &'static str) -> AppResult<(String, String)> {
    let account = xqt_accounts::users::find(ctx, user).await?.ok_or(CooperationError::NotFound("account"))?;
    let phone = xqt_accounts::users::phone_of(ctx, &account)?
        .ok_or_else(|| invalid(field, "this person has no phone to sign with"))?;
    let name = xqt_accounts::verification::verified_name(ctx, user)
        .await?
        .ok_or_else(|| invalid(field, "this person's real name is not verified"))?;
    Ok((name, phone.as_str().to_owned()))
}

/// A draft agreement for the programme (between its two organisations, and the student when
/// one is named), its fields taken from the programme.
pub async fn create(
    ctx: &AppContext,
    user: Uuid,
    programme_id: Uuid,
    student: Option<Uuid>,
) -> AppResult<agreement::Model> {
    let p = programmes::visible(ctx, user, programme_id).await?;
    if p.state != ProgrammeState::Active {
        return Err(state("programme", p.state, "active").into());
    }
    if !runs(ctx, &p, user).await? {
        return Err(
            CooperationError::NotAllowed("a supervisor or manager of the programme drafts its agreements").into()
        );
    }
    if let Some(s) = student
        && programmes::membership(ctx, p.id, s).await?.is_none_or(|m| m.state != MemberState::Joined)
    {
        return Err(invalid("studentId", "a student who joined the programme").into());
    }
    let org = |id| async move {
        Ok::<_, xqt_kernel::AppError>(
            xqt_accounts::organizations::find(ctx, id).await?.map(|o| o.name).unwrap_or_default(),
        )
    };
    let sites: Vec<String> = programmes::sites(ctx, p.id).await?.into_iter().map(|s| s.name).collect();
    let mut fields = vec![
        ("programmeTitle".to_owned(), p.title.clone()),
        ("schoolName".to_owned(), org(p.school_id).await?),
        ("enterpriseName".to_owned(), org(p.enterprise_id).await?),
        ("period".to_owned(), format!("{} 至 {}", p.starts_on, p.ends_on)),
        ("sites".to_owned(), sites.join("、")),
    ];
    if let Some(s) = student {
        fields.push(("studentName".to_owned(), name_of(ctx, s, "studentId").await?.0));
    }
    let title = if student.is_some() { "学生实习三方协议" } else { "校企合作实习协议" };
    let now = ctx.clock.now();
    let a = agreement::ActiveModel {
        id: Set(ids::new_id()),
        programme_id: Set(p.id),
        student_id: Set(student),
        provider: Set(String::new()),
        flow_id: Set(None),
        state: Set(AgreementState::Draft),
        title: Set(title.into()),
        fields: Set(serde_json::to_string(&fields.into_iter().collect::<std::collections::BTreeMap<_, _>>())
            .map_err(xqt_kernel::AppError::internal)?),
        created_by: Set(user),
        created_at: Set(now),
        updated_at: Set(now),
        signed_at: Set(None),
        hold_until: Set(None),
    }
    .insert(&ctx.db)
    .await?;
    Ok(a)
}

pub async fn find(ctx: &AppContext, id: Uuid) -> AppResult<Option<agreement::Model>> {
    Ok(agreement::Entity::find_by_id(id).one(&ctx.db).await?)
}

/// The agreement, for the programme's members and managers.
pub async fn visible(ctx: &AppContext, user: Uuid, id: Uuid) -> AppResult<agreement::Model> {
    let a = find(ctx, id).await?.ok_or(CooperationError::NotFound("agreement"))?;
    programmes::visible(ctx, user, a.programme_id).await.map_err(|_| CooperationError::NotFound("agreement"))?;
    Ok(a)
}

pub async fn of_programme(ctx: &AppContext, programme: Uuid) -> AppResult<Vec<agreement::Model>> {
    Ok(agreement::Entity::find()
        .filter(agreement::Column::ProgrammeId.eq(programme))
        .order_by_asc(agreement::Column::Id)
        .all(&ctx.db)
        .await?)
}

/// Sends a draft to the provider for signing: the ledger first, then the provider, then the
/// state (a provider failure leaves the draft as it was, to send again).
pub async fn send(ctx: &AppContext, user: Uuid, id: Uuid) -> AppResult<agreement::Model> {
    let a = visible(ctx, user, id).await?;
    let p = programmes::find(ctx, a.programme_id).await?.ok_or(CooperationError::NotFound("programme"))?;
    if !runs(ctx, &p, user).await? {
        return Err(
            CooperationError::NotAllowed("a supervisor or manager of the programme sends its agreements").into()
        );
    }
    if a.state != AgreementState::Draft {
        return Err(state("agreement", a.state, "a draft").into());
    }
    let config = ctx.config.section::<CooperationConfig>();
    let fields: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&a.fields).map_err(xqt_kernel::AppError::internal)?;
    let org_name = |key: &str| fields.get(key).cloned().unwrap_or_default();
    let (school_name, school_phone) = name_of(ctx, p.school_supervisor_id, "schoolSupervisorId").await?;
    let (ent_name, ent_phone) = name_of(ctx, p.enterprise_supervisor_id, "enterpriseSupervisorId").await?;
    let mut signers = vec![
        Signer::Organization {
            name: org_name("schoolName"),
            transactor_name: school_name,
            transactor_phone: school_phone,
        },
        Signer::Organization {
            name: org_name("enterpriseName"),
            transactor_name: ent_name,
            transactor_phone: ent_phone,
        },
    ];
    let mut people = vec![p.school_supervisor_id, p.enterprise_supervisor_id];
    if let Some(s) = a.student_id {
        let (name, phone) = name_of(ctx, s, "studentId").await?;
        signers.push(Signer::Person { name, phone });
        people.push(s);
    }
    let document = Document {
        title: format!("{}：{}", a.title, org_name("programmeTitle")),
        file_name: format!("agreement-{}.pdf", a.id),
        fields: fields.clone().into_iter().collect(),
        signers,
    };
    let partner = provider_partner(ctx, config.signature_provider).await?;
    for person in people {
        ctx.modules
            .privacy()
            .sharing
            .disclosed(
                ctx,
                Disclosure {
                    user: person,
                    partner,
                    purpose: AGREEMENTS.into(),
                    categories: vec![CAT_SIGNERS.into()],
                    resource: format!("agreement:{}", a.id),
                },
            )
            .await?;
    }
    let provider = signature::provider(&config);
    let started = provider.start(ctx, &document).await?;
    let now = ctx.clock.now();
    let mut row = a.into_active_model();
    row.provider = Set(provider.name().into());
    row.flow_id = Set(Some(started.flow_id));
    row.state = Set(started.state);
    row.updated_at = Set(now);
    if started.state == AgreementState::Signed {
        row.signed_at = Set(Some(now));
        row.hold_until = Set(Some(now + chrono::Duration::days(config.agreement_hold_days)));
    }
    let a = row.update(&ctx.db).await?;
    tell_parties(ctx, &a, &p).await?;
    Ok(a)
}

/// Revokes an agreement being signed: the provider first, then the state (a provider refusal
/// leaves it signing).
pub async fn revoke(ctx: &AppContext, user: Uuid, id: Uuid, reason: &str) -> AppResult<agreement::Model> {
    let reason = xqt_kernel::text::Text::line(2, 100).check(reason).map_err(|m| invalid("reason", m))?;
    let a = visible(ctx, user, id).await?;
    let p = programmes::find(ctx, a.programme_id).await?.ok_or(CooperationError::NotFound("programme"))?;
    if !runs(ctx, &p, user).await? {
        return Err(
            CooperationError::NotAllowed("a supervisor or manager of the programme revokes its agreements").into()
        );
    }
    if a.state != AgreementState::Signing {
        return Err(state("agreement", a.state, "being signed").into());
    }
    let flow = a.flow_id.clone().ok_or(CooperationError::NotFound("sign flow"))?;
    let config = ctx.config.section::<CooperationConfig>();
    signature::provider(&config).revoke(ctx, &flow, &reason).await?;
    let done = agreement::Entity::update_many()
        .col_expr(agreement::Column::State, sea_orm::sea_query::Expr::value(AgreementState::Revoked.as_str()))
        .col_expr(agreement::Column::UpdatedAt, sea_orm::sea_query::Expr::value(ctx.clock.now()))
        .filter(agreement::Column::Id.eq(a.id))
        .filter(agreement::Column::State.eq(AgreementState::Signing))
        .exec(&ctx.db)
        .await?;
    let a = find(ctx, id).await?.ok_or(CooperationError::NotFound("agreement"))?;
    if done.rows_affected == 1 {
        tell_parties(ctx, &a, &p).await?;
    }
    Ok(a)
}

async fn tell_parties(ctx: &AppContext, a: &agreement::Model, p: &programme::Model) -> AppResult<()> {
    let event = crate::events::Event::AgreementChanged { agreement: a.id, programme: p.id, state: a.state.to_string() };
    crate::events::emit(ctx, event).await;
    let title = match a.state {
        AgreementState::Signing => "协议已发起签署",
        AgreementState::Signed => "协议已签署完成",
        AgreementState::Rejected => "协议被拒签",
        AgreementState::Revoked => "协议已撤销",
        AgreementState::Expired => "协议已过期",
        AgreementState::Draft => return Ok(()),
    };
    let mut people = vec![p.school_supervisor_id, p.enterprise_supervisor_id];
    people.extend(a.student_id);
    for user in people {
        notify(
            ctx,
            NewNotification {
                user_id: user,
                kind: NotificationKind::AgreementUpdated,
                title: title.into(),
                body: a.title.clone(),
            },
        )
        .await?;
    }
    Ok(())
}

/// Applies one provider event, once: the event row and the state change commit together, so a
/// retry or a replay of the same event changes nothing. A finished agreement never moves again.
/// Returns whether it was new.
pub async fn apply_event(ctx: &AppContext, event: &esign::Event, payload: &str) -> AppResult<bool> {
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let row = agreement_event::ActiveModel {
        id: Set(ids::new_id()),
        flow_id: Set(event.flow_id.clone()),
        event_key: Set(event.key.chars().take(200).collect()),
        action: Set(event.action.chars().take(64).collect()),
        payload: Set(payload.chars().take(10_000).collect()),
        received_at: Set(ctx.clock.now()),
    };
    match row.insert(&txn).await {
        Ok(_) => {}
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    let found = agreement::Entity::find().filter(agreement::Column::FlowId.eq(event.flow_id.clone())).one(&txn).await?;
    let Some(a) = found else {
        txn.commit().await?;
        tracing::warn!(flow = %event.flow_id, action = %event.action, "event for a flow this platform did not start");
        return Ok(true);
    };
    let moved = match event.outcome {
        Some(to) if !a.state.is_final() && a.state != to => {
            let now = ctx.clock.now();
            let hold = ctx.config.section::<CooperationConfig>().agreement_hold_days;
            let mut row = a.into_active_model();
            row.state = Set(to);
            row.updated_at = Set(now);
            if to == AgreementState::Signed {
                row.signed_at = Set(Some(now));
                row.hold_until = Set(Some(now + chrono::Duration::days(hold)));
            }
            Some(row.update(&txn).await?)
        }
        _ => None,
    };
    txn.commit().await?;
    if let Some(a) = moved {
        tracing::info!(agreement = %a.id, state = %a.state, "agreement moved by the provider");
        if let Some(p) = programmes::find(ctx, a.programme_id).await? {
            tell_parties(ctx, &a, &p).await?;
        }
    }
    Ok(true)
}

/// `POST /webhooks/esign`: e签宝's sign-flow callbacks, verified before anything is read.
pub struct EsignCallbacks;

#[async_trait]
impl Webhook for EsignCallbacks {
    fn name(&self) -> &'static str {
        "esign"
    }

    async fn receive(&self, ctx: &AppContext, request: Inbound) -> WebhookReply {
        let config = ctx.config.section::<CooperationConfig>();
        if config.signature_provider != SignatureProviderKind::Esign {
            return WebhookReply { status: 404, body: json!({ "code": "NOT_CONFIGURED" }) };
        }
        if let Err(refusal) = esign::verify_callback(&config, &request, ctx.clock.now().timestamp_millis()) {
            tracing::warn!(reason = refusal.code(), "e签宝 callback refused");
            return WebhookReply { status: 401, body: json!({ "code": refusal.code() }) };
        }
        // The very request again (same signature, inside its 15 minutes) is a replay: refused.
        // A retry of the event is signed anew and is answered as a duplicate below.
        let seen = format!("cooperation:esign:seen:{}", request.header("x-tsign-open-signature").unwrap_or_default());
        match ctx.cache.get(&seen).await {
            Ok(Some(_)) => {
                tracing::warn!("e签宝 callback replayed: refused");
                return WebhookReply { status: 409, body: json!({ "code": "REPLAYED" }) };
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = ?e, "replay check unavailable; the event's own key still applies it once"),
        }
        let Some(event) = esign::parse_event(&request.body) else {
            return WebhookReply { status: 400, body: json!({ "code": "NOT_A_SIGN_FLOW_EVENT" }) };
        };
        let payload = String::from_utf8_lossy(&request.body);
        let remember = || async {
            let window = std::time::Duration::from_millis(2 * esign::TIMESTAMP_WINDOW_MS as u64);
            if let Err(e) = ctx.cache.set(&seen, bytes::Bytes::from_static(b"1"), window).await {
                tracing::warn!(error = ?e, "callback signature not remembered");
            }
        };
        match apply_event(ctx, &event, &payload).await {
            Ok(true) => {
                remember().await;
                WebhookReply { status: 200, body: json!({ "code": 200, "msg": "success" }) }
            }
            Ok(false) => {
                remember().await;
                tracing::info!(flow = %event.flow_id, key = %event.key, "e签宝 event seen before: not applied again");
                WebhookReply { status: 200, body: json!({ "code": 200, "msg": "duplicate" }) }
            }
            Err(e) => {
                tracing::error!(error = ?e, flow = %event.flow_id, "e签宝 event not applied; the provider retries");
                WebhookReply { status: 500, body: json!({ "code": "RETRY" }) }
            }
        }
    }
}

/// Agreements being signed hold up each of their signers' cancellation.
pub struct SigningBlocks;

#[async_trait]
impl CancellationBlockers for SigningBlocks {
    async fn blockers(&self, ctx: &AppContext, user: Uuid) -> AppResult<Vec<Blocker>> {
        let supervised: Vec<Uuid> = programme::Entity::find()
            .filter(
                sea_orm::Condition::any()
                    .add(programme::Column::SchoolSupervisorId.eq(user))
                    .add(programme::Column::EnterpriseSupervisorId.eq(user)),
            )
            .all(&ctx.db)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        let signing = agreement::Entity::find()
            .filter(agreement::Column::State.eq(AgreementState::Signing))
            .filter(
                sea_orm::Condition::any()
                    .add(agreement::Column::StudentId.eq(user))
                    .add(agreement::Column::ProgrammeId.is_in(supervised)),
            )
            .all(&ctx.db)
            .await?;
        Ok(signing
            .iter()
            .map(|a| Blocker {
                code: "agreement_signing".into(),
                description: format!("the agreement “{}” is being signed", a.title),
                // The person ends it by signing or rejecting.
                due_on: None,
            })
            .collect())
    }
}

pub fn blockers() -> Arc<dyn CancellationBlockers> {
    Arc::new(SigningBlocks)
}

/// The person's own agreements (as a student party), for export.
pub async fn of_student(ctx: &AppContext, user: Uuid) -> AppResult<Vec<agreement::Model>> {
    Ok(agreement::Entity::find().filter(agreement::Column::StudentId.eq(user)).all(&ctx.db).await?)
}

/// On erasure: unsent drafts naming the person go; signed agreements stay under legal hold.
pub async fn forget_drafts(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    Ok(agreement::Entity::delete_many()
        .filter(agreement::Column::StudentId.eq(user))
        .filter(agreement::Column::State.eq(AgreementState::Draft))
        .exec(&ctx.db)
        .await?
        .rows_affected)
}

/// Retention: agreements whose legal hold ended are purged (with their events).
pub async fn purge_held_until(ctx: &AppContext, now: chrono::DateTime<chrono::Utc>) -> AppResult<u64> {
    let due = agreement::Entity::find().filter(agreement::Column::HoldUntil.lt(now)).all(&ctx.db).await?;
    let mut n = 0;
    for a in due {
        if let Some(flow) = &a.flow_id {
            agreement_event::Entity::delete_many()
                .filter(agreement_event::Column::FlowId.eq(flow.clone()))
                .exec(&ctx.db)
                .await?;
        }
        n += agreement::Entity::delete_by_id(a.id).exec(&ctx.db).await?.rows_affected;
    }
    Ok(n)
}
