use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, NaiveDate, Utc};
use xqt_kernel::ids::parse_id;
use xqt_kernel::pagination::{self, PageArgs};

use crate::entity::{report, restriction};
use crate::reports::{
    self, Decision, ReportCategory, ReportState, ReportSubject, RestrictedAction, RestrictionSpec, Subject,
};

const QUEUE: &str = "reportQueue";

/// A report as its reporter or a reviewer sees it.
pub struct Report {
    row: report::Model,
    reviewer: bool,
}

#[Object]
impl Report {
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    async fn category(&self) -> ReportCategory {
        self.row.category
    }
    async fn description(&self) -> &str {
        &self.row.description
    }
    async fn subject_kind(&self) -> ReportSubject {
        self.row.subject_kind
    }
    async fn state(&self) -> ReportState {
        self.row.state
    }
    /// The reviewer's reason for the outcome.
    async fn resolution(&self) -> Option<&str> {
        self.row.resolution.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    /// Handled by this date (15 working days from filing).
    async fn due_on(&self) -> NaiveDate {
        self.row.due_on
    }
    /// Working days left until due; negative when overdue.
    async fn working_days_left(&self, ctx: &Context<'_>) -> i64 {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        reports::days_left(app, &self.row)
    }
    /// The account reported (reviewers only).
    async fn target_user_id(&self) -> Option<ID> {
        self.reviewer.then(|| self.row.target_user_id.map(|u| ID(u.to_string()))).flatten()
    }
    async fn evidence_url(&self) -> Option<String> {
        self.row.evidence_file_id.map(|id| format!("/files/{id}"))
    }
}

pub struct Restriction(restriction::Model);

#[Object]
impl Restriction {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn actions(&self) -> Result<Vec<RestrictedAction>> {
        Ok(reports::actions_of(&self.0)?)
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    /// None: until lifted.
    async fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.0.ends_at
    }
}

#[derive(InputObject)]
pub struct ReportInput {
    /// An account, or
    pub user_id: Option<ID>,
    /// an organisation.
    pub organization_id: Option<ID>,
    pub category: ReportCategory,
    pub description: String,
    /// A `report_evidence` upload of the reporter's.
    pub evidence_file_id: Option<ID>,
}

#[derive(InputObject)]
pub struct RestrictInput {
    pub actions: Vec<RestrictedAction>,
    /// Omit for "until lifted".
    pub days: Option<i64>,
}

#[derive(Default)]
pub struct ReportsQuery;

#[Object]
impl ReportsQuery {
    /// Reports the signed-in person filed, newest first, with their outcome.
    async fn my_reports(&self, ctx: &Context<'_>) -> Result<Vec<Report>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let rows = reports::filed_by(app, viewer.require_person()?).await?;
        Ok(rows.into_iter().map(|row| Report { row, reviewer: false }).collect())
    }

    /// Restrictions in force on the signed-in person.
    async fn my_restrictions(&self, ctx: &Context<'_>) -> Result<Vec<Restriction>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(reports::active_restrictions(app, viewer.require_person()?).await?.into_iter().map(Restriction).collect())
    }

    /// Reports in a state, oldest first, with their deadlines (platform reviewers).
    #[graphql(complexity = "pagination::complexity(first, last, child_complexity)")]
    async fn report_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "default OPEN")] state: Option<ReportState>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Report>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        viewer.require_admin()?;
        let page = PageArgs { first, after, last, before }.validate(QUEUE, &app.config.limits)?;
        let rows = reports::queue(app, viewer, state.unwrap_or(ReportState::Open), &page).await?;
        let rows = rows.into_iter().map(|row| Report { row, reviewer: true }).collect();
        Ok(page.connection(QUEUE, rows, |r| r.row.id.to_string()))
    }
}

#[derive(Default)]
pub struct ReportsMutation;

#[Object]
impl ReportsMutation {
    /// Reports an account or an organisation.
    async fn report(&self, ctx: &Context<'_>, input: ReportInput) -> Result<Report> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let reporter = viewer.require_person()?;
        let user = input.user_id.as_ref().map(|u| parse_id("userId", u)).transpose()?;
        let org = input.organization_id.as_ref().map(|o| parse_id("organizationId", o)).transpose()?;
        let subject = match (user, org) {
            (Some(u), None) => Subject {
                module: "accounts",
                kind: ReportSubject::Account,
                id: Some(u),
                responsible_user: Some(u),
                organization: None,
            },
            (None, Some(o)) => Subject {
                module: "accounts",
                kind: ReportSubject::Organization,
                id: Some(o),
                responsible_user: None,
                organization: Some(o),
            },
            _ => {
                return Err(crate::error::invalid("userId", "report either an account or an organisation").into());
            }
        };
        let evidence = input.evidence_file_id.as_ref().map(|f| parse_id("evidenceFileId", f)).transpose()?;
        let row = reports::file(app, reporter, subject, input.category, &input.description, evidence).await?;
        Ok(Report { row, reviewer: false })
    }

    /// Takes up, upholds (optionally restricting the account) or dismisses a report; outcomes need a reason.
    async fn review_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        decision: Decision,
        reason: Option<String>,
        restrict: Option<RestrictInput>,
    ) -> Result<Report> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let reviewer = viewer.require_admin()?;
        let spec = restrict.map(|r| RestrictionSpec { actions: r.actions, days: r.days });
        let row = reports::review(app, reviewer, parse_id("id", &id)?, decision, reason.as_deref(), spec).await?;
        Ok(Report { row, reviewer: true })
    }

    async fn lift_restriction(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        viewer.require_admin()?;
        Ok(reports::lift(app, parse_id("id", &id)?).await?)
    }
}
