//! Applications with mutual consent. A person (for themselves or their organisation) applies to
//! a published demand, or an organisation invites a talent entry's person through one of its
//! posts; the post's side moves it applied → viewed → shortlisted → accepted | declined, the
//! starting side may withdraw it while it is open. Each step is notified to the other side.
//! Contact details stay hidden until both sides said yes (applying or inviting is the starting
//! side's yes, accepting the other's); then each sees the other's, and a direct conversation
//! opens through chat's service API.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set};
use sea_orm::{Condition, SqlErr};
use uuid::Uuid;
use xqt_kernel::text::Text;
use xqt_kernel::{AppContext, AppResult, ids};
use xqt_notifications::NotificationKind;
use xqt_notifications::inbox::{NewNotification, notify};

use crate::entity::application::{self, ApplicationState, Direction};
use crate::entity::post::{self, PostKind, PostState};
use crate::error::{CooperationError, invalid, state};
use crate::posts;

/// Which side of an application a person is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The person who applied (or was invited).
    Applicant,
    /// The post's author or a manager of its organisation.
    Owner,
}

fn check_message(message: Option<&str>) -> Result<Option<String>, CooperationError> {
    Text::block(1, 1000).check_optional(message).map_err(|m| invalid("message", m))
}

/// The person's side of the application, or NOT_FOUND when they are on neither.
pub async fn side_of(ctx: &AppContext, user: Uuid, a: &application::Model) -> AppResult<Side> {
    if a.applicant_id == user {
        return Ok(Side::Applicant);
    }
    let p = posts::find(ctx, a.post_id).await?;
    if p.as_ref().is_some_and(|p| p.author_id == user) {
        return Ok(Side::Owner);
    }
    if let Some(org) = a.owner_organization_id
        && xqt_accounts::organizations::role_of(ctx, org, user).await?.is_some_and(|r| r.manages())
    {
        return Ok(Side::Owner);
    }
    Err(CooperationError::NotFound("application").into())
}

/// The application and the person's side in it.
pub async fn find_any(ctx: &AppContext, id: Uuid) -> AppResult<Option<application::Model>> {
    Ok(application::Entity::find_by_id(id).one(&ctx.db).await?)
}

pub async fn visible(ctx: &AppContext, user: Uuid, id: Uuid) -> AppResult<(application::Model, Side)> {
    let a = application::Entity::find_by_id(id).one(&ctx.db).await?.ok_or(CooperationError::NotFound("application"))?;
    let side = side_of(ctx, user, &a).await?;
    Ok((a, side))
}

fn open_key(post: Uuid, applicant: Uuid) -> String {
    format!("{post}:{applicant}")
}

/// A new open application to `p`.
fn open(
    ctx: &AppContext,
    p: &post::Model,
    direction: Direction,
    applicant: Uuid,
    applicant_organization: Option<Uuid>,
    talent_post: Option<Uuid>,
    message: Option<String>,
) -> application::ActiveModel {
    let now = ctx.clock.now();
    application::ActiveModel {
        id: Set(ids::new_id()),
        post_id: Set(p.id),
        owner_organization_id: Set(p.organization_id),
        direction: Set(direction),
        applicant_id: Set(applicant),
        applicant_organization_id: Set(applicant_organization),
        talent_post_id: Set(talent_post),
        state: Set(ApplicationState::Applied),
        message: Set(message),
        reason: Set(None),
        open_key: Set(Some(open_key(p.id, applicant))),
        conversation_id: Set(None),
        accepted_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

async fn insert(ctx: &AppContext, row: application::ActiveModel) -> AppResult<application::Model> {
    match row.insert(&ctx.db).await {
        Ok(a) => Ok(a),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(CooperationError::AlreadyApplied.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The person applies to a published demand, for themselves or on behalf of an organisation
/// they belong to (not a student of it).
pub async fn apply(
    ctx: &AppContext,
    applicant: Uuid,
    post_id: Uuid,
    on_behalf_of: Option<Uuid>,
    message: Option<&str>,
) -> AppResult<application::Model> {
    let message = check_message(message)?;
    xqt_accounts::verification::require_verified(ctx, applicant).await?;
    let p = posts::visible(ctx, Some(applicant), post_id).await?;
    if p.state != PostState::Published {
        return Err(state("post", p.state, "published").into());
    }
    if p.kind == PostKind::Talent {
        return Err(invalid("postId", "a talent entry is invited, not applied to").into());
    }
    if p.author_id == applicant {
        return Err(invalid("postId", "this is your own post").into());
    }
    if let Some(org) = p.organization_id
        && xqt_accounts::organizations::role_of(ctx, org, applicant).await?.is_some()
    {
        return Err(invalid("postId", "a post of your own organisation").into());
    }
    if let Some(org) = on_behalf_of {
        match xqt_accounts::organizations::role_of(ctx, org, applicant).await? {
            None => return Err(CooperationError::NotFound("organization").into()),
            Some(xqt_accounts::entity::organization_member::MemberRole::Student) => {
                return Err(CooperationError::NotAllowed("a student applies for themselves").into());
            }
            Some(_) if !xqt_accounts::organizations::is_approved(ctx, org).await? => {
                return Err(CooperationError::NotVerified("the organisation is not verified yet").into());
            }
            Some(_) => {}
        }
    }
    let a = insert(ctx, open(ctx, &p, Direction::Apply, applicant, on_behalf_of, None, message)).await?;
    tell(ctx, p.author_id, NotificationKind::ApplicationReceived, "收到新的合作申请", &p.title).await?;
    announce(ctx, &a).await;
    tracing::info!(application = %a.id, post = %p.id, "applied");
    Ok(a)
}

/// An organisation invites a talent entry's person through one of its own published posts.
pub async fn invite(
    ctx: &AppContext,
    inviter: Uuid,
    post_id: Uuid,
    talent_post_id: Uuid,
    message: Option<&str>,
) -> AppResult<application::Model> {
    let message = check_message(message)?;
    let p = posts::require_editor(ctx, inviter, post_id).await?;
    if p.state != PostState::Published || p.kind == PostKind::Talent {
        return Err(invalid("postId", "invite through one of your published demands").into());
    }
    let talent = posts::visible(ctx, Some(inviter), talent_post_id).await?;
    if talent.kind != PostKind::Talent || talent.state != PostState::Published {
        return Err(invalid("talentPostId", "a published talent entry").into());
    }
    if talent.author_id == inviter {
        return Err(invalid("talentPostId", "this is your own talent entry").into());
    }
    let row = open(ctx, &p, Direction::Invite, talent.author_id, talent.organization_id, Some(talent.id), message);
    let a = insert(ctx, row).await?;
    tell(ctx, talent.author_id, NotificationKind::ApplicationReceived, "收到合作邀请", &p.title).await?;
    announce(ctx, &a).await;
    Ok(a)
}

async fn announce(ctx: &AppContext, a: &application::Model) {
    let event =
        crate::events::Event::ApplicationChanged { application: a.id, post: a.post_id, state: a.state.to_string() };
    crate::events::emit(ctx, event).await;
}

async fn tell(ctx: &AppContext, user: Uuid, kind: NotificationKind, title: &str, body: &str) -> AppResult<()> {
    notify(ctx, NewNotification { user_id: user, kind, title: title.into(), body: body.chars().take(200).collect() })
        .await
        .map(|_| ())
}

/// What a person may do next, and who is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "ApplicationStep")]
pub enum Step {
    /// The deciding side read it (also happens when they open it).
    View,
    Shortlist,
    /// The deciding side says yes: both have now agreed.
    Accept,
    Decline,
    /// The starting side takes it back.
    Withdraw,
}

/// The side that decides: the post's side for an application, the invited person for an invitation.
pub fn decides(a: &application::Model, side: Side) -> bool {
    match a.direction {
        Direction::Apply => side == Side::Owner,
        Direction::Invite => side == Side::Applicant,
    }
}

/// Moves the application one step.
pub async fn step(
    ctx: &AppContext,
    user: Uuid,
    id: Uuid,
    step: Step,
    reason: Option<&str>,
) -> AppResult<application::Model> {
    let reason = Text::block(1, 500).check_optional(reason).map_err(|m| invalid("reason", m))?;
    let (a, side) = visible(ctx, user, id).await?;
    let deciding = decides(&a, side);
    let to = match (step, a.state) {
        (Step::View, ApplicationState::Applied) if deciding => ApplicationState::Viewed,
        (Step::View, s) if deciding && s != ApplicationState::Applied => return Ok(a),
        (Step::Shortlist, ApplicationState::Applied | ApplicationState::Viewed) if deciding => {
            ApplicationState::Shortlisted
        }
        (Step::Accept, s) if deciding && s.is_open() => ApplicationState::Accepted,
        (Step::Decline, s) if deciding && s.is_open() => ApplicationState::Declined,
        (Step::Withdraw, s) if !deciding && s.is_open() => ApplicationState::Withdrawn,
        (_, s) if !s.is_open() => return Err(state("application", s, "open").into()),
        _ => return Err(CooperationError::NotAllowed("the other side of the application takes this step").into()),
    };
    if to == ApplicationState::Accepted {
        return accept(ctx, user, a).await;
    }
    let now = ctx.clock.now();
    let mut row = a.clone().into_active_model();
    row.state = Set(to);
    row.updated_at = Set(now);
    if !to.is_open() {
        row.open_key = Set(None);
        row.reason = Set(reason);
    }
    // Guarded on the state read, so two steps at once do not both apply.
    let done = application::Entity::update_many()
        .set(row)
        .filter(application::Column::Id.eq(a.id))
        .filter(application::Column::State.eq(a.state))
        .exec(&ctx.db)
        .await?;
    if done.rows_affected == 0 {
        return Err(CooperationError::Changed("application").into());
    }
    let a = find(ctx, a.id).await?;
    let other = other_side_person(ctx, &a, side).await?;
    let title = match to {
        ApplicationState::Viewed => "你的合作申请已被查看",
        ApplicationState::Shortlisted => "你的合作申请已进入候选",
        ApplicationState::Declined => "合作申请未通过",
        _ => "合作申请已撤回",
    };
    tell(ctx, other, NotificationKind::ApplicationUpdated, title, a.reason.as_deref().unwrap_or("")).await?;
    announce(ctx, &a).await;
    Ok(a)
}

async fn find(ctx: &AppContext, id: Uuid) -> AppResult<application::Model> {
    Ok(application::Entity::find_by_id(id).one(&ctx.db).await?.ok_or(CooperationError::NotFound("application"))?)
}

/// The person on the other side: the applicant, or the post's author.
async fn other_side_person(ctx: &AppContext, a: &application::Model, side: Side) -> AppResult<Uuid> {
    match side {
        Side::Owner => Ok(a.applicant_id),
        Side::Applicant => Ok(posts::find(ctx, a.post_id).await?.ok_or(CooperationError::NotFound("post"))?.author_id),
    }
}

/// Both sides agreed: the state moves once (guarded), then the conversation opens between the
/// applicant and the post's author through chat's service API.
async fn accept(ctx: &AppContext, user: Uuid, a: application::Model) -> AppResult<application::Model> {
    let now = ctx.clock.now();
    let done = application::Entity::update_many()
        .col_expr(application::Column::State, sea_orm::sea_query::Expr::value(ApplicationState::Accepted.as_str()))
        .col_expr(application::Column::OpenKey, sea_orm::sea_query::Expr::value(Option::<String>::None))
        .col_expr(application::Column::AcceptedAt, sea_orm::sea_query::Expr::value(now))
        .col_expr(application::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now))
        .filter(application::Column::Id.eq(a.id))
        .filter(application::Column::State.eq(a.state))
        .exec(&ctx.db)
        .await?;
    if done.rows_affected == 0 {
        return Err(CooperationError::Changed("application").into());
    }
    let author = posts::find(ctx, a.post_id).await?.ok_or(CooperationError::NotFound("post"))?.author_id;
    let conversation = xqt_chat::conversations::open_direct(ctx, author, a.applicant_id).await?;
    let mut row = find(ctx, a.id).await?.into_active_model();
    row.conversation_id = Set(Some(conversation.id));
    let a = row.update(&ctx.db).await?;
    let other = if user == a.applicant_id { author } else { a.applicant_id };
    tell(
        ctx,
        other,
        NotificationKind::ApplicationUpdated,
        "合作申请已达成",
        "双方已同意，可查看对方联系方式并开始沟通",
    )
    .await?;
    tracing::info!(application = %a.id, conversation = %conversation.id, "application accepted by both sides");
    announce(ctx, &a).await;
    Ok(a)
}

/// The other side's contact person and phone: shown to either side once both agreed;
/// FORBIDDEN (reason `NOT_ACCEPTED`) before.
pub struct Contact {
    pub user_id: Uuid,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub organization: Option<Uuid>,
}

pub async fn contact(ctx: &AppContext, a: &application::Model, side: Side) -> AppResult<Contact> {
    if a.state != ApplicationState::Accepted {
        return Err(CooperationError::ContactsHidden.into());
    }
    let other = other_side_person(ctx, a, side).await?;
    let account = xqt_accounts::users::find(ctx, other).await?;
    let phone = match &account {
        Some(u) if u.status != xqt_accounts::users::AccountStatus::Erased => {
            xqt_accounts::users::phone_of(ctx, u)?.map(|p| p.as_str().to_owned())
        }
        _ => None,
    };
    let name = if phone.is_some() { xqt_accounts::verification::verified_name(ctx, other).await? } else { None };
    let organization = match side {
        Side::Applicant => a.owner_organization_id,
        Side::Owner => a.applicant_organization_id,
    };
    Ok(Contact { user_id: other, name, phone, organization })
}

/// Applications the person sent (or was invited to), or received on their posts and their
/// organisations' posts, newest first.
pub async fn list(ctx: &AppContext, user: Uuid, received: bool, limit: u64) -> AppResult<Vec<application::Model>> {
    let q = application::Entity::find();
    let q = if received {
        let managed: Vec<Uuid> = xqt_accounts::organizations::memberships(ctx, user)
            .await?
            .into_iter()
            .filter(|m| m.role.manages())
            .map(|m| m.organization_id)
            .collect();
        let authored = post::Entity::find()
            .select_only()
            .column(post::Column::Id)
            .filter(post::Column::AuthorId.eq(user))
            .into_tuple::<Uuid>()
            .all(&ctx.db)
            .await?;
        let mut any = Condition::any().add(application::Column::PostId.is_in(authored));
        if !managed.is_empty() {
            any = any.add(application::Column::OwnerOrganizationId.is_in(managed));
        }
        q.filter(any).filter(application::Column::ApplicantId.ne(user))
    } else {
        q.filter(application::Column::ApplicantId.eq(user))
    };
    Ok(q.order_by_desc(application::Column::Id).limit(limit).all(&ctx.db).await?)
}

/// How many applications each of these posts has: one statement for a page of posts.
pub async fn counts(ctx: &AppContext, post_ids: &[Uuid]) -> AppResult<std::collections::HashMap<Uuid, i64>> {
    if post_ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(Uuid, i64)> = application::Entity::find()
        .select_only()
        .column(application::Column::PostId)
        .column_as(application::Column::Id.count(), "n")
        .filter(application::Column::PostId.is_in(post_ids.iter().copied()))
        .group_by(application::Column::PostId)
        .into_tuple()
        .all(&ctx.db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Everything the person applied with, for export.
pub async fn of_applicant(ctx: &AppContext, user: Uuid) -> AppResult<Vec<application::Model>> {
    Ok(application::Entity::find().filter(application::Column::ApplicantId.eq(user)).all(&ctx.db).await?)
}

/// On erasure: the person's open applications are withdrawn and their messages dropped.
pub async fn forget_applicant(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    use sea_orm::sea_query::Expr;
    let open = [ApplicationState::Applied, ApplicationState::Viewed, ApplicationState::Shortlisted];
    let withdrawn = application::Entity::update_many()
        .col_expr(application::Column::State, Expr::value(ApplicationState::Withdrawn.as_str()))
        .col_expr(application::Column::OpenKey, Expr::value(Option::<String>::None))
        .filter(application::Column::ApplicantId.eq(user))
        .filter(application::Column::State.is_in(open))
        .exec(&ctx.db)
        .await?
        .rows_affected;
    let cleared = application::Entity::update_many()
        .col_expr(application::Column::Message, Expr::value(Option::<String>::None))
        .filter(application::Column::ApplicantId.eq(user))
        .filter(application::Column::Message.is_not_null())
        .exec(&ctx.db)
        .await?
        .rows_affected;
    Ok(withdrawn + cleared)
}
