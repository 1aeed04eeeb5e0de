//! Reports and disputes about cooperation: filed through accounts' report desk, with the person
//! responsible named, so an open one blocks that person's cancellation and one filed while it is
//! pending puts it on hold (CAN-1, CAN-2).

use uuid::Uuid;
use xqt_accounts::reports::{ReportCategory, ReportSubject, Subject};
use xqt_kernel::{AppContext, AppResult};

use crate::{applications, posts};

/// Reports a post the reporter can see; its author answers for it.
pub async fn report_post(
    ctx: &AppContext,
    reporter: Uuid,
    post_id: Uuid,
    category: ReportCategory,
    description: &str,
    evidence: Option<Uuid>,
) -> AppResult<xqt_accounts::entity::report::Model> {
    let p = posts::visible(ctx, Some(reporter), post_id).await?;
    let subject = Subject {
        module: "cooperation",
        kind: ReportSubject::Post,
        id: Some(p.id),
        responsible_user: Some(p.author_id),
        organization: p.organization_id,
    };
    xqt_accounts::reports::file(ctx, reporter, subject, category, description, evidence).await
}

/// A dispute over an application, by one side against the other.
pub async fn report_application(
    ctx: &AppContext,
    reporter: Uuid,
    application_id: Uuid,
    category: ReportCategory,
    description: &str,
    evidence: Option<Uuid>,
) -> AppResult<xqt_accounts::entity::report::Model> {
    let (a, side) = applications::visible(ctx, reporter, application_id).await?;
    let contact_side = match side {
        applications::Side::Applicant => {
            posts::find(ctx, a.post_id).await?.map(|p| (p.author_id, a.owner_organization_id))
        }
        applications::Side::Owner => Some((a.applicant_id, a.applicant_organization_id)),
    };
    let (responsible, organization) = contact_side.unwrap_or((a.applicant_id, None));
    let subject = Subject {
        module: "cooperation",
        kind: ReportSubject::Application,
        id: Some(a.id),
        responsible_user: Some(responsible),
        organization,
    };
    xqt_accounts::reports::file(ctx, reporter, subject, category, description, evidence).await
}
