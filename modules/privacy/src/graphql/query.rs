use std::collections::HashMap;

use async_graphql::{Context, ID, Object, Result};
use xqt_kernel::AppContext;
use xqt_kernel::ids::parse_id;

use super::types::*;
use crate::policies::{self, Document};
use crate::standing::{account_state, person_state, today};
use crate::{audit, consent, sharing, visibility};

pub async fn partner_names(app: &AppContext) -> Result<HashMap<uuid::Uuid, String>> {
    Ok(xqt_accounts::partners::partners(app).await?.into_iter().map(|p| (p.id, p.name)).collect())
}

#[derive(Default)]
pub struct PrivacyQuery;

#[Object]
impl PrivacyQuery {
    /// Every policy document with the version in force now (public).
    async fn policy_documents(&self, ctx: &Context<'_>) -> Result<Vec<PolicyDocumentInfo>> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        let mut out = Vec::new();
        for document in <Document as sea_orm::Iterable>::iter() {
            let current = policies::current(app, document).await?.map(PolicyVersion);
            out.push(PolicyDocumentInfo { document, current });
        }
        Ok(out)
    }

    /// Every published version of a document, newest first (public; POL-1).
    async fn policy_versions(&self, ctx: &Context<'_>, document: Document) -> Result<Vec<PolicyVersion>> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        Ok(policies::versions(app, document).await?.into_iter().map(PolicyVersion).collect())
    }

    pub async fn policy_version(&self, ctx: &Context<'_>, id: ID) -> Result<Option<PolicyVersion>> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        Ok(policies::version(app, parse_id("id", &id)?).await?.map(PolicyVersion))
    }

    /// Major versions the signed-in person has yet to accept (POL-3).
    async fn pending_policies(&self, ctx: &Context<'_>) -> Result<Vec<PolicyVersion>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(policies::pending(app, viewer.require_person()?).await?.into_iter().map(PolicyVersion).collect())
    }

    /// The person's account state (guardian consent), pending policies and open consent prompts.
    async fn privacy_status(&self, ctx: &Context<'_>) -> Result<PrivacyStatus> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let user = viewer.require_person()?;
        let state = person_state(app, user).await?;
        Ok(PrivacyStatus {
            account_state: account_state(&state, today(app)),
            pending_policies: policies::pending(app, user).await?.into_iter().map(PolicyVersion).collect(),
            consent_prompts: consent::prompts(app, user).await?.into_iter().map(str::to_owned).collect(),
        })
    }

    /// Every purpose personal data is processed for, generated from the modules (public).
    async fn purposes(&self, ctx: &Context<'_>) -> Vec<PurposeInfo> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        app.modules.purposes().iter().map(|(module, p)| PurposeInfo { module, purpose: p.clone() }).collect()
    }

    /// Every device permission the app asks for, the purpose it serves and the consent it needs
    /// (public; PRM-1).
    async fn client_permissions(&self, ctx: &Context<'_>) -> Vec<ClientPermissionInfo> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        app.modules
            .client_permissions()
            .iter()
            .map(|(module, p)| ClientPermissionInfo {
                module,
                permission: p.clone(),
                purpose: app
                    .modules
                    .purposes()
                    .iter()
                    .find(|(_, q)| q.id == p.purpose)
                    .map(|(m, q)| PurposeInfo { module: m, purpose: q.clone() }),
            })
            .collect()
    }

    /// The person's current consent decisions.
    async fn my_consents(&self, ctx: &Context<'_>) -> Result<Vec<ConsentStatus>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(consent::states(app, viewer.require_person()?).await?.into_iter().map(ConsentStatus).collect())
    }

    /// Which partners receive what, for which purpose (public; SHR-2).
    async fn partner_register(&self, ctx: &Context<'_>) -> Result<Vec<PartnerRegisterEntry>> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        let names = partner_names(app).await?;
        let entries = sharing::register_entries(app, None).await?;
        Ok(entries.into_iter().map(|e| PartnerRegisterEntry::new(app, &names, e)).collect())
    }

    /// Who received the person's data, newest first (SHR-1).
    async fn my_sharing_ledger(&self, ctx: &Context<'_>) -> Result<Vec<SharingRecord>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let names = partner_names(app).await?;
        Ok(sharing::ledger(app, viewer.require_person()?)
            .await?
            .into_iter()
            .map(|r| SharingRecord {
                partner_id: ID(r.partner_id.to_string()),
                partner_name: names.get(&r.partner_id).cloned(),
                data_categories: r.categories.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect(),
                purpose: r.purpose,
                legal_basis: r.legal_basis,
                shared_at: r.created_at,
            })
            .collect())
    }

    /// Which profile fields the person made public.
    async fn my_profile_visibility(&self, ctx: &Context<'_>) -> Result<Vec<VisibilitySetting>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(visibility::settings(app, viewer.require_person()?)
            .await?
            .into_iter()
            .map(|s| VisibilitySetting { field: s.field, visible: s.visible })
            .collect())
    }

    /// A person's public profile: only the fields they made public (SHR-3).
    async fn public_profile(&self, ctx: &Context<'_>, user_id: ID) -> Result<Option<PublicProfile>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let found = visibility::public_profile(app, viewer, parse_id("userId", &user_id)?).await?;
        Ok(found.map(|p| PublicProfile {
            id: ID(p.id.to_string()),
            nickname: p.nickname,
            gender: p.gender,
            real_name: p.real_name,
        }))
    }

    /// A partner reads one person: only the registered categories, masked, under the person's
    /// consent; recorded in the sharing ledger and the audit log (scope `privacy:people.read`).
    async fn partner_person(&self, ctx: &Context<'_>, user_id: ID) -> Result<SharedPerson> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let p = sharing::partner_read_person(app, viewer, parse_id("userId", &user_id)?).await?;
        Ok(SharedPerson {
            id: ID(p.id.to_string()),
            data_categories: p.categories,
            nickname: p.nickname,
            gender: p.gender,
            phone: p.phone,
            real_name: p.real_name,
        })
    }

    /// Aggregate counts with small groups left out (scope `privacy:statistics.read`; SHR-4).
    async fn people_statistics(&self, ctx: &Context<'_>, dimension: StatisticsDimension) -> Result<Statistics> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let d = match dimension {
            StatisticsDimension::Gender => sharing::Dimension::Gender,
            StatisticsDimension::AgeBand => sharing::Dimension::AgeBand,
        };
        let s = sharing::statistics(app, viewer, d).await?;
        Ok(Statistics {
            groups: s.groups.into_iter().map(|(key, count)| StatisticsGroup { key, count }).collect(),
            suppressed_groups: s.suppressed_groups,
            min_group_size: app.config.section::<crate::config::PrivacyConfig>().min_group_size,
        })
    }

    /// The person's data-subject requests, newest first.
    async fn my_privacy_requests(&self, ctx: &Context<'_>) -> Result<Vec<PrivacyRequest>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let rows = crate::requests::mine(app, viewer.require_person()?).await?;
        Ok(rows.into_iter().map(|row| PrivacyRequest { row, owner: true }).collect())
    }

    /// What stands in the way of cancelling the account now, and nothing else (CAN-1).
    async fn cancellation_precheck(&self, ctx: &Context<'_>) -> Result<Vec<CancellationBlocker>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let blockers = crate::requests::precheck(app, viewer.require_person()?).await?;
        Ok(blockers
            .into_iter()
            .map(|(module, b)| CancellationBlocker {
                module: module.to_owned(),
                code: b.code,
                description: b.description,
                due_on: b.due_on,
            })
            .collect())
    }

    /// Open, verified requests, most urgent first, with days left (operators; at most 200).
    async fn privacy_request_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "default 50, at most 200")] limit: Option<i32>,
    ) -> Result<Vec<PrivacyRequest>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let limit = limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(crate::error::invalid("limit", "1 to 200").into());
        }
        let rows = crate::requests::queue(app, viewer, limit as u64).await?;
        Ok(rows.into_iter().map(|row| PrivacyRequest { row, owner: false }).collect())
    }

    /// Every recorded security incident, newest first (operators).
    async fn incidents(&self, ctx: &Context<'_>) -> Result<Vec<Incident>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        viewer.require_admin()?;
        Ok(crate::incidents::all(app).await?.into_iter().map(Incident).collect())
    }

    /// Published incident announcements, newest first (public; SEC-7).
    async fn incident_notices(&self, ctx: &Context<'_>) -> Result<Vec<IncidentNotice>> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        Ok(crate::incidents::public_notices(app)
            .await?
            .into_iter()
            .filter_map(|i| {
                Some(IncidentNotice {
                    notice: i.public_notice?,
                    published_at: i.public_notice_at?,
                    title: i.title,
                    occurred_at: i.occurred_at,
                    contact: i.contact,
                })
            })
            .collect())
    }

    /// The audit log, newest first, optionally about one person (admins; at most 200).
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        subject_user_id: Option<ID>,
        #[graphql(desc = "default 50, at most 200")] limit: Option<i32>,
    ) -> Result<Vec<AuditRecord>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        viewer.require_admin()?;
        let subject = subject_user_id.map(|id| parse_id("subjectUserId", &id)).transpose()?;
        let limit = limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(crate::error::invalid("limit", "1 to 200").into());
        }
        Ok(audit::list(app, subject, limit as u64).await?.into_iter().map(AuditRecord).collect())
    }
}
