//! The consent ledger: every grant, withdrawal, refusal, policy acceptance and guardian decision
//! is appended to a hash chain; the current state per purpose (and partner) is kept beside it
//! in the same transaction, so the gate reads one row and the ledger proves how it came to be.

use std::net::IpAddr;

use async_trait::async_trait;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;
use xqt_kernel::auth::RequestMeta;
use xqt_kernel::module::LegalBasis;
use xqt_kernel::privacy::ConsentGate;
use xqt_kernel::{AppContext, AppError, AppResult, ids};

use crate::chain::{Chain, Chained, Link, timestamp};
use crate::entity::{consent_record, consent_state, erasure_request};
use crate::error::{PrivacyError, consent_required};
use crate::purposes::{GUARDIAN, PARTNER_SHARING};

xqt_kernel::closed_set! {
    /// What one consent ledger entry records.
    #[graphql(name = "ConsentAction")]
    pub enum Action {
        Grant = "grant",
        Withdraw = "withdraw",
        Refuse = "refuse",
        AcceptPolicy = "accept_policy",
        GuardianGrant = "guardian_grant",
        GuardianWithdraw = "guardian_withdraw",
    }
}

impl Action {
    /// The state a purpose is left in, for actions that decide one.
    fn state(self) -> Option<State> {
        match self {
            Action::Grant | Action::GuardianGrant => Some(State::Granted),
            Action::Withdraw | Action::GuardianWithdraw => Some(State::Withdrawn),
            Action::Refuse => Some(State::Refused),
            Action::AcceptPolicy => None,
        }
    }
}

xqt_kernel::closed_set! {
    /// Where a person's decision on a purpose stands.
    #[graphql(name = "ConsentDecision")]
    pub enum State {
        Granted = "granted",
        Withdrawn = "withdrawn",
        Refused = "refused",
    }
}

/// How the person gave the decision: `app`, `web`, `sms` (a guardian's code), …
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    pub method: &'static str,
    pub device: Option<String>,
    pub ip: Option<IpAddr>,
}

impl Provenance {
    pub fn from_request(meta: &RequestMeta, method: &'static str, device: Option<String>) -> Self {
        Self { method, device, ip: meta.ip }
    }
}

/// An IP address with its host part dropped: /24 for IPv4, /48 for IPv6.
pub fn truncate_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// One entry to append.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub user: Uuid,
    pub purpose: Option<String>,
    pub partner: Option<Uuid>,
    pub policy_version: Option<Uuid>,
    pub guardian: Option<String>,
    pub guardian_phone_hash: Option<String>,
}

crate::chained!(consent_record::Model);

fn partner_key(partner: Option<Uuid>) -> String {
    partner.map(|p| p.to_string()).unwrap_or_default()
}

/// Appends one record and, for decisions on a purpose, sets the current state — one transaction.
pub async fn append(
    ctx: &AppContext,
    action: Action,
    entry: Entry,
    how: &Provenance,
) -> AppResult<consent_record::Model> {
    let now = timestamp(ctx.clock.now());
    let device = how.device.as_ref().map(|d| d.chars().take(200).collect::<String>());
    let txn = xqt_kernel::db::begin(&ctx.db).await?;
    let link = Link::next(&txn, Chain::Consent).await?;
    let mut row = consent_record::Model {
        id: ids::new_id(),
        seq: link.seq,
        user_id: entry.user,
        action,
        purpose: entry.purpose.clone(),
        partner_id: entry.partner,
        policy_version_id: entry.policy_version,
        method: how.method.to_owned(),
        device,
        ip_prefix: how.ip.map(truncate_ip),
        guardian: entry.guardian,
        guardian_phone_hash: entry.guardian_phone_hash,
        created_at: now,
        prev_hash: link.prev_hash.clone(),
        hash: String::new(),
    };
    row.hash = row.computed_hash()?;
    let hash = row.hash.clone();
    consent_record::ActiveModel::from(row.clone()).insert(&txn).await?;
    link.close(&txn, &hash).await?;
    if let (Some(state), Some(purpose)) = (action.state(), entry.purpose) {
        let upsert = consent_state::ActiveModel {
            id: Set(ids::new_id()),
            user_id: Set(entry.user),
            purpose: Set(purpose),
            partner_key: Set(partner_key(entry.partner)),
            state: Set(state),
            record_id: Set(row.id),
            updated_at: Set(now),
        };
        consent_state::Entity::insert(upsert)
            .on_conflict(
                OnConflict::columns([
                    consent_state::Column::UserId,
                    consent_state::Column::Purpose,
                    consent_state::Column::PartnerKey,
                ])
                .update_columns([
                    consent_state::Column::State,
                    consent_state::Column::RecordId,
                    consent_state::Column::UpdatedAt,
                ])
                .to_owned(),
            )
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    tracing::info!(user = %row.user_id, action = %row.action, purpose = ?row.purpose, seq = row.seq, "consent recorded");
    Ok(row)
}

pub async fn state_of(ctx: &AppContext, user: Uuid, purpose: &str, partner: Option<Uuid>) -> AppResult<Option<State>> {
    let row = consent_state::Entity::find()
        .filter(consent_state::Column::UserId.eq(user))
        .filter(consent_state::Column::Purpose.eq(purpose))
        .filter(consent_state::Column::PartnerKey.eq(partner_key(partner)))
        .one(&ctx.db)
        .await?;
    Ok(row.map(|r| r.state))
}

pub async fn states(ctx: &AppContext, user: Uuid) -> AppResult<Vec<consent_state::Model>> {
    Ok(consent_state::Entity::find()
        .filter(consent_state::Column::UserId.eq(user))
        .order_by_asc(consent_state::Column::Purpose)
        .all(&ctx.db)
        .await?)
}

pub async fn records(ctx: &AppContext, user: Uuid) -> AppResult<Vec<consent_record::Model>> {
    Ok(consent_record::Entity::find()
        .filter(consent_record::Column::UserId.eq(user))
        .order_by_asc(consent_record::Column::Seq)
        .all(&ctx.db)
        .await?)
}

/// A purpose the person may decide on themselves: registered, consent-based, not the guardian's.
fn decidable(ctx: &AppContext, purpose: &str, partner: Option<Uuid>) -> Result<(), PrivacyError> {
    let p = ctx.modules.purpose(purpose).ok_or_else(|| PrivacyError::UnknownPurpose(purpose.to_owned()))?;
    if p.legal_basis != LegalBasis::Consent {
        return Err(PrivacyError::NotConsentBased(purpose.to_owned()));
    }
    if purpose == GUARDIAN {
        return Err(PrivacyError::GuardianOnly);
    }
    match (purpose == PARTNER_SHARING, partner) {
        (true, None) => {
            Err(PrivacyError::Invalid { field: "partnerId", message: "sharing consent names one partner".into() })
        }
        (false, Some(_)) => {
            Err(PrivacyError::Invalid { field: "partnerId", message: "only sharing consent names a partner".into() })
        }
        _ => Ok(()),
    }
}

/// The person grants, refuses or withdraws one purpose — one purpose per call, so consent is
/// never bundled (单独同意). Withdrawal takes effect at once and queues that purpose's data for
/// deletion.
pub async fn decide(
    ctx: &AppContext,
    user: Uuid,
    action: Action,
    purpose: &str,
    partner: Option<Uuid>,
    how: &Provenance,
) -> AppResult<consent_record::Model> {
    decidable(ctx, purpose, partner)?;
    if let Some(p) = partner
        && xqt_accounts::partners::find_partner(ctx, &p.to_string()).await?.is_none()
    {
        return Err(PrivacyError::PartnerNotFound.into());
    }
    let current = state_of(ctx, user, purpose, partner).await?;
    if action == Action::Withdraw && current != Some(State::Granted) {
        return Err(PrivacyError::NotGranted(purpose.to_owned()).into());
    }
    let policy_version = crate::policies::current_privacy_policy(ctx).await?;
    let entry = Entry { user, purpose: Some(purpose.to_owned()), partner, policy_version, ..Entry::default() };
    let row = append(ctx, action, entry, how).await?;
    if action == Action::Withdraw {
        let categories = ctx.modules.purpose(purpose).map(|p| p.categories.join(",")).unwrap_or_default();
        queue_erasure(ctx, user, &categories, &format!("withdrawn:{purpose}")).await?;
    }
    Ok(row)
}

/// Queues deletion of a person's data in the given categories, for the job runner.
pub async fn queue_erasure(ctx: &AppContext, user: Uuid, categories: &str, reason: &str) -> AppResult<()> {
    erasure_request::ActiveModel {
        id: Set(ids::new_id()),
        user_id: Set(user),
        categories: Set(categories.to_owned()),
        reason: Set(reason.chars().take(64).collect()),
        created_at: Set(ctx.clock.now()),
        completed_at: Set(None),
    }
    .insert(&ctx.db)
    .await?;
    tracing::info!(user = %user, categories, reason, "erasure queued");
    Ok(())
}

pub async fn queued_erasures(ctx: &AppContext, user: Uuid) -> AppResult<Vec<erasure_request::Model>> {
    Ok(erasure_request::Entity::find()
        .filter(erasure_request::Column::UserId.eq(user))
        .order_by_asc(erasure_request::Column::CreatedAt)
        .all(&ctx.db)
        .await?)
}

/// Consent-based purposes the person has never decided on: what the app may still ask about.
/// A refusal is a decision too, so a refused purpose is not asked again.
pub async fn prompts(ctx: &AppContext, user: Uuid) -> AppResult<Vec<&'static str>> {
    let decided: Vec<String> = states(ctx, user).await?.into_iter().map(|s| s.purpose).collect();
    Ok(ctx
        .modules
        .purposes()
        .iter()
        .map(|(_, p)| p)
        .filter(|p| p.legal_basis == LegalBasis::Consent && p.id != GUARDIAN && p.id != PARTNER_SHARING)
        .filter(|p| !decided.iter().any(|d| d == p.id))
        .map(|p| p.id)
        .collect())
}

/// The gate other modules call before collecting anything consent-based.
pub struct Gate;

#[async_trait]
impl ConsentGate for Gate {
    async fn require(&self, ctx: &AppContext, user: Uuid, purpose: &str, partner: Option<Uuid>) -> AppResult<()> {
        let Some(p) = ctx.modules.purpose(purpose) else {
            // A check naming no registered purpose is a programming error, never a pass.
            return Err(AppError::internal(format!("consent check for unregistered purpose `{purpose}`")));
        };
        if xqt_kernel::ceasing::ceased(ctx).await? {
            return Err(consent_required(purpose, partner).with("reason", "SERVICE_CEASED"));
        }
        if p.legal_basis != LegalBasis::Consent {
            return Ok(());
        }
        match state_of(ctx, user, purpose, partner).await? {
            Some(State::Granted) => Ok(()),
            _ => Err(consent_required(purpose, partner)),
        }
    }

    async fn permitted_among(
        &self,
        ctx: &AppContext,
        users: &[Uuid],
        purpose: &str,
    ) -> AppResult<std::collections::HashSet<Uuid>> {
        let Some(p) = ctx.modules.purpose(purpose) else {
            return Err(AppError::internal(format!("consent check for unregistered purpose `{purpose}`")));
        };
        if users.is_empty() || xqt_kernel::ceasing::ceased(ctx).await? {
            return Ok(Default::default());
        }
        if p.legal_basis != LegalBasis::Consent {
            return Ok(users.iter().copied().collect());
        }
        Ok(consent_state::Entity::find()
            .filter(consent_state::Column::UserId.is_in(users.iter().copied()))
            .filter(consent_state::Column::Purpose.eq(purpose))
            .filter(consent_state::Column::PartnerKey.eq(partner_key(None)))
            .filter(consent_state::Column::State.eq(State::Granted))
            .all(&ctx.db)
            .await?
            .into_iter()
            .map(|r| r.user_id)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ip_addresses_lose_their_host_part() {
        assert_eq!(super::truncate_ip("203.0.113.77".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(super::truncate_ip("2001:db8:85a3:8d3:1319:8a2e:370:7348".parse().unwrap()), "2001:db8:85a3::/48");
    }
}
