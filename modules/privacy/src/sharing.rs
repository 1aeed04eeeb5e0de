//! The sharing register and ledger (SHR-1, SHR-2, SHR-4). The register says which partner
//! receives which categories for which purpose; a partner reads a person only within it and only
//! under that person's consent (or a non-consent basis the purpose declares); every disclosure
//! is written to the ledger and every attempt to the audit log. Statistics for partners leave
//! out groups smaller than the configured minimum.

use std::collections::BTreeMap;

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;
use xqt_kernel::mask::{PersonalField, for_viewer};
use xqt_kernel::module::LegalBasis;
use xqt_kernel::privacy::AuditEntry;
use xqt_kernel::{AppContext, AppError, AppResult, Viewer, ids};

use crate::audit;
use crate::consent::{self, State};
use crate::entity::{partner_processing, sharing_record};
use crate::error::{PrivacyError, consent_required};
use crate::purposes::{
    CAT_ACCOUNT, CAT_IDENTITY, CAT_PROFILE, PARTNER_SHARING, SCOPE_PEOPLE_READ, SCOPE_STATISTICS_READ,
};
use crate::standing::today;

const LEDGER_MAX: u64 = 200;
/// What a partner can be given at all: the categories `partnerPerson` knows how to show.
pub const SHAREABLE: [&str; 3] = [CAT_ACCOUNT, CAT_PROFILE, CAT_IDENTITY];
/// What the platform itself hands to an entrusted processor (委托处理) to deliver a service the
/// person consented to: device push tokens to the push provider (PRM-2). Listed in the register,
/// never readable through the partner API.
pub const ENTRUSTED: [&str; 1] = [xqt_notifications::personal_data::PUSH_TOKENS];

fn split(s: &str) -> Vec<String> {
    s.split(',').filter(|x| !x.is_empty()).map(str::to_owned).collect()
}

pub fn categories_of(row: &partner_processing::Model) -> Vec<String> {
    split(&row.categories)
}

/// Registers (or replaces) what a partner receives for one purpose.
pub async fn register(
    ctx: &AppContext,
    partner: Uuid,
    purpose: &str,
    categories: &[String],
    description: &str,
) -> AppResult<partner_processing::Model> {
    let invalid = |field, message: &str| PrivacyError::Invalid { field, message: message.to_owned() };
    xqt_accounts::partners::find_partner(ctx, &partner.to_string()).await?.ok_or(PrivacyError::PartnerNotFound)?;
    let p = ctx.modules.purpose(purpose).ok_or_else(|| PrivacyError::UnknownPurpose(purpose.to_owned()))?;
    if categories.is_empty() {
        return Err(invalid("categories", "at least one data category").into());
    }
    let entrusted = categories.iter().all(|c| ENTRUSTED.contains(&c.as_str()));
    if p.legal_basis == LegalBasis::Consent && purpose != PARTNER_SHARING && !entrusted {
        return Err(
            invalid("purpose", "consent-based sharing goes under `partner_sharing`, consented per partner").into()
        );
    }
    for c in categories {
        let listable = SHAREABLE.contains(&c.as_str()) || ENTRUSTED.contains(&c.as_str());
        if !p.categories.contains(&c.as_str()) || !listable {
            return Err(invalid("categories", &format!("`{c}` is not a shareable category of `{purpose}`")).into());
        }
    }
    let description = &xqt_kernel::text::Text::block(1, 1000)
        .check(description)
        .map_err(|m| invalid("description", &format!("what the partner does with it, {m}")))?;
    let mut categories = categories.to_vec();
    categories.sort();
    categories.dedup();
    let row = partner_processing::ActiveModel {
        id: Set(ids::new_id()),
        partner_id: Set(partner),
        purpose: Set(purpose.to_owned()),
        categories: Set(categories.join(",")),
        description: Set(description.to_owned()),
        created_at: Set(ctx.clock.now()),
    };
    partner_processing::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([partner_processing::Column::PartnerId, partner_processing::Column::Purpose])
                .update_columns([partner_processing::Column::Categories, partner_processing::Column::Description])
                .to_owned(),
        )
        .exec(&ctx.db)
        .await?;
    partner_processing::Entity::find()
        .filter(partner_processing::Column::PartnerId.eq(partner))
        .filter(partner_processing::Column::Purpose.eq(purpose))
        .one(&ctx.db)
        .await?
        .ok_or_else(|| AppError::internal("register entry vanished"))
}

/// The whole register (public), or one partner's entries.
pub async fn register_entries(ctx: &AppContext, partner: Option<Uuid>) -> AppResult<Vec<partner_processing::Model>> {
    let mut q = partner_processing::Entity::find();
    if let Some(p) = partner {
        q = q.filter(partner_processing::Column::PartnerId.eq(p));
    }
    Ok(q.order_by_asc(partner_processing::Column::PartnerId)
        .order_by_asc(partner_processing::Column::Purpose)
        .all(&ctx.db)
        .await?)
}

/// A person as a partner may see them: only the categories it was given, masked.
#[derive(Debug, Clone, Default)]
pub struct SharedPerson {
    pub id: Uuid,
    pub categories: Vec<String>,
    pub nickname: Option<String>,
    pub gender: Option<xqt_accounts::profile::Gender>,
    pub phone: Option<String>,
    pub real_name: Option<String>,
}

/// A partner reads one person. Refusals are audited too.
pub async fn partner_read_person(ctx: &AppContext, viewer: &Viewer, user: Uuid) -> AppResult<SharedPerson> {
    viewer.require_scope(SCOPE_PEOPLE_READ)?;
    let Viewer::Partner { partner_id, .. } = viewer else {
        return Err(PrivacyError::PartnersOnly.into());
    };
    let resource = format!("user:{user}");
    let mut allowed: Vec<(String, LegalBasis, Vec<String>)> = Vec::new();
    for entry in register_entries(ctx, Some(*partner_id)).await? {
        let Some(p) = ctx.modules.purpose(&entry.purpose) else { continue };
        let shared: Vec<String> =
            categories_of(&entry).into_iter().filter(|c| SHAREABLE.contains(&c.as_str())).collect();
        if shared.is_empty() {
            continue; // an entrusted processor's entry: nothing readable through this API
        }
        let lawful = p.legal_basis != LegalBasis::Consent
            || consent::state_of(ctx, user, PARTNER_SHARING, Some(*partner_id)).await? == Some(State::Granted);
        if lawful {
            allowed.push((entry.purpose.clone(), p.legal_basis, shared));
        }
    }
    let account =
        xqt_accounts::users::find(ctx, user).await?.filter(|u| u.status != xqt_accounts::users::AccountStatus::Erased);
    if allowed.is_empty() || account.is_none() {
        let entry = AuditEntry {
            subject: Some(user),
            action: xqt_kernel::privacy::AuditAction::Read,
            resource,
            fields: vec![],
            reason: None,
            allowed: false,
        };
        audit::append(ctx, viewer, entry).await?;
        return Err(consent_required(PARTNER_SHARING, Some(*partner_id)));
    }
    let account = account.expect("checked above");
    let mut categories: Vec<String> = allowed.iter().flat_map(|(_, _, c)| c.clone()).collect();
    categories.sort();
    categories.dedup();
    let has = |c: &str| categories.iter().any(|x| x == c);
    let mut out = SharedPerson { id: user, categories: categories.clone(), ..SharedPerson::default() };
    let mut fields = Vec::new();
    if has(CAT_PROFILE) {
        out.nickname = account.nickname.clone();
        out.gender = account.gender;
        fields.extend(["nickname", "gender"]);
    }
    if has(CAT_ACCOUNT) {
        out.phone = xqt_accounts::users::phone_of(ctx, &account)?
            .map(|p| for_viewer(viewer, user, PersonalField::Phone, p.as_str()));
        fields.push("phone");
    }
    if has(CAT_IDENTITY) && xqt_accounts::verification::is_verified(ctx, user).await? {
        if let Some(iv) = xqt_accounts::verification::latest(ctx, user).await? {
            out.real_name = Some(for_viewer(viewer, user, PersonalField::Name, &ctx.keys.open(&iv.real_name_sealed)?));
        }
        fields.push("real_name");
    }
    // Audit and ledger first: a disclosure that is not on record does not happen.
    audit::append(
        ctx,
        viewer,
        AuditEntry {
            subject: Some(user),
            action: xqt_kernel::privacy::AuditAction::Read,
            resource,
            fields,
            reason: None,
            allowed: true,
        },
    )
    .await?;
    for (purpose, basis, cats) in allowed {
        sharing_record::ActiveModel {
            id: Set(ids::new_id()),
            partner_id: Set(*partner_id),
            user_id: Set(user),
            purpose: Set(purpose),
            legal_basis: Set(basis),
            categories: Set(cats.join(",")),
            resource: Set("partnerPerson".into()),
            created_at: Set(ctx.clock.now()),
        }
        .insert(&ctx.db)
        .await?;
    }
    Ok(out)
}

/// The ledger other modules write to when they send a person's data to a partner.
pub struct Ledger;

#[async_trait::async_trait]
impl xqt_kernel::privacy::SharingLedger for Ledger {
    async fn disclosed(&self, ctx: &AppContext, d: xqt_kernel::privacy::Disclosure) -> AppResult<()> {
        let p = ctx.modules.purpose(&d.purpose).ok_or_else(|| PrivacyError::UnknownPurpose(d.purpose.clone()))?;
        sharing_record::ActiveModel {
            id: Set(ids::new_id()),
            partner_id: Set(d.partner),
            user_id: Set(d.user),
            purpose: Set(d.purpose.clone()),
            legal_basis: Set(p.legal_basis),
            categories: Set(d.categories.join(",")),
            resource: Set(d.resource.chars().take(200).collect()),
            created_at: Set(ctx.clock.now()),
        }
        .insert(&ctx.db)
        .await?;
        Ok(())
    }
}

/// Who received the person's data, newest first.
pub async fn ledger(ctx: &AppContext, user: Uuid) -> AppResult<Vec<sharing_record::Model>> {
    Ok(sharing_record::Entity::find()
        .filter(sharing_record::Column::UserId.eq(user))
        .order_by_desc(sharing_record::Column::Id)
        .limit(LEDGER_MAX)
        .all(&ctx.db)
        .await?)
}

pub async fn delete_ledger_before(ctx: &AppContext, cutoff: chrono::DateTime<chrono::Utc>) -> AppResult<u64> {
    Ok(sharing_record::Entity::delete_many()
        .filter(sharing_record::Column::CreatedAt.lt(cutoff))
        .exec(&ctx.db)
        .await?
        .rows_affected)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Gender,
    AgeBand,
}

/// Aggregates with every group below `min` left out, and how many groups were left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statistics {
    pub groups: Vec<(String, u64)>,
    pub suppressed_groups: u64,
}

pub fn suppress(counts: BTreeMap<String, u64>, min: u64) -> Statistics {
    let (groups, small): (Vec<_>, Vec<_>) = counts.into_iter().partition(|(_, n)| *n >= min);
    Statistics { groups, suppressed_groups: small.len() as u64 }
}

fn age_band(birth: Option<chrono::NaiveDate>, today: chrono::NaiveDate) -> &'static str {
    let Some(b) = birth else { return "unknown" };
    let age = today.years_since(b).unwrap_or(0);
    match age {
        0..=17 => "under_18",
        18..=24 => "18_24",
        25..=34 => "25_34",
        35..=44 => "35_44",
        _ => "45_plus",
    }
}

pub async fn statistics(ctx: &AppContext, viewer: &Viewer, dimension: Dimension) -> AppResult<Statistics> {
    viewer.require_scope(SCOPE_STATISTICS_READ)?;
    let today = today(ctx);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for (gender, birth) in xqt_accounts::users::demographics(ctx).await? {
        let key = match dimension {
            Dimension::Gender => gender.map_or_else(|| "unknown".into(), |g| g.as_str().to_owned()),
            Dimension::AgeBand => age_band(birth, today).to_owned(),
        };
        *counts.entry(key).or_default() += 1;
    }
    Ok(suppress(counts, u64::from(ctx.config.section::<crate::config::PrivacyConfig>().min_group_size)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_groups_are_left_out() {
        let counts: BTreeMap<String, u64> =
            [("a", 12), ("b", 9), ("c", 10), ("d", 1)].into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let s = suppress(counts, 10);
        assert_eq!(s.groups, vec![("a".to_owned(), 12), ("c".to_owned(), 10)]);
        assert_eq!(s.suppressed_groups, 2);
    }

    #[test]
    fn age_bands() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(age_band(chrono::NaiveDate::from_ymd_opt(2000, 1, 1), today), "25_34");
        assert_eq!(age_band(chrono::NaiveDate::from_ymd_opt(2010, 1, 1), today), "under_18");
        assert_eq!(age_band(None, today), "unknown");
    }
}
