//! Data-subject requests (RTS-1 … RTS-8): access, correction, deletion, withdrawal, explanation,
//! complaint. A request waits in `identity_unverified` until a fresh SMS code to the account's
//! phone proves the person (RTS-5); it is then due in 5 Chinese working days (RTS-6). Access,
//! deletion and withdrawal are carried out at once; the others go to the operators' queue. A
//! denial needs a reason the person sees (RTS-8). Every transition is in the audit log.

use chrono::NaiveDate;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;
use xqt_kernel::clock::china_date;
use xqt_kernel::module::{Erasure, LegalBasis};
use xqt_kernel::privacy::AuditEntry;
use xqt_kernel::{AppContext, AppError, AppResult, Viewer, ids};
use xqt_notifications::NotificationKind;
use xqt_notifications::inbox::{NewNotification, notify};

use crate::consent::{self, Action, Provenance, State as ConsentState};
use crate::entity::privacy_request;
use crate::error::PrivacyError;
use crate::{audit, export};

/// Working days to answer a request (X 八).
pub const ANSWER_WITHIN: u32 = 5;
/// Working days to complete an account cancellation (M 七; GB/T 35273 §8).
pub const CANCEL_WITHIN: u32 = 15;
const TEXT_MAX: usize = 2000;
const LIST_MAX: u64 = 200;

xqt_kernel::closed_set! {
    #[graphql(name = "PrivacyRequestKind")]
    pub enum Kind {
        /// A copy of everything held about the person (PIPL 45).
        Access = "access",
        /// Correct something that is wrong (PIPL 46).
        Correction = "correction",
        /// Delete chosen data categories (PIPL 47).
        Deletion = "deletion",
        /// Withdraw a consent (PIPL 15).
        Withdrawal = "withdrawal",
        /// Explain how the data is processed (PIPL 48).
        Explanation = "explanation",
        /// Complain about processing.
        Complaint = "complaint",
        /// Cancel the account (注销, M 附件一): irreversible once carried out.
        Cancellation = "cancellation",
    }
}

impl Kind {
    /// Carried out as soon as identity is verified; cancellation waits out its cooling-off in
    /// the runner; the rest need an operator.
    fn self_service(self) -> bool {
        matches!(self, Kind::Access | Kind::Deletion | Kind::Withdrawal)
    }

    fn due_within(self) -> u32 {
        if self == Kind::Cancellation { CANCEL_WITHIN } else { ANSWER_WITHIN }
    }
}

xqt_kernel::closed_set! {
    #[graphql(name = "PrivacyRequestState")]
    pub enum RequestState {
        IdentityUnverified = "identity_unverified",
        Pending = "pending",
        InProcessing = "in_processing",
        Completed = "completed",
        Denied = "denied",
        OnHold = "on_hold",
        Canceled = "canceled",
    }
}

impl RequestState {
    pub fn is_open(self) -> bool {
        !matches!(self, RequestState::Completed | RequestState::Denied | RequestState::Canceled)
    }
}

/// What operators do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "PrivacyRequestAction")]
pub enum OperatorAction {
    Start,
    /// With the answer (`text`) for corrections, explanations and complaints.
    Complete,
    /// With the reason (`text`), shown to the person.
    Deny,
    /// With the reason (`text`), shown to the person.
    Hold,
    Resume,
}

pub struct NewRequest {
    pub kind: Kind,
    pub description: Option<String>,
    pub categories: Vec<String>,
    pub purpose: Option<String>,
}

pub fn state_of(row: &privacy_request::Model) -> RequestState {
    row.state
}

pub fn kind_of(row: &privacy_request::Model) -> Kind {
    row.kind
}

pub fn categories_of(row: &privacy_request::Model) -> Vec<String> {
    row.categories.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect()
}

/// Categories a person may have deleted on request: every registered category that no purpose
/// keeps under a legal obligation (security logs, consent and audit records stay their term).
pub fn deletable_categories(ctx: &AppContext) -> Vec<&'static str> {
    categories_except(ctx, |p| p.legal_basis == LegalBasis::LegalObligation)
}

/// Every registered category that no purpose matching `kept` declares, sorted, once each.
fn categories_except(ctx: &AppContext, kept: impl Fn(&xqt_kernel::module::Purpose) -> bool) -> Vec<&'static str> {
    let purposes = ctx.modules.purposes();
    let mut all: Vec<&'static str> = purposes.iter().flat_map(|(_, p)| p.categories.iter().copied()).collect();
    all.sort();
    all.dedup();
    all.retain(|c| !purposes.iter().any(|(_, p)| kept(p) && p.categories.contains(c)));
    all
}

fn invalid(field: &'static str, message: impl Into<String>) -> AppError {
    PrivacyError::Invalid { field, message: message.into() }.into()
}

fn text(field: &'static str, value: Option<&str>, required: bool) -> AppResult<Option<String>> {
    let rule = xqt_kernel::text::Text::block(1, TEXT_MAX);
    match rule.check_optional(value).map_err(|m| invalid(field, m))? {
        None if required => Err(invalid(field, format!("1 to {TEXT_MAX} characters"))),
        v => Ok(v),
    }
}

pub async fn find(ctx: &AppContext, id: Uuid) -> AppResult<Option<privacy_request::Model>> {
    Ok(privacy_request::Entity::find_by_id(id).one(&ctx.db).await?)
}

async fn owned(ctx: &AppContext, user: Uuid, id: Uuid) -> AppResult<privacy_request::Model> {
    find(ctx, id).await?.filter(|r| r.user_id == user).ok_or_else(|| PrivacyError::NotFound("request").into())
}

async fn account_phone(ctx: &AppContext, user: Uuid) -> AppResult<xqt_accounts::phone::Phone> {
    let account = xqt_accounts::users::find(ctx, user).await?.ok_or(PrivacyError::SignInFirst)?;
    xqt_accounts::users::phone_of(ctx, &account)?.ok_or_else(|| PrivacyError::NoPhone.into())
}

/// Files a request and texts a code to the account's phone to prove it is the person.
pub async fn submit(ctx: &AppContext, user: Uuid, new: NewRequest) -> AppResult<privacy_request::Model> {
    let needs_text = matches!(new.kind, Kind::Correction | Kind::Explanation | Kind::Complaint);
    let description = text("description", new.description.as_deref(), needs_text)?;
    let mut categories = new.categories.clone();
    categories.sort();
    categories.dedup();
    match new.kind {
        Kind::Deletion => {
            if categories.is_empty() {
                return Err(invalid("categories", "name the data categories to delete"));
            }
            let deletable = deletable_categories(ctx);
            if let Some(kept) = categories.iter().find(|c| !deletable.contains(&c.as_str())) {
                return Err(invalid(
                    "categories",
                    format!("`{kept}` is not a category that can be deleted on request (unknown, or kept by law)"),
                )
                .with("deletable", deletable));
            }
        }
        _ if !categories.is_empty() => return Err(invalid("categories", "only deletion names categories")),
        _ => {}
    }
    let purpose = match (new.kind, new.purpose.as_deref()) {
        (Kind::Withdrawal, Some(p)) => {
            if consent::state_of(ctx, user, p, None).await? != Some(ConsentState::Granted) {
                return Err(PrivacyError::NotGranted(p.to_owned()).into());
            }
            Some(p.to_owned())
        }
        (Kind::Withdrawal, None) => return Err(invalid("purpose", "name the consent to withdraw")),
        (_, Some(_)) => return Err(invalid("purpose", "only withdrawal names a purpose")),
        (_, None) => None,
    };
    if new.kind == Kind::Cancellation {
        let blockers = ctx.modules.cancellation_blockers(ctx, user).await?;
        if !blockers.is_empty() {
            return Err(blocked(&blockers));
        }
    }
    let open: Vec<RequestState> = <RequestState as sea_orm::Iterable>::iter().filter(|s| s.is_open()).collect();
    let duplicate = privacy_request::Entity::find()
        .filter(privacy_request::Column::UserId.eq(user))
        .filter(privacy_request::Column::Kind.eq(new.kind))
        .filter(privacy_request::Column::State.is_in(open))
        .filter(privacy_request::Column::Categories.eq(categories.join(",")))
        .all(&ctx.db)
        .await?
        .into_iter()
        .find(|r| r.purpose == purpose && (!needs_text || r.description == description));
    if let Some(d) = duplicate {
        return Err(PrivacyError::RequestOpen(d.id).into());
    }
    let phone = account_phone(ctx, user).await?;
    let now = ctx.clock.now();
    let row = privacy_request::ActiveModel {
        id: Set(ids::new_id()),
        user_id: Set(user),
        kind: Set(new.kind),
        state: Set(RequestState::IdentityUnverified),
        description: Set(description),
        categories: Set(categories.join(",")),
        purpose: Set(purpose),
        reason: Set(None),
        response: Set(None),
        reviewer_id: Set(None),
        due_on: Set(None),
        created_at: Set(now),
        verified_at: Set(None),
        updated_at: Set(now),
        closed_at: Set(None),
        export_expires_at: Set(None),
    }
    .insert(&ctx.db)
    .await?;
    record(ctx, &Viewer::Anonymous, &row, None, RequestState::IdentityUnverified, None).await?;
    // The account's own phone: nobody can point it elsewhere, so no address cap applies.
    xqt_accounts::codes::request(ctx, &phone, xqt_accounts::codes::Asker::Account).await?;
    Ok(row)
}

/// Sends a new code to the account's phone for a request still waiting for it.
pub async fn resend_code(ctx: &AppContext, user: Uuid, id: Uuid) -> AppResult<()> {
    let row = owned(ctx, user, id).await?;
    if state_of(&row) != RequestState::IdentityUnverified {
        return Err(PrivacyError::IdentityCheckDone.into());
    }
    xqt_accounts::codes::request(ctx, &account_phone(ctx, user).await?, xqt_accounts::codes::Asker::Account).await
}

/// Appends the transition to the audit log (actor, from, to, reason).
async fn record(
    ctx: &AppContext,
    actor: &Viewer,
    row: &privacy_request::Model,
    from: Option<RequestState>,
    to: RequestState,
    reason: Option<&str>,
) -> AppResult<()> {
    let what = match from {
        Some(f) => format!("{} → {}", f.as_str(), to.as_str()),
        None => format!("filed ({})", to.as_str()),
    };
    let entry = AuditEntry {
        subject: Some(row.user_id),
        action: xqt_kernel::privacy::AuditAction::Request,
        resource: format!("privacy_request:{}:{}", row.kind, row.id),
        fields: vec![],
        reason: Some(match reason {
            Some(r) => format!("{what}: {r}"),
            None => what,
        }),
        allowed: true,
    };
    audit::append(ctx, actor, entry).await.map(|_| ())
}

/// Moves a request from `from` to `to` if nobody moved it first; audits the transition.
async fn transition(
    ctx: &AppContext,
    actor: &Viewer,
    row: &privacy_request::Model,
    to: RequestState,
    changes: impl FnOnce(sea_orm::UpdateMany<privacy_request::Entity>) -> sea_orm::UpdateMany<privacy_request::Entity>,
    reason: Option<&str>,
) -> AppResult<privacy_request::Model> {
    let from = state_of(row);
    let now = ctx.clock.now();
    let mut update = privacy_request::Entity::update_many()
        .col_expr(privacy_request::Column::State, Expr::value(to))
        .col_expr(privacy_request::Column::UpdatedAt, Expr::value(now))
        .filter(privacy_request::Column::Id.eq(row.id))
        .filter(privacy_request::Column::State.eq(from));
    if !to.is_open() {
        update = update.col_expr(privacy_request::Column::ClosedAt, Expr::value(now));
    }
    if changes(update).exec(&ctx.db).await?.rows_affected == 0 {
        return Err(PrivacyError::Changed("request").into());
    }
    record(ctx, actor, row, Some(from), to, reason).await?;
    find(ctx, row.id).await?.ok_or_else(|| PrivacyError::NotFound("request").into())
}

/// The person proves it is them with the code sent to the account's phone. The deadline starts
/// now; access, deletion and withdrawal are then carried out at once.
pub async fn verify(ctx: &AppContext, user: Uuid, id: Uuid, code: &str) -> AppResult<privacy_request::Model> {
    let row = owned(ctx, user, id).await?;
    if state_of(&row) != RequestState::IdentityUnverified {
        return Err(PrivacyError::IdentityCheckDone.into());
    }
    xqt_accounts::codes::verify(ctx, &account_phone(ctx, user).await?, code).await?;
    let person = Viewer::User { user_id: user, session_id: Uuid::nil() };
    let now = ctx.clock.now();
    let due = ctx.calendar.add_working_days(china_date(now), kind_of(&row).due_within());
    let row = transition(
        ctx,
        &person,
        &row,
        RequestState::Pending,
        |u| {
            u.col_expr(privacy_request::Column::VerifiedAt, Expr::value(now))
                .col_expr(privacy_request::Column::DueOn, Expr::value(due))
        },
        Some("identity verified by SMS code"),
    )
    .await?;
    if kind_of(&row).self_service() { carry_out(ctx, row).await } else { Ok(row) }
}

/// Access, deletion and withdrawal need no judgement once the person is proven.
async fn carry_out(ctx: &AppContext, row: privacy_request::Model) -> AppResult<privacy_request::Model> {
    let system = Viewer::Anonymous;
    let row = transition(ctx, &system, &row, RequestState::InProcessing, |u| u, None).await?;
    let (response, expires) = match kind_of(&row) {
        Kind::Access => (None, Some(export::produce(ctx, &row).await?)),
        Kind::Deletion => {
            let erasure = Erasure::Categories(categories_of(&row));
            let touched: u64 = ctx.modules.erase(ctx, row.user_id, &erasure).await?.values().sum();
            (Some(format!("已删除 {touched} 条记录 ({touched} records deleted)")), None)
        }
        Kind::Withdrawal => {
            let purpose = row.purpose.clone().unwrap_or_default();
            let how = Provenance { method: "request", ..Provenance::default() };
            consent::decide(ctx, row.user_id, Action::Withdraw, &purpose, None, &how).await?;
            (Some(format!("已撤回对「{purpose}」的同意，相关数据已排队删除")), None)
        }
        _ => return Ok(row),
    };
    let done = transition(
        ctx,
        &system,
        &row,
        RequestState::Completed,
        |u| {
            u.col_expr(privacy_request::Column::Response, Expr::value(response))
                .col_expr(privacy_request::Column::ExportExpiresAt, Expr::value(expires))
        },
        None,
    )
    .await?;
    tell(ctx, &done, "您的个人信息请求已完成").await?;
    Ok(done)
}

async fn tell(ctx: &AppContext, row: &privacy_request::Model, title: &str) -> AppResult<()> {
    let kind = match state_of(row) {
        RequestState::Completed => NotificationKind::PrivacyRequestCompleted,
        RequestState::Denied => NotificationKind::PrivacyRequestDenied,
        RequestState::OnHold => NotificationKind::PrivacyRequestOnHold,
        other => return Err(AppError::internal(format!("no notice for a request that is {}", other.as_str()))),
    };
    let body = match (row.reason.as_deref(), row.response.as_deref()) {
        (Some(reason), _) => format!("原因：{reason}"),
        (None, Some(response)) => response.to_owned(),
        (None, None) => "请在「隐私与协议 → 我的请求」中查看。".to_owned(),
    };
    let n = NewNotification { user_id: row.user_id, kind, title: title.into(), body };
    notify(ctx, n).await.map(|_| ())
}

/// The person withdraws their own open request.
pub async fn cancel(ctx: &AppContext, user: Uuid, id: Uuid) -> AppResult<privacy_request::Model> {
    let row = owned(ctx, user, id).await?;
    if !state_of(&row).is_open() {
        return Err(PrivacyError::RequestClosed.into());
    }
    let person = Viewer::User { user_id: user, session_id: Uuid::nil() };
    transition(ctx, &person, &row, RequestState::Canceled, |u| u, Some("canceled by the person")).await
}

/// An operator moves a request along. A denial or hold needs a reason the person is shown.
pub async fn act(
    ctx: &AppContext,
    viewer: &Viewer,
    id: Uuid,
    action: OperatorAction,
    note: Option<&str>,
) -> AppResult<privacy_request::Model> {
    let operator = viewer.require_admin()?;
    let row = find(ctx, id).await?.ok_or(PrivacyError::NotFound("request"))?;
    let state = state_of(&row);
    if kind_of(&row) == Kind::Cancellation && action == OperatorAction::Complete {
        return Err(PrivacyError::CancellationByRunner.into());
    }
    use OperatorAction as A;
    use RequestState as S;
    let to = match (action, state) {
        (A::Start, S::Pending) => S::InProcessing,
        (A::Complete, S::InProcessing) => S::Completed,
        (A::Deny, S::Pending | S::InProcessing | S::OnHold) => S::Denied,
        (A::Hold, S::Pending | S::InProcessing) => S::OnHold,
        (A::Resume, S::OnHold) => S::InProcessing,
        _ => {
            return Err(PrivacyError::RequestTransition { action, state }.into());
        }
    };
    let note = text("text", note, matches!(action, A::Deny | A::Hold))?;
    let row = transition(
        ctx,
        viewer,
        &row,
        to,
        |u| {
            let u = u.col_expr(privacy_request::Column::ReviewerId, Expr::value(operator));
            match action {
                A::Deny | A::Hold => u.col_expr(privacy_request::Column::Reason, Expr::value(note.clone())),
                A::Complete => u.col_expr(privacy_request::Column::Response, Expr::value(note.clone())),
                _ => u,
            }
        },
        note.as_deref(),
    )
    .await?;
    match to {
        S::Denied => tell(ctx, &row, "您的个人信息请求未获同意").await?,
        S::OnHold => tell(ctx, &row, "您的个人信息请求已暂停处理").await?,
        S::Completed => tell(ctx, &row, "您的个人信息请求已完成").await?,
        _ => {}
    }
    Ok(row)
}

/// The person's requests, newest first.
pub async fn mine(ctx: &AppContext, user: Uuid) -> AppResult<Vec<privacy_request::Model>> {
    Ok(privacy_request::Entity::find()
        .filter(privacy_request::Column::UserId.eq(user))
        .order_by_desc(privacy_request::Column::Id)
        .limit(LIST_MAX)
        .all(&ctx.db)
        .await?)
}

/// Open requests past identity verification, most urgent first (operators).
pub async fn queue(ctx: &AppContext, viewer: &Viewer, limit: u64) -> AppResult<Vec<privacy_request::Model>> {
    viewer.require_admin()?;
    let open = [RequestState::Pending, RequestState::InProcessing, RequestState::OnHold];
    Ok(privacy_request::Entity::find()
        .filter(privacy_request::Column::State.is_in(open))
        .order_by_asc(privacy_request::Column::DueOn)
        .order_by_asc(privacy_request::Column::Id)
        .limit(limit.min(LIST_MAX))
        .all(&ctx.db)
        .await?)
}

/// Working days until the deadline (negative once overdue), for an open, verified request.
pub fn working_days_left(ctx: &AppContext, row: &privacy_request::Model) -> Option<i64> {
    let due: NaiveDate = row.due_on?;
    state_of(row).is_open().then(|| ctx.calendar.working_days_between(china_date(ctx.clock.now()), due))
}

/// `CONFLICT` listing what stands in the way of cancelling, module by module (CAN-1).
fn blocked(blockers: &[(&'static str, xqt_kernel::module::Blocker)]) -> AppError {
    let list: Vec<serde_json::Value> = blockers
        .iter()
        .map(|(module, b)| {
            serde_json::json!({ "module": module, "code": b.code, "description": b.description, "dueOn": b.due_on })
        })
        .collect();
    PrivacyError::CancellationBlocked(list).into()
}

/// Whether a purpose's data is kept after cancellation, under legal hold until its period ends
/// (CAN-5): a legal obligation with a retention period (security logs; consent, sharing and
/// audit records). Everything else goes.
fn is_held(p: &xqt_kernel::module::Purpose) -> bool {
    p.legal_basis == LegalBasis::LegalObligation && p.retention_days.is_some()
}

/// Carries a cancellation out: every session and token ends at once, every module erases what
/// it holds except what the law keeps, and the phone number is free for an unrelated account.
async fn cancel_account(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    xqt_accounts::sessions::end_all_sessions(
        ctx,
        user,
        xqt_accounts::entity::security_event::SecurityEventKind::AccountCancelled,
    )
    .await?;
    let erasable = categories_except(ctx, is_held).into_iter().map(str::to_owned).collect();
    let touched: u64 = ctx.modules.erase(ctx, user, &Erasure::Categories(erasable)).await?.values().sum();
    tracing::warn!(user = %user, touched, "account cancelled");
    Ok(touched)
}

/// The runner's pass over open cancellations: a new blocker (a report filed meanwhile) puts one
/// on hold with the reason (CAN-2); one whose blockers are gone goes back to pending; a pending
/// one whose cooling-off has ended is carried out. Returns how many were carried out.
pub async fn run_cancellations(ctx: &AppContext) -> AppResult<u64> {
    let open = [RequestState::Pending, RequestState::InProcessing, RequestState::OnHold];
    let rows = privacy_request::Entity::find()
        .filter(privacy_request::Column::Kind.eq(Kind::Cancellation))
        .filter(privacy_request::Column::State.is_in(open))
        .order_by_asc(privacy_request::Column::Id)
        .limit(LIST_MAX)
        .all(&ctx.db)
        .await?;
    let system = Viewer::Anonymous;
    let cooling_off =
        chrono::Duration::days(ctx.config.section::<crate::config::PrivacyConfig>().cancellation_cooling_off_days);
    let mut done = 0;
    for row in rows {
        let blockers = ctx.modules.cancellation_blockers(ctx, row.user_id).await?;
        let state = state_of(&row);
        if !blockers.is_empty() {
            if state != RequestState::OnHold {
                let reason: Vec<String> = blockers.iter().map(|(_, b)| b.description.clone()).collect();
                let reason = format!("注销暂停：{}", reason.join("；"));
                let held = transition(
                    ctx,
                    &system,
                    &row,
                    RequestState::OnHold,
                    |u| u.col_expr(privacy_request::Column::Reason, Expr::value(reason.clone())),
                    Some(&reason),
                )
                .await?;
                tell(ctx, &held, "您的账号注销申请已暂停").await?;
            }
            continue;
        }
        match state {
            RequestState::OnHold => {
                let cleared = |u: sea_orm::UpdateMany<privacy_request::Entity>| {
                    u.col_expr(privacy_request::Column::Reason, Expr::value(Option::<String>::None))
                };
                transition(ctx, &system, &row, RequestState::Pending, cleared, Some("blockers cleared")).await?;
            }
            RequestState::Pending if row.verified_at.is_some_and(|v| v + cooling_off <= ctx.clock.now()) => {
                let row = transition(ctx, &system, &row, RequestState::InProcessing, |u| u, None).await?;
                let touched = cancel_account(ctx, row.user_id).await?;
                let response = format!("账号已注销，{touched} 条记录已删除；依法留存的日志与记录到期后删除");
                transition(
                    ctx,
                    &system,
                    &row,
                    RequestState::Completed,
                    |u| u.col_expr(privacy_request::Column::Response, Expr::value(response.clone())),
                    None,
                )
                .await?;
                done += 1;
            }
            _ => {}
        }
    }
    Ok(done)
}

/// What stands in the way of cancelling now, module by module (CAN-1).
pub async fn precheck(ctx: &AppContext, user: Uuid) -> AppResult<Vec<(&'static str, xqt_kernel::module::Blocker)>> {
    ctx.modules.cancellation_blockers(ctx, user).await
}
