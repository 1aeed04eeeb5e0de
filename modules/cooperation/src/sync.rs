//! A school's own system syncs its talent pool (`cooperation:write`): a manager of the school
//! links the partner once; the partner then creates or replaces entries by the school's own ids,
//! idempotently, each published under the linking manager's name.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, SqlErr};
use uuid::Uuid;
use xqt_accounts::entity::organization::OrganizationKind;
use xqt_kernel::text::Text;
use xqt_kernel::{AppContext, AppResult, Viewer};

use crate::entity::partner_link;
use crate::entity::post::{self, PostKind, PostState};
use crate::error::{CooperationError, invalid};
use crate::personal_data::SCOPE_WRITE;
use crate::posts::{self, PostInput};

/// Most entries one sync call carries.
pub const MAX_BATCH: usize = 100;

/// A manager of a school lets a partner sync the school's talent pool.
pub async fn link(ctx: &AppContext, manager: Uuid, organization: Uuid, partner: Uuid) -> AppResult<()> {
    let Some((org, seen)) = xqt_accounts::organizations::visible(ctx, Some(manager), organization).await? else {
        return Err(CooperationError::NotFound("organization").into());
    };
    if !matches!(seen, xqt_accounts::organizations::Visibility::Member(r) if r.manages()) {
        return Err(CooperationError::NotAllowed("a manager of the school links its systems").into());
    }
    if org.kind != OrganizationKind::School {
        return Err(invalid("organizationId", "talent pools are a school's").into());
    }
    xqt_accounts::verification::require_verified(ctx, manager).await?;
    if xqt_accounts::partners::find_partner(ctx, &partner.to_string()).await?.is_none() {
        return Err(CooperationError::NotFound("partner").into());
    }
    partner_link::Entity::insert(partner_link::ActiveModel {
        organization_id: Set(organization),
        partner_id: Set(partner),
        authorized_by: Set(manager),
        created_at: Set(ctx.clock.now()),
    })
    .on_conflict(
        OnConflict::columns([partner_link::Column::OrganizationId, partner_link::Column::PartnerId])
            .update_columns([partner_link::Column::AuthorizedBy, partner_link::Column::CreatedAt])
            .to_owned(),
    )
    .exec_without_returning(&ctx.db)
    .await?;
    Ok(())
}

/// One entry as the school's system sends it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub external_id: String,
    pub input: PostInput,
}

/// What became of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    pub external_id: String,
    pub post_id: Uuid,
    pub created: bool,
}

/// Creates or replaces each entry by the school's id: a retry of the same call changes nothing
/// new. The whole batch is checked before anything is written.
pub async fn talent_pool(
    ctx: &AppContext,
    viewer: &Viewer,
    organization: Uuid,
    entries: &[Entry],
) -> AppResult<Vec<Synced>> {
    viewer.require_scope(SCOPE_WRITE)?;
    let Viewer::Partner { partner_id, .. } = viewer else {
        return Err(CooperationError::NotAllowed("a partner's own system syncs its talent pool").into());
    };
    let link = partner_link::Entity::find_by_id((organization, *partner_id))
        .one(&ctx.db)
        .await?
        .ok_or(CooperationError::NotFound("organization"))?;
    if entries.is_empty() || entries.len() > MAX_BATCH {
        return Err(invalid("entries", format!("1 to {MAX_BATCH} entries")).into());
    }
    let today = xqt_kernel::clock::china_date(ctx.clock.now());
    let mut checked = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let external = Text::line(1, 100).check(&e.external_id).map_err(|m| invalid("entries.externalId", m))?;
        if e.input.kind != PostKind::Talent {
            return Err(invalid("entries.kind", format!("entry {i}: a school's system syncs talent entries")).into());
        }
        if checked.iter().any(|(x, _): &(String, PostInput)| *x == external) {
            return Err(invalid("entries.externalId", format!("entry {i}: `{external}` twice in one batch")).into());
        }
        checked.push((external, e.input.validated(today)?));
    }
    let mut out = Vec::with_capacity(checked.len());
    for (external, input) in checked {
        let key = format!("{organization}:{external}");
        let existing = post::Entity::find().filter(post::Column::ExternalKey.eq(key.clone())).one(&ctx.db).await?;
        let (p, created) = match existing {
            Some(p) => (posts::replace_synced(ctx, p, input).await?, false),
            None => match posts::create_synced(ctx, link.authorized_by, organization, &input, &key).await {
                Ok(p) => (p, true),
                // The same entry in a concurrent call: it exists now, so this one replaces it.
                Err(e) if e.code() == xqt_kernel::ErrorCode::Conflict => {
                    let p = post::Entity::find()
                        .filter(post::Column::ExternalKey.eq(key.clone()))
                        .one(&ctx.db)
                        .await?
                        .ok_or(CooperationError::Changed("talent entry"))?;
                    (posts::replace_synced(ctx, p, input).await?, false)
                }
                Err(e) => return Err(e),
            },
        };
        out.push(Synced { external_id: external, post_id: p.id, created });
    }
    tracing::info!(%organization, partner = %partner_id, entries = out.len(), "talent pool synced");
    Ok(out)
}

/// Whether an insert failed on the external id being taken.
pub(crate) fn taken(e: &sea_orm::DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

pub(crate) fn published(mut row: post::ActiveModel, now: chrono::DateTime<chrono::Utc>) -> post::ActiveModel {
    row.state = Set(PostState::Published);
    row.published_at = Set(Some(now));
    row
}
