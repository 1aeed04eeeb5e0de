use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use xqt_kernel::auth::RequestMeta;
use xqt_kernel::ids::parse_id;

use super::types::*;
use crate::consent::{self, Action, Provenance};
use crate::policies::{self, Document, MajorKind, NewVersion};
use crate::{analytics, audit, minors, sharing, visibility};

#[derive(InputObject)]
pub struct PublishPolicyVersionInput {
    pub document: Document,
    /// e.g. `2.0` (A-Z, a-z, 0-9, `.`, `-`).
    pub version: String,
    pub title: String,
    /// The full text.
    pub body: String,
    /// What changed, shown to everyone.
    pub summary: String,
    pub effective_at: DateTime<Utc>,
    /// Empty for a minor version; for a major one, which of the six kinds of change it is.
    pub major_kinds: Vec<MajorKind>,
    /// Major versions only: the modules whose features wait for each person's acceptance.
    pub affects: Vec<String>,
}

#[derive(InputObject)]
pub struct ConsentInput {
    /// A registered purpose id (see `purposes`).
    pub purpose: String,
    /// For `partner_sharing`: the partner.
    pub partner_id: Option<ID>,
    /// The device the decision is made on, e.g. `iPhone 15 / iOS 18`.
    pub device: Option<String>,
}

#[derive(InputObject)]
pub struct GuardianConsentInput {
    pub guardian_phone: String,
    /// The code `requestGuardianCode` sent to the guardian's phone.
    pub code: String,
    /// e.g. 母亲, 父亲, 监护人.
    pub relationship: String,
}

#[derive(InputObject)]
pub struct GuardianWithdrawalInput {
    /// The child's account phone.
    pub child_phone: String,
    /// The phone the guardian consented with.
    pub guardian_phone: String,
    pub code: String,
}

#[derive(InputObject)]
pub struct PartnerProcessingInput {
    pub partner_id: ID,
    /// A registered purpose: `partner_sharing` (per-person consent) or a non-consent one.
    pub purpose: String,
    pub data_categories: Vec<String>,
    pub description: String,
}

fn provenance(ctx: &Context<'_>, method: &'static str, device: Option<String>) -> Provenance {
    let meta = ctx.data_opt::<RequestMeta>().cloned().unwrap_or_default();
    Provenance::from_request(&meta, method, device)
}

async fn decide(ctx: &Context<'_>, action: Action, input: ConsentInput) -> Result<ConsentReceipt> {
    let (app, viewer) = xqt_kernel::from_graphql(ctx);
    let user = viewer.require_person()?;
    let partner = input.partner_id.map(|p| parse_id("partnerId", &p)).transpose()?;
    let how = provenance(ctx, "app", input.device);
    Ok(ConsentReceipt(consent::decide(app, user, action, input.purpose.trim(), partner, &how).await?))
}

#[derive(InputObject)]
pub struct PrivacyRequestInput {
    pub kind: crate::requests::Kind,
    /// What to correct, explain or complain about (required for those kinds).
    pub description: Option<String>,
    /// Deletion: the data categories to delete (see `purposes.dataCategories`).
    #[graphql(default)]
    pub categories: Vec<String>,
    /// Withdrawal: the consent purpose.
    pub purpose: Option<String>,
}

/// PIPL Art. 57: every field is required.
#[derive(InputObject)]
pub struct IncidentInput {
    pub title: String,
    pub what_happened: String,
    /// Which kinds of personal information.
    pub data_types: String,
    pub cause: String,
    pub impact: String,
    /// What the platform has done.
    pub measures: String,
    /// What affected people can do to reduce harm.
    pub advice: String,
    pub remedies: String,
    /// Department, phone or email to contact.
    pub contact: String,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct PrivacyMutation;

#[Object]
impl PrivacyMutation {
    /// Publishes a policy version (admins). A major one notifies every account and holds back
    /// the modules it names until each person accepts it.
    async fn publish_policy_version(
        &self,
        ctx: &Context<'_>,
        input: PublishPolicyVersionInput,
    ) -> Result<PolicyVersion> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let admin = viewer.require_admin()?;
        let v = NewVersion {
            document: input.document,
            version: input.version.trim().to_owned(),
            title: input.title,
            body: input.body,
            summary: input.summary,
            effective_at: input.effective_at,
            major_kinds: input.major_kinds,
            affects: input.affects,
        };
        Ok(PolicyVersion(policies::publish(app, Some(admin), v).await?))
    }

    /// The person accepts a policy version; returns the ledger receipt.
    async fn accept_policy(&self, ctx: &Context<'_>, version_id: ID, device: Option<String>) -> Result<ConsentReceipt> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let user = viewer.require_person()?;
        let how = provenance(ctx, "app", device);
        Ok(ConsentReceipt(policies::accept(app, user, parse_id("versionId", &version_id)?, &how).await?))
    }

    /// Grants one consent-based purpose (one per call: never bundled).
    async fn grant_consent(&self, ctx: &Context<'_>, input: ConsentInput) -> Result<ConsentReceipt> {
        decide(ctx, Action::Grant, input).await
    }

    /// Refuses one purpose; the app is not to ask again.
    async fn refuse_consent(&self, ctx: &Context<'_>, input: ConsentInput) -> Result<ConsentReceipt> {
        decide(ctx, Action::Refuse, input).await
    }

    /// Withdraws one purpose: collection stops at once and its data is queued for deletion.
    async fn withdraw_consent(&self, ctx: &Context<'_>, input: ConsentInput) -> Result<ConsentReceipt> {
        decide(ctx, Action::Withdraw, input).await
    }

    /// Usage events (at most 50 per call). Stored only under the `analytics` consent; dropped
    /// unread otherwise.
    async fn record_analytics_events(
        &self,
        ctx: &Context<'_>,
        events: Vec<AnalyticsEventInput>,
    ) -> Result<AnalyticsReceipt> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let user = viewer.require_person()?;
        let events = events
            .into_iter()
            .map(|e| analytics::NewEvent {
                name: e.name,
                properties: e.properties.map_or_else(|| serde_json::json!({}), |p| p.0),
                occurred_at: e.occurred_at,
            })
            .collect();
        let r = analytics::ingest(app, user, events).await?;
        Ok(AnalyticsReceipt { stored: r.stored, dropped: r.dropped })
    }

    /// Deletes all of the person's analytics events; returns how many.
    async fn delete_my_analytics_data(&self, ctx: &Context<'_>) -> Result<u64> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(analytics::delete_for(app, viewer.require_person()?).await?)
    }

    /// Makes a profile field public or private; public needs the `public_profile` consent.
    async fn set_profile_visibility(&self, ctx: &Context<'_>, field: ProfileField, visible: bool) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        visibility::set(app, viewer.require_person()?, field, visible).await?;
        Ok(visible)
    }

    /// A person's identifiers in full, for an operator with the `unmask` permission and a
    /// stated reason; audited, refusals too.
    async fn unmask_personal_data(&self, ctx: &Context<'_>, user_id: ID, reason: String) -> Result<UnmaskedPerson> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let u = audit::unmask(app, viewer, parse_id("userId", &user_id)?, &reason).await?;
        Ok(UnmaskedPerson { phone: u.phone, real_name: u.real_name, id_number: u.id_number })
    }

    /// Registers what a partner receives for a purpose (admins; SHR-2).
    async fn register_partner_processing(
        &self,
        ctx: &Context<'_>,
        input: PartnerProcessingInput,
    ) -> Result<PartnerRegisterEntry> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        viewer.require_admin()?;
        let partner = parse_id("partnerId", &input.partner_id)?;
        let e =
            sharing::register(app, partner, input.purpose.trim(), &input.data_categories, &input.description).await?;
        let names = super::query::partner_names(app).await?;
        Ok(PartnerRegisterEntry::new(app, &names, e))
    }

    /// Files a data-subject request; a code goes to the account's phone to prove it is the person
    /// (`verifyPrivacyRequest`).
    async fn submit_privacy_request(&self, ctx: &Context<'_>, input: PrivacyRequestInput) -> Result<PrivacyRequest> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let new = crate::requests::NewRequest {
            kind: input.kind,
            description: input.description,
            categories: input.categories,
            purpose: input.purpose,
        };
        let row = crate::requests::submit(app, viewer.require_person()?, new).await?;
        Ok(PrivacyRequest { row, owner: true })
    }

    /// Sends a new code for a request still waiting for its identity check.
    async fn resend_privacy_request_code(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        crate::requests::resend_code(app, viewer.require_person()?, parse_id("id", &id)?).await?;
        Ok(true)
    }

    /// Proves the request with the code sent to the account's phone. Access, deletion and
    /// withdrawal are then carried out at once; the rest are due in 5 working days.
    async fn verify_privacy_request(&self, ctx: &Context<'_>, id: ID, code: String) -> Result<PrivacyRequest> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let row = crate::requests::verify(app, viewer.require_person()?, parse_id("id", &id)?, &code).await?;
        Ok(PrivacyRequest { row, owner: true })
    }

    /// The person withdraws their open request.
    async fn cancel_privacy_request(&self, ctx: &Context<'_>, id: ID) -> Result<PrivacyRequest> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let row = crate::requests::cancel(app, viewer.require_person()?, parse_id("id", &id)?).await?;
        Ok(PrivacyRequest { row, owner: true })
    }

    /// An operator starts, completes (with the answer), denies or holds (with the reason the
    /// person is shown), or resumes a request.
    async fn act_on_privacy_request(
        &self,
        ctx: &Context<'_>,
        id: ID,
        action: crate::requests::OperatorAction,
        text: Option<String>,
    ) -> Result<PrivacyRequest> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let row = crate::requests::act(app, viewer, parse_id("id", &id)?, action, text.as_deref()).await?;
        Ok(PrivacyRequest { row, owner: false })
    }

    /// Records a security incident (operators; SEC-7).
    async fn record_incident(&self, ctx: &Context<'_>, input: IncidentInput) -> Result<Incident> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let operator = viewer.require_admin()?;
        let new = crate::incidents::NewIncident {
            title: input.title,
            what_happened: input.what_happened,
            data_types: input.data_types,
            cause: input.cause,
            impact: input.impact,
            measures: input.measures,
            advice: input.advice,
            remedies: input.remedies,
            contact: input.contact,
            occurred_at: input.occurred_at,
        };
        Ok(Incident(crate::incidents::record(app, operator, new).await?))
    }

    /// Tells affected people in-app, with every Art. 57 field; each person once. Returns how
    /// many were told now (at most 1000 per call).
    async fn notify_incident(&self, ctx: &Context<'_>, id: ID, user_ids: Vec<ID>) -> Result<u64> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        viewer.require_admin()?;
        let people = user_ids.iter().map(|u| parse_id("userIds", u)).collect::<Result<Vec<_>, _>>()?;
        Ok(crate::incidents::notify_affected(app, parse_id("id", &id)?, &people).await?)
    }

    /// Publishes the announcement for people who cannot be reached one by one.
    async fn publish_incident_notice(&self, ctx: &Context<'_>, id: ID, notice: String) -> Result<Incident> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        viewer.require_admin()?;
        Ok(Incident(crate::incidents::publish_notice(app, parse_id("id", &id)?, &notice).await?))
    }

    /// Records the report made to the regulator.
    async fn record_regulator_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        authority: String,
        reference: String,
        reported_at: DateTime<Utc>,
    ) -> Result<Incident> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        viewer.require_admin()?;
        let id = parse_id("id", &id)?;
        Ok(Incident(crate::incidents::record_regulator_report(app, id, &authority, &reference, reported_at).await?))
    }

    /// Texts a code to a guardian's phone, for confirming or withdrawing guardian consent.
    async fn request_guardian_code(&self, ctx: &Context<'_>, guardian_phone: String) -> Result<bool> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        let client = ctx.data_opt::<RequestMeta>().and_then(|m| m.ip);
        minors::request_code(app, client, &guardian_phone).await?;
        Ok(true)
    }

    /// The guardian of the signed-in child consents, proven by the code sent to their phone.
    async fn confirm_guardian_consent(&self, ctx: &Context<'_>, input: GuardianConsentInput) -> Result<ConsentReceipt> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let child = viewer.require_person()?;
        let how = provenance(ctx, "sms", None);
        let row = minors::confirm(app, child, &input.guardian_phone, &input.code, &input.relationship, &how).await?;
        Ok(ConsentReceipt(row))
    }

    /// A guardian withdraws consent (no sign-in: the code to their phone proves them): the
    /// child's account is suspended and its erasure queued.
    async fn withdraw_guardian_consent(
        &self,
        ctx: &Context<'_>,
        input: GuardianWithdrawalInput,
    ) -> Result<ConsentReceipt> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        let how = provenance(ctx, "sms", None);
        let row = minors::withdraw(app, &input.child_phone, &input.guardian_phone, &input.code, &how).await?;
        Ok(ConsentReceipt(row))
    }
}
