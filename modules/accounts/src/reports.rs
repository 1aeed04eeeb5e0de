//! Reports and complaints, their handling within 15 working days, and the restrictions an upheld
//! one can bring. Open reports against an account and its active restrictions block cancelling
//! it (M 附件一); other modules file reports about their objects through `file`.

use chrono::Duration;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, Set};
use uuid::Uuid;
use xqt_kernel::clock::china_date;
use xqt_kernel::module::Blocker;
use xqt_kernel::pagination::{ListOrder, PageRequest};
use xqt_kernel::{AppContext, AppError, AppResult, ids};
use xqt_notifications::inbox::{NewNotification, notify};

use crate::entity::identity_verification as iv;
use crate::entity::{report, restriction};
use crate::error::{AccountsError, invalid};
use crate::review::ReviewState;
use xqt_kernel::text::Text;

/// Reports are handled within this many working days of filing.
pub const HANDLE_WITHIN_WORKING_DAYS: u32 = 15;
xqt_kernel::closed_set! {
    pub enum ReportState {
        Open = "open",
        Investigating = "investigating",
        Upheld = "upheld",
        Dismissed = "dismissed",
    }
}

impl ReportState {
    pub fn is_open(self) -> bool {
        matches!(self, ReportState::Open | ReportState::Investigating)
    }
}

xqt_kernel::closed_set! {
    pub enum ReportCategory {
        Spam = "spam",
        Fraud = "fraud",
        Harassment = "harassment",
        Illegal = "illegal",
        Impersonation = "impersonation",
        Other = "other",
    }
}

xqt_kernel::closed_set! {
    /// What a report is about. Modules that hold reportable things add their kind here.
    pub enum ReportSubject {
        Account = "account",
        Organization = "organization",
        /// A chat message.
        Message = "message",
        /// A cooperation post (demand or talent entry).
        Post = "post",
        /// A cooperation application (a dispute between its two sides).
        Application = "application",
    }
}

xqt_kernel::closed_set! {
    /// What a restriction can forbid.
    pub enum RestrictedAction {
        Post = "post",
        Chat = "chat",
        CreateOrganization = "create_organization",
    }
}

/// What is reported: the account responsible, and the thing itself.
#[derive(Debug, Clone)]
pub struct Subject {
    pub module: &'static str,
    pub kind: ReportSubject,
    pub id: Option<Uuid>,
    pub responsible_user: Option<Uuid>,
    pub organization: Option<Uuid>,
}

/// A restriction to impose with an upheld report.
#[derive(Debug, Clone)]
pub struct RestrictionSpec {
    pub actions: Vec<RestrictedAction>,
    /// `None`: until lifted.
    pub days: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "ReportDecision")]
pub enum Decision {
    Investigate,
    Uphold,
    Dismiss,
}

/// Files a report. The reporter cannot report themselves, must describe it, and may attach an
/// evidence image of their own (`report_evidence` upload).
pub async fn file(
    ctx: &AppContext,
    reporter: Uuid,
    subject: Subject,
    category: ReportCategory,
    description: &str,
    evidence: Option<Uuid>,
) -> AppResult<report::Model> {
    let description = Text::block(5, 1000).check(description).map_err(|m| invalid("description", m))?;
    if subject.responsible_user == Some(reporter) {
        return Err(AccountsError::CannotReportSelf.into());
    }
    if let Some(user) = subject.responsible_user
        && crate::users::find(ctx, user).await?.is_none()
    {
        return Err(AccountsError::NotFound("account").into());
    }
    if let Some(org) = subject.organization
        && crate::organizations::find(ctx, org).await?.is_none()
    {
        return Err(AccountsError::NotFound("organization").into());
    }
    let evidence = match evidence {
        Some(id) => Some(crate::uploads::owned(ctx, reporter, id, crate::uploads::Purpose::ReportEvidence).await?.id),
        None => None,
    };
    let mut same = report::Entity::find()
        .filter(report::Column::ReporterId.eq(reporter))
        .filter(report::Column::SubjectModule.eq(subject.module))
        .filter(report::Column::SubjectKind.eq(subject.kind))
        .filter(report::Column::State.is_in([ReportState::Open, ReportState::Investigating]));
    same = match (subject.id, subject.responsible_user, subject.organization) {
        (Some(id), _, _) => same.filter(report::Column::SubjectId.eq(id)),
        (None, Some(u), _) => same.filter(report::Column::TargetUserId.eq(u)),
        (None, None, Some(o)) => same.filter(report::Column::TargetOrganizationId.eq(o)),
        (None, None, None) => return Err(invalid("subject", "say what is reported").into()),
    };
    if same.one(&ctx.db).await?.is_some() {
        return Err(AccountsError::OpenReportExists.into());
    }
    let now = ctx.clock.now();
    let row = report::ActiveModel {
        id: Set(ids::new_id()),
        reporter_id: Set(Some(reporter)),
        target_user_id: Set(subject.responsible_user),
        target_organization_id: Set(subject.organization),
        subject_module: Set(subject.module.into()),
        subject_kind: Set(subject.kind),
        subject_id: Set(subject.id),
        category: Set(category),
        description: Set(description),
        evidence_file_id: Set(evidence),
        state: Set(ReportState::Open),
        resolution: Set(None),
        reviewer_id: Set(None),
        created_at: Set(now),
        due_on: Set(ctx.calendar.add_working_days(china_date(now), HANDLE_WITHIN_WORKING_DAYS)),
        resolved_at: Set(None),
    }
    .insert(&ctx.db)
    .await?;
    tracing::info!(report = %row.id, kind = %subject.kind, "report filed");
    Ok(row)
}

/// Working days left until the report is due (negative: overdue).
pub fn days_left(ctx: &AppContext, r: &report::Model) -> i64 {
    ctx.calendar.working_days_between(china_date(ctx.clock.now()), r.due_on)
}

/// A reviewer takes a report up, upholds it (optionally restricting the account) or dismisses
/// it; either outcome needs a reason, which the reporter is told.
pub async fn review(
    ctx: &AppContext,
    reviewer: Uuid,
    id: Uuid,
    decision: Decision,
    reason: Option<&str>,
    restrict: Option<RestrictionSpec>,
) -> AppResult<report::Model> {
    let current = report::Entity::find_by_id(id).one(&ctx.db).await?.ok_or(AccountsError::NotFound("report"))?;
    let from = current.state;
    let to = match (from, decision) {
        (ReportState::Open, Decision::Investigate) => ReportState::Investigating,
        (ReportState::Open | ReportState::Investigating, Decision::Uphold) => ReportState::Upheld,
        (ReportState::Open | ReportState::Investigating, Decision::Dismiss) => ReportState::Dismissed,
        _ => return Err(AccountsError::AlreadyIs { what: "report", state: from.to_string() }.into()),
    };
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if to != ReportState::Investigating && reason.is_none() {
        return Err(invalid("reason", "say why; the reporter is told").into());
    }
    if restrict.is_some() && (to != ReportState::Upheld || current.target_user_id.is_none()) {
        return Err(invalid("restrict", "only an upheld report about an account restricts it").into());
    }
    if let Some(spec) = &restrict {
        check_restriction(spec)?;
    }
    let now = ctx.clock.now();
    let mut update = report::Entity::update_many()
        .col_expr(report::Column::State, Expr::value(to))
        .col_expr(report::Column::ReviewerId, Expr::value(reviewer))
        .filter(report::Column::Id.eq(id))
        .filter(report::Column::State.eq(from));
    if to != ReportState::Investigating {
        update = update
            .col_expr(report::Column::Resolution, Expr::value(reason.map(str::to_owned)))
            .col_expr(report::Column::ResolvedAt, Expr::value(now));
    }
    if update.exec(&ctx.db).await?.rows_affected == 0 {
        return Err(AccountsError::Changed("report").into());
    }
    if let (Some(spec), Some(user)) = (restrict, current.target_user_id) {
        restriction::ActiveModel {
            id: Set(ids::new_id()),
            user_id: Set(user),
            report_id: Set(Some(id)),
            actions: Set(actions_text(&spec.actions, " ")),
            reason: Set(reason.unwrap_or_default().to_owned()),
            ends_at: Set(spec.days.map(|d| now + Duration::days(d))),
            lifted_at: Set(None),
            created_by: Set(reviewer),
            created_at: Set(now),
        }
        .insert(&ctx.db)
        .await?;
        let body = format!(
            "因违反平台规则（{}），你的账号受到限制：{}。",
            reason.unwrap_or_default(),
            actions_text(&spec.actions, "、")
        );
        notify(
            ctx,
            NewNotification {
                user_id: user,
                kind: xqt_notifications::NotificationKind::AccountRestricted,
                title: "账号受到限制".into(),
                body,
            },
        )
        .await?;
    }
    if let (Some(reporter), true) = (current.reporter_id, to != ReportState::Investigating) {
        let verdict = if to == ReportState::Upheld { "已核实并处理" } else { "经核查未予支持" };
        let body = format!("你的举报{verdict}：{}", reason.unwrap_or_default());
        notify(
            ctx,
            NewNotification {
                user_id: reporter,
                kind: if to == ReportState::Upheld {
                    xqt_notifications::NotificationKind::ReportUpheld
                } else {
                    xqt_notifications::NotificationKind::ReportDismissed
                },
                title: "举报处理结果".into(),
                body,
            },
        )
        .await?;
    }
    Ok(report::Entity::find_by_id(id).one(&ctx.db).await?.ok_or(AccountsError::NotFound("report"))?)
}

fn check_restriction(spec: &RestrictionSpec) -> AppResult<()> {
    if spec.actions.is_empty() {
        return Err(
            AccountsError::Invalid { field: "restrict.actions", message: "name at least one action".into() }.into()
        );
    }
    if spec.days.is_some_and(|d| !(1..=3650).contains(&d)) {
        return Err(AccountsError::Invalid {
            field: "restrict.days",
            message: "1 to 3650, or none for until lifted".into(),
        }
        .into());
    }
    Ok(())
}

fn actions_text(actions: &[RestrictedAction], separator: &str) -> String {
    actions.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(separator)
}

/// The actions a stored restriction forbids (kept space-separated in one column).
pub fn actions_of(r: &restriction::Model) -> AppResult<Vec<RestrictedAction>> {
    r.actions
        .split_whitespace()
        .map(|a| {
            RestrictedAction::parse(a).ok_or_else(|| AppError::internal(format!("unknown restricted action {a:?}")))
        })
        .collect()
}

/// The account's restrictions that are in force at `now`: not lifted, not ended.
fn in_force(user: Uuid, now: chrono::DateTime<chrono::Utc>) -> Condition {
    Condition::all()
        .add(restriction::Column::UserId.eq(user))
        .add(restriction::Column::LiftedAt.is_null())
        .add(Condition::any().add(restriction::Column::EndsAt.is_null()).add(restriction::Column::EndsAt.gt(now)))
}

/// Restrictions in force on the account now.
pub async fn active_restrictions(ctx: &AppContext, user: Uuid) -> AppResult<Vec<restriction::Model>> {
    Ok(restriction::Entity::find()
        .filter(in_force(user, ctx.clock.now()))
        .order_by_asc(restriction::Column::CreatedAt)
        .all(&ctx.db)
        .await?)
}

/// `verification::require_verified`, then `require_unrestricted`, in one read for everyone who
/// passes both: what each message, call and post checks before it is written. A refusal reads
/// its details with a second.
pub async fn require_verified_and_unrestricted(
    ctx: &AppContext,
    user: Uuid,
    action: RestrictedAction,
) -> AppResult<()> {
    #[derive(FromQueryResult)]
    struct Standing {
        verification: Option<ReviewState>,
        restricted: bool,
    }
    let latest = Query::select()
        .column(iv::Column::State)
        .from(iv::Entity)
        .and_where(Expr::col(iv::Column::UserId).eq(user))
        .order_by(iv::Column::Id, Order::Desc)
        .limit(1)
        .to_owned();
    let active = Query::select()
        .expr(Expr::val(1))
        .from(restriction::Entity)
        .cond_where(in_force(user, ctx.clock.now()))
        .to_owned();
    let query = Query::select()
        .expr_as(Expr::SubQuery(None, Box::new(latest.into())), "verification")
        .expr_as(Expr::exists(active), "restricted")
        .to_owned();
    let standing = Standing::find_by_statement(ctx.db.get_database_backend().build(&query))
        .one(&ctx.db)
        .await?
        .ok_or_else(|| AppError::internal("a select without FROM returned no row"))?;
    if standing.verification != Some(ReviewState::Approved) {
        return Err(AccountsError::VerificationRequired.into());
    }
    if standing.restricted {
        // Restricted from something: is it this?
        return require_unrestricted(ctx, user, action).await;
    }
    Ok(())
}

/// Refuses `action` for a restricted account (FORBIDDEN with reason `RESTRICTED`).
pub async fn require_unrestricted(ctx: &AppContext, user: Uuid, action: RestrictedAction) -> AppResult<()> {
    let found = active_restrictions(ctx, user).await?;
    if let Some(r) = found.iter().find(|r| r.actions.split_whitespace().any(|a| a == action.as_str())) {
        let until = r.ends_at.map_or("until lifted".to_owned(), |t| format!("until {}", t.to_rfc3339()));
        return Err(AccountsError::Restricted { action, until, reason: r.reason.clone() }.into());
    }
    Ok(())
}

pub async fn lift(ctx: &AppContext, id: Uuid) -> AppResult<bool> {
    Ok(restriction::Entity::update_many()
        .col_expr(restriction::Column::LiftedAt, Expr::value(ctx.clock.now()))
        .filter(restriction::Column::Id.eq(id))
        .filter(restriction::Column::LiftedAt.is_null())
        .exec(&ctx.db)
        .await?
        .rows_affected
        > 0)
}

pub async fn filed_by(ctx: &AppContext, reporter: Uuid) -> AppResult<Vec<report::Model>> {
    Ok(report::Entity::find()
        .filter(report::Column::ReporterId.eq(reporter))
        .order_by_desc(report::Column::Id)
        .all(&ctx.db)
        .await?)
}

/// `limit + 1` reports in a state, oldest (most urgent) first. The people they name (reporter
/// and reported) are recorded in the audit log as read by the reviewer.
pub async fn queue(
    ctx: &AppContext,
    reviewer: &xqt_kernel::Viewer,
    state: ReportState,
    page: &PageRequest,
) -> AppResult<Vec<report::Model>> {
    let q = report::Entity::find().filter(report::Column::State.eq(state));
    let rows = page.apply(q, report::Column::Id, ListOrder::OldestFirst)?.all(&ctx.db).await?;
    let mut people: Vec<Uuid> = rows.iter().flat_map(|r| [r.reporter_id, r.target_user_id]).flatten().collect();
    people.sort();
    people.dedup();
    xqt_kernel::privacy::record_reads(ctx, reviewer, "report_queue", &["report_description", "evidence"], people)
        .await?;
    Ok(rows)
}

/// Why the account cannot be cancelled now: open reports against it and restrictions in force.
pub async fn blockers(ctx: &AppContext, user: Uuid) -> AppResult<Vec<Blocker>> {
    // 附件一: "投诉举报或被投诉举报" — reports about the person and reports the person filed.
    let open = report::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(report::Column::TargetUserId.eq(user))
                .add(report::Column::ReporterId.eq(user)),
        )
        .filter(report::Column::State.is_in([ReportState::Open, ReportState::Investigating]))
        .all(&ctx.db)
        .await?;
    let mut out: Vec<Blocker> = open
        .iter()
        .map(|r| {
            let (code, whose) = if r.reporter_id == Some(user) {
                ("open_report_filed", "you filed")
            } else {
                ("open_report", "about you")
            };
            Blocker {
                code: code.into(),
                description: format!(
                    "a {} report {whose} on {} is still being handled (by {})",
                    r.category,
                    china_date(r.created_at),
                    r.due_on
                ),
                due_on: Some(r.due_on),
            }
        })
        .collect();
    out.extend(active_restrictions(ctx, user).await?.iter().map(|r| Blocker {
        code: "restricted".into(),
        description: format!(
            "restricted from {} {}",
            r.actions.replace(' ', ", "),
            r.ends_at.map_or("until lifted".to_owned(), |t| format!("until {}", t.to_rfc3339()))
        ),
        due_on: r.ends_at.map(china_date),
    }));
    Ok(out)
}

/// Reports filed by the person lose their reporter (they stay, for the account reported).
pub async fn forget_reporter(ctx: &AppContext, reporter: Uuid) -> AppResult<u64> {
    Ok(report::Entity::update_many()
        .col_expr(report::Column::ReporterId, Expr::value(Option::<Uuid>::None))
        .filter(report::Column::ReporterId.eq(reporter))
        .exec(&ctx.db)
        .await?
        .rows_affected)
}

pub async fn restrictions_of(ctx: &AppContext, user: Uuid) -> AppResult<Vec<restriction::Model>> {
    Ok(restriction::Entity::find().filter(restriction::Column::UserId.eq(user)).all(&ctx.db).await?)
}
