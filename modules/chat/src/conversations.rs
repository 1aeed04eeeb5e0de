//! Conversations and who is in them: one direct conversation per pair, groups with an owner,
//! admins and members, and one channel per organisation whose members are its members.

use std::collections::BTreeSet;

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set, SqlErr};
use uuid::Uuid;
use xqt_kernel::pagination::{ListOrder, PageRequest};
use xqt_kernel::text::Text;
use xqt_kernel::{AppContext, AppResult, ids};

use crate::changes;
use crate::entity::conversation::ConversationKind;
use crate::entity::member::ChatRole;
use crate::entity::{conversation, member};
use crate::error::{ChatError, invalid};
use crate::live::{self, Event, MembershipChange};
use crate::messages;

pub const NAME_MAX: usize = 64;
/// People added in one call.
pub const ADD_MAX: usize = 100;

impl ChatRole {
    /// Owners and admins manage members and may recall anyone's message at any time.
    pub fn manages(self) -> bool {
        self >= ChatRole::Admin
    }
}

fn direct_key(a: Uuid, b: Uuid) -> String {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    format!("{lo}:{hi}")
}

fn check_name(name: &str) -> Result<String, ChatError> {
    Text::line(1, NAME_MAX).check(name).map_err(|m| invalid("name", m))
}

async fn require_account(ctx: &AppContext, user: Uuid, field: &'static str) -> AppResult<()> {
    match xqt_accounts::users::find(ctx, user).await? {
        Some(u) if u.status == xqt_accounts::users::AccountStatus::Active => Ok(()),
        _ => Err(invalid(field, format!("no account {user}")).into()),
    }
}

fn new_member(
    conversation: Uuid,
    user: Uuid,
    role: ChatRole,
    now: chrono::DateTime<chrono::Utc>,
) -> member::ActiveModel {
    member::ActiveModel {
        conversation_id: Set(conversation),
        user_id: Set(user),
        role: Set(role),
        last_read_seq: Set(0),
        muted: Set(false),
        joined_at: Set(now),
    }
}

fn new_conversation(
    kind: ConversationKind,
    creator: Option<Uuid>,
    now: chrono::DateTime<chrono::Utc>,
) -> conversation::ActiveModel {
    let id = ids::new_id();
    conversation::ActiveModel {
        id: Set(id),
        last_activity: Set(id),
        kind: Set(kind),
        name: Set(None),
        avatar_file_id: Set(None),
        organization_id: Set(None),
        direct_key: Set(None),
        created_by: Set(creator),
        last_seq: Set(0),
        last_position: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        last_changed_at: Set(Some(now)),
    }
}

pub async fn find(ctx: &AppContext, id: Uuid) -> AppResult<Option<conversation::Model>> {
    Ok(conversation::Entity::find_by_id(id).one(&ctx.db).await?)
}

pub async fn membership(ctx: &AppContext, conversation: Uuid, user: Uuid) -> AppResult<Option<member::Model>> {
    Ok(member::Entity::find_by_id((conversation, user)).one(&ctx.db).await?)
}

/// The conversation and the person's place in it, or NOT_FOUND for anyone outside it. A
/// channel follows the organisation: a member of it joins on first access, a former member
/// is dropped.
pub async fn require_member(
    ctx: &AppContext,
    conversation_id: Uuid,
    user: Uuid,
) -> AppResult<(conversation::Model, member::Model)> {
    let not_found = || ChatError::NotFound("conversation");
    // A member of a group or direct conversation (every message sent): one read for both rows.
    if let Some((m, Some(c))) =
        member::Entity::find_by_id((conversation_id, user)).find_also_related(conversation::Entity).one(&ctx.db).await?
        && c.kind != ConversationKind::Channel
    {
        return Ok((c, m));
    }
    let c = find(ctx, conversation_id).await?.ok_or_else(not_found)?;
    let m = membership(ctx, conversation_id, user).await?;
    if c.kind != ConversationKind::Channel {
        return Ok((c, m.ok_or_else(not_found)?));
    }
    let org = c.organization_id.ok_or_else(not_found)?;
    let in_org = xqt_accounts::organizations::role_of(ctx, org, user).await?;
    match (in_org, m) {
        (Some(_), Some(m)) => Ok((c, m)),
        (Some(role), None) => {
            let m = join_channel(ctx, &c, user, channel_role(role)).await?;
            Ok((c, m))
        }
        (None, Some(_)) => {
            leave_channel(ctx, conversation_id, user).await?;
            Err(not_found().into())
        }
        (None, None) => Err(not_found().into()),
    }
}

/// Puts a member of the organisation into its channel (when it exists): joined at the present,
/// since what was said before is not theirs to count as unread.
async fn join_channel(
    ctx: &AppContext,
    c: &conversation::Model,
    user: Uuid,
    role: ChatRole,
) -> AppResult<member::Model> {
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let mut row = new_member(c.id, user, role, ctx.clock.now());
    row.last_read_seq = Set(c.last_seq);
    let m = match row.insert(&txn).await {
        Ok(m) => m,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            drop(txn);
            return membership(ctx, c.id, user).await?.ok_or_else(|| ChatError::NotFound("conversation").into());
        }
        Err(e) => return Err(e.into()),
    };
    let position = changes::record_members(&txn, ctx, c.id, MembershipChange::Joined, &[user]).await?;
    txn.commit().await?;
    live::announce_joined(ctx, c.id, &[user]).await;
    live::publish(
        ctx,
        c.id,
        Some(position),
        &Event::Members { user_ids: vec![user], change: MembershipChange::Joined },
    )
    .await;
    Ok(m)
}

/// Takes someone no longer in the organisation out of its channel; their streams end at once.
async fn leave_channel(ctx: &AppContext, conversation: Uuid, user: Uuid) -> AppResult<()> {
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let gone = member::Entity::delete_by_id((conversation, user)).exec(&txn).await?.rows_affected;
    if gone == 0 {
        return Ok(()); // taken out already (by another instance, or lazily on access)
    }
    let position = changes::record_members(&txn, ctx, conversation, MembershipChange::Removed, &[user]).await?;
    txn.commit().await?;
    live::publish(
        ctx,
        conversation,
        Some(position),
        &Event::Members { user_ids: vec![user], change: MembershipChange::Removed },
    )
    .await;
    Ok(())
}

fn channel_role(role: xqt_accounts::entity::organization_member::MemberRole) -> ChatRole {
    if role.manages() { ChatRole::Admin } else { ChatRole::Member }
}

async fn channel_of(ctx: &AppContext, organization: Uuid) -> AppResult<Option<conversation::Model>> {
    Ok(conversation::Entity::find().filter(conversation::Column::OrganizationId.eq(organization)).one(&ctx.db).await?)
}

/// Someone joined the organisation: they are in its channel from now on.
pub async fn organization_joined(ctx: &AppContext, organization: Uuid, user: Uuid) -> AppResult<()> {
    let Some(c) = channel_of(ctx, organization).await? else { return Ok(()) };
    if let Some(role) = xqt_accounts::organizations::role_of(ctx, organization, user).await? {
        join_channel(ctx, &c, user, channel_role(role)).await?;
    }
    Ok(())
}

/// Someone left or was removed from the organisation: out of its channel at once — live streams,
/// inbox and conversation list.
pub async fn organization_left(ctx: &AppContext, organization: Uuid, user: Uuid) -> AppResult<()> {
    match channel_of(ctx, organization).await? {
        Some(c) => leave_channel(ctx, c.id, user).await,
        None => Ok(()),
    }
}

/// The direct conversation between the two, created on first use.
pub async fn open_direct(ctx: &AppContext, me: Uuid, other: Uuid) -> AppResult<conversation::Model> {
    if me == other {
        return Err(invalid("userId", "a direct conversation is with someone else").into());
    }
    xqt_accounts::verification::require_verified(ctx, me).await?;
    require_account(ctx, other, "userId").await?;
    let key = direct_key(me, other);
    let existing = || conversation::Entity::find().filter(conversation::Column::DirectKey.eq(key.clone())).one(&ctx.db);
    if let Some(c) = existing().await? {
        return Ok(c);
    }
    let now = ctx.clock.now();
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let mut row = new_conversation(ConversationKind::Direct, Some(me), now);
    row.direct_key = Set(Some(key.clone()));
    let c = match row.insert(&txn).await {
        Ok(c) => c,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            drop(txn);
            return existing().await?.ok_or_else(|| ChatError::NotFound("conversation").into());
        }
        Err(e) => return Err(e.into()),
    };
    for user in [me, other] {
        new_member(c.id, user, ChatRole::Member, now).insert(&txn).await?;
    }
    txn.commit().await?;
    live::announce_joined(ctx, c.id, &[me, other]).await;
    Ok(c)
}

/// A new group with the creator as owner.
pub async fn create_group(ctx: &AppContext, me: Uuid, name: &str, members: &[Uuid]) -> AppResult<conversation::Model> {
    xqt_accounts::verification::require_verified(ctx, me).await?;
    let name = check_name(name)?;
    let others: BTreeSet<Uuid> = members.iter().copied().filter(|u| *u != me).collect();
    if others.len() > ADD_MAX {
        return Err(invalid("memberIds", format!("at most {ADD_MAX} people at a time")).into());
    }
    let max = ctx.config.section::<crate::config::ChatConfig>().max_group_members;
    if others.len() + 1 > max {
        return Err(ChatError::GroupFull(max).into());
    }
    for u in &others {
        require_account(ctx, *u, "memberIds").await?;
    }
    let now = ctx.clock.now();
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let mut row = new_conversation(ConversationKind::Group, Some(me), now);
    row.name = Set(Some(name.clone()));
    let c = row.insert(&txn).await?;
    new_member(c.id, me, ChatRole::Owner, now).insert(&txn).await?;
    for u in &others {
        new_member(c.id, *u, ChatRole::Member, now).insert(&txn).await?;
    }
    txn.commit().await?;
    live::announce_joined(ctx, c.id, &[me].into_iter().chain(others.iter().copied()).collect::<Vec<_>>()).await;
    messages::post_system(ctx, c.id, "group.created", serde_json::json!({ "by": me, "name": name })).await?;
    Ok(c)
}

/// The organisation's channel, created on first use with every member of the organisation in
/// it; only its members reach it.
pub async fn organization_channel(
    ctx: &AppContext,
    me: Uuid,
    organization: Uuid,
) -> AppResult<(conversation::Model, member::Model)> {
    if xqt_accounts::organizations::role_of(ctx, organization, me).await?.is_none() {
        return Err(ChatError::NotFound("organization").into());
    }
    let c = match channel_of(ctx, organization).await? {
        Some(c) => c,
        None => open_channel(ctx, me, organization).await?,
    };
    require_member(ctx, c.id, me).await
}

async fn open_channel(ctx: &AppContext, me: Uuid, organization: Uuid) -> AppResult<conversation::Model> {
    let org = xqt_accounts::organizations::find(ctx, organization).await?.ok_or(ChatError::NotFound("organization"))?;
    let people = xqt_accounts::organizations::members(ctx, organization).await?;
    let now = ctx.clock.now();
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let mut row = new_conversation(ConversationKind::Channel, Some(me), now);
    row.organization_id = Set(Some(organization));
    row.name = Set(Some(org.name.chars().take(NAME_MAX).collect()));
    let c = match row.insert(&txn).await {
        Ok(c) => c,
        // Opened meanwhile by someone else, members and all.
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            drop(txn);
            return channel_of(ctx, organization).await?.ok_or_else(|| ChatError::NotFound("conversation").into());
        }
        Err(e) => return Err(e.into()),
    };
    let mut users = Vec::with_capacity(people.len());
    for p in &people {
        new_member(c.id, p.user_id, channel_role(p.role), now).insert(&txn).await?;
        users.push(p.user_id);
    }
    txn.commit().await?;
    live::announce_joined(ctx, c.id, &users).await;
    Ok(c)
}

/// All of the person's conversations, most recently active first (channels of their
/// organisations included once opened): for export, erasure and the inbox.
pub async fn mine(ctx: &AppContext, me: Uuid) -> AppResult<Vec<(conversation::Model, member::Model)>> {
    let memberships = member::Entity::find().filter(member::Column::UserId.eq(me)).all(&ctx.db).await?;
    let ids: Vec<Uuid> = memberships.iter().map(|m| m.conversation_id).collect();
    let conversations = conversation::Entity::find()
        .filter(conversation::Column::Id.is_in(ids))
        .order_by_desc(conversation::Column::LastActivity)
        .all(&ctx.db)
        .await?;
    let mut out = Vec::with_capacity(conversations.len());
    for c in conversations {
        if let Some(m) = memberships.iter().find(|m| m.conversation_id == c.id) {
            out.push((c, m.clone()));
        }
    }
    Ok(out)
}

/// One page of the person's conversations, most recently active first.
/// The members of several conversations in one query.
pub async fn members_of_many(ctx: &AppContext, conversations: &[Uuid]) -> AppResult<Vec<member::Model>> {
    Ok(member::Entity::find()
        .filter(member::Column::ConversationId.is_in(conversations.iter().copied()))
        .all(&ctx.db)
        .await?)
}

/// Whether `a` and `b` are members of one conversation (each sees the other there).
pub async fn share_a_conversation(ctx: &AppContext, a: Uuid, b: Uuid) -> AppResult<bool> {
    let of_a = Query::select()
        .column(member::Column::ConversationId)
        .from(member::Entity)
        .and_where(Expr::col(member::Column::UserId).eq(a))
        .to_owned();
    let shared = member::Entity::find()
        .filter(member::Column::UserId.eq(b))
        .filter(member::Column::ConversationId.in_subquery(of_a))
        .one(&ctx.db)
        .await?;
    Ok(shared.is_some())
}

/// Chat's acquaintances: people in one conversation.
pub struct CoMembers;

#[async_trait::async_trait]
impl xqt_kernel::module::Acquaintance for CoMembers {
    async fn acquainted(&self, ctx: &AppContext, a: Uuid, b: Uuid) -> AppResult<bool> {
        share_a_conversation(ctx, a, b).await
    }
}

pub async fn page_mine(
    ctx: &AppContext,
    me: Uuid,
    page: &PageRequest,
) -> AppResult<Vec<(conversation::Model, member::Model)>> {
    let mine = Query::select()
        .column(member::Column::ConversationId)
        .from(member::Entity)
        .and_where(Expr::col(member::Column::UserId).eq(me))
        .to_owned();
    let q = conversation::Entity::find().filter(conversation::Column::Id.in_subquery(mine));
    let conversations = page.apply(q, conversation::Column::LastActivity, ListOrder::NewestFirst)?.all(&ctx.db).await?;
    let ids: Vec<Uuid> = conversations.iter().map(|c| c.id).collect();
    let memberships = member::Entity::find()
        .filter(member::Column::UserId.eq(me))
        .filter(member::Column::ConversationId.is_in(ids))
        .all(&ctx.db)
        .await?;
    Ok(conversations
        .into_iter()
        .filter_map(|c| {
            let m = memberships.iter().find(|m| m.conversation_id == c.id)?.clone();
            Some((c, m))
        })
        .collect())
}

pub async fn members(ctx: &AppContext, conversation: Uuid) -> AppResult<Vec<member::Model>> {
    Ok(member::Entity::find()
        .filter(member::Column::ConversationId.eq(conversation))
        .order_by_asc(member::Column::JoinedAt)
        .all(&ctx.db)
        .await?)
}

async fn require_group_manager(
    ctx: &AppContext,
    conversation: Uuid,
    me: Uuid,
) -> AppResult<(conversation::Model, member::Model)> {
    let (c, m) = require_member(ctx, conversation, me).await?;
    if c.kind != ConversationKind::Group {
        return Err(ChatError::NotAllowed("only groups have members to manage").into());
    }
    if !m.role.manages() {
        return Err(ChatError::NotAllowed("only the group's owner and admins can do this").into());
    }
    Ok((c, m))
}

/// Adds people to a group (owner and admins).
pub async fn add_members(ctx: &AppContext, me: Uuid, conversation: Uuid, users: &[Uuid]) -> AppResult<Vec<Uuid>> {
    require_group_manager(ctx, conversation, me).await?;
    let wanted: BTreeSet<Uuid> = users.iter().copied().collect();
    if wanted.is_empty() || wanted.len() > ADD_MAX {
        return Err(invalid("userIds", format!("1 to {ADD_MAX} people")).into());
    }
    let present: BTreeSet<Uuid> = members(ctx, conversation).await?.into_iter().map(|m| m.user_id).collect();
    let added: Vec<Uuid> = wanted.difference(&present).copied().collect();
    let max = ctx.config.section::<crate::config::ChatConfig>().max_group_members;
    if present.len() + added.len() > max {
        return Err(ChatError::GroupFull(max).into());
    }
    for u in &added {
        require_account(ctx, *u, "userIds").await?;
    }
    if added.is_empty() {
        return Ok(added);
    }
    let now = ctx.clock.now();
    let last_seq = find(ctx, conversation).await?.map_or(0, |c| c.last_seq);
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    for u in &added {
        let mut row = new_member(conversation, *u, ChatRole::Member, now);
        row.last_read_seq = Set(last_seq);
        row.insert(&txn).await?;
    }
    let position = changes::record_members(&txn, ctx, conversation, MembershipChange::Joined, &added).await?;
    txn.commit().await?;
    live::announce_joined(ctx, conversation, &added).await;
    let joined = Event::Members { user_ids: added.clone(), change: MembershipChange::Joined };
    live::publish(ctx, conversation, Some(position), &joined).await;
    messages::post_system(ctx, conversation, "group.joined", serde_json::json!({ "by": me, "users": added })).await?;
    Ok(added)
}

/// Removes someone from a group: the owner removes anyone, an admin only plain members.
pub async fn remove_member(ctx: &AppContext, me: Uuid, conversation: Uuid, target: Uuid) -> AppResult<()> {
    let (_, mine) = require_group_manager(ctx, conversation, me).await?;
    if target == me {
        return Err(invalid("userId", "use leaveConversation to leave").into());
    }
    let theirs = membership(ctx, conversation, target).await?.ok_or(ChatError::NotFound("member"))?;
    if theirs.role >= mine.role {
        return Err(ChatError::NotAllowed("you can only remove people below your role").into());
    }
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    member::Entity::delete_by_id((conversation, target)).exec(&txn).await?;
    let position = changes::record_members(&txn, ctx, conversation, MembershipChange::Removed, &[target]).await?;
    txn.commit().await?;
    let removed = Event::Members { user_ids: vec![target], change: MembershipChange::Removed };
    live::publish(ctx, conversation, Some(position), &removed).await;
    messages::post_system(ctx, conversation, "group.removed", serde_json::json!({ "by": me, "user": target })).await?;
    Ok(())
}

/// Makes the longest-standing admin, or else the longest-standing member, the group's owner:
/// called once the owner is gone (leaving, or erased).
pub(crate) async fn hand_over(db: &impl ConnectionTrait, conversation: Uuid) -> AppResult<()> {
    let rest = member::Entity::find()
        .filter(member::Column::ConversationId.eq(conversation))
        .order_by_asc(member::Column::JoinedAt)
        .all(db)
        .await?;
    if let Some(heir) = rest.iter().find(|r| r.role == ChatRole::Admin).or(rest.first()) {
        member::Entity::update_many()
            .col_expr(member::Column::Role, Expr::value(ChatRole::Owner))
            .filter(member::Column::ConversationId.eq(conversation))
            .filter(member::Column::UserId.eq(heir.user_id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Leaves a group; an owner who leaves hands the group to the longest-standing admin, or else
/// the longest-standing member.
pub async fn leave(ctx: &AppContext, me: Uuid, conversation: Uuid) -> AppResult<()> {
    let (c, m) = require_member(ctx, conversation, me).await?;
    if c.kind != ConversationKind::Group {
        return Err(ChatError::NotAllowed("only groups can be left").into());
    }
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    member::Entity::delete_by_id((conversation, me)).exec(&txn).await?;
    if m.role == ChatRole::Owner {
        hand_over(&txn, conversation).await?;
    }
    let position = changes::record_members(&txn, ctx, conversation, MembershipChange::Left, &[me]).await?;
    txn.commit().await?;
    let left = Event::Members { user_ids: vec![me], change: MembershipChange::Left };
    live::publish(ctx, conversation, Some(position), &left).await;
    messages::post_system(ctx, conversation, "group.left", serde_json::json!({ "user": me })).await?;
    Ok(())
}

/// The owner makes a member an admin or an admin a member again.
pub async fn set_role(ctx: &AppContext, me: Uuid, conversation: Uuid, target: Uuid, role: ChatRole) -> AppResult<()> {
    let (_, mine) = require_group_manager(ctx, conversation, me).await?;
    if mine.role != ChatRole::Owner || role == ChatRole::Owner || target == me {
        return Err(ChatError::NotAllowed("only the owner makes and unmakes admins").into());
    }
    membership(ctx, conversation, target).await?.ok_or(ChatError::NotFound("member"))?;
    member::Entity::update_many()
        .col_expr(member::Column::Role, Expr::value(role))
        .filter(member::Column::ConversationId.eq(conversation))
        .filter(member::Column::UserId.eq(target))
        .exec(&ctx.db)
        .await?;
    Ok(())
}

/// Renames a group or sets its avatar (an image upload of the person's own).
pub async fn update_group(
    ctx: &AppContext,
    me: Uuid,
    conversation: Uuid,
    name: Option<&str>,
    avatar: Option<Uuid>,
) -> AppResult<(conversation::Model, member::Model)> {
    let (c, mine) = require_group_manager(ctx, conversation, me).await?;
    let mut row: conversation::ActiveModel = c.into();
    if let Some(name) = name {
        row.name = Set(Some(check_name(name)?));
    }
    if let Some(file) = avatar {
        xqt_accounts::uploads::owned(ctx, me, file, xqt_accounts::uploads::Purpose::Avatar).await?;
        row.avatar_file_id = Set(Some(file));
    }
    Ok((row.update(&ctx.db).await?, mine))
}

pub async fn set_muted(
    ctx: &AppContext,
    me: Uuid,
    conversation: Uuid,
    muted: bool,
) -> AppResult<(conversation::Model, member::Model)> {
    let (c, m) = require_member(ctx, conversation, me).await?;
    let mut row: member::ActiveModel = m.into();
    row.muted = Set(muted);
    Ok((c, row.update(&ctx.db).await?))
}
