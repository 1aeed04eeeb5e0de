use async_graphql::{Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use xqt_kernel::module::{ClientPermission, LegalBasis, Purpose};

use crate::entity::{audit_record, consent_record, consent_state, partner_processing, policy_version};
use crate::policies::{self, Document, MajorKind};
pub use crate::standing::AccountState;

pub struct PolicyVersion(pub policy_version::Model);

#[Object]
impl PolicyVersion {
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn document(&self) -> Document {
        self.0.document
    }
    async fn version(&self) -> &str {
        &self.0.version
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// The full text.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// SHA-256 of the text, so a client can show the person exactly what they accept.
    async fn body_sha256(&self) -> &str {
        &self.0.body_sha256
    }
    /// What changed since the version before.
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    async fn effective_at(&self) -> DateTime<Utc> {
        self.0.effective_at
    }
    async fn published_at(&self) -> DateTime<Utc> {
        self.0.published_at
    }
    /// A major version must be accepted before the features of `affects` work again.
    async fn major(&self) -> bool {
        self.0.major
    }
    async fn major_kinds(&self) -> async_graphql::Result<Vec<MajorKind>> {
        Ok(policies::kinds_of(&self.0)?)
    }
    /// Modules whose features wait for acceptance.
    async fn affects(&self) -> Vec<String> {
        policies::affects_of(&self.0)
    }
}

#[derive(SimpleObject)]
pub struct PolicyDocumentInfo {
    pub document: Document,
    /// The version in force now.
    pub current: Option<PolicyVersion>,
}

pub struct PurposeInfo {
    pub module: &'static str,
    pub purpose: Purpose,
}

#[Object]
impl PurposeInfo {
    async fn id(&self) -> &str {
        self.purpose.id
    }
    /// The module that processes data for it.
    async fn module(&self) -> &str {
        self.module
    }
    async fn description(&self) -> &str {
        self.purpose.description
    }
    async fn data_categories(&self) -> Vec<&str> {
        self.purpose.categories.clone()
    }
    /// Sensitive personal information (PIPL Art. 28).
    async fn sensitive(&self) -> bool {
        self.purpose.sensitive
    }
    /// Why processing is lawful (PIPL Art. 13).
    async fn legal_basis(&self) -> LegalBasis {
        self.purpose.legal_basis
    }
    /// Asked for on its own, never bundled (单独同意).
    async fn separate_consent(&self) -> bool {
        self.purpose.separate_consent
    }
    /// Only consent-based purposes can be granted and withdrawn.
    async fn withdrawable(&self) -> bool {
        self.purpose.legal_basis == LegalBasis::Consent
    }
    /// Days data is kept for it; null = as long as the account.
    async fn retention_days(&self) -> Option<u32> {
        self.purpose.retention_days
    }
}

pub struct ClientPermissionInfo {
    pub module: &'static str,
    pub permission: ClientPermission,
    pub purpose: Option<PurposeInfo>,
}

#[Object]
impl ClientPermissionInfo {
    /// `camera`, `photo_library`, `device_info`, …
    async fn permission(&self) -> &str {
        self.permission.id
    }
    async fn module(&self) -> &str {
        self.module
    }
    async fn description(&self) -> &str {
        self.permission.description
    }
    /// The purpose it serves.
    async fn purpose(&self) -> Option<&PurposeInfo> {
        self.purpose.as_ref()
    }
    /// The consent the app asks for before the permission, when the purpose rests on consent.
    async fn consent_needed(&self) -> Option<&str> {
        self.purpose.as_ref().filter(|p| p.purpose.legal_basis == LegalBasis::Consent).map(|p| p.purpose.id)
    }
}

pub use crate::consent::State as ConsentDecision;

pub struct ConsentStatus(pub consent_state::Model);

#[Object]
impl ConsentStatus {
    async fn purpose(&self) -> &str {
        &self.0.purpose
    }
    async fn partner_id(&self) -> Option<ID> {
        (!self.0.partner_key.is_empty()).then(|| ID(self.0.partner_key.clone()))
    }
    async fn decision(&self) -> ConsentDecision {
        self.0.state
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Proof of a consent decision or policy acceptance: its place in the tamper-evident ledger.
pub struct ConsentReceipt(pub consent_record::Model);

#[Object]
impl ConsentReceipt {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Position in the ledger.
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    async fn action(&self) -> crate::consent::Action {
        self.0.action
    }
    async fn purpose(&self) -> Option<&str> {
        self.0.purpose.as_deref()
    }
    async fn partner_id(&self) -> Option<ID> {
        self.0.partner_id.map(|p| ID(p.to_string()))
    }
    /// The policy version the decision was made under (or the one accepted).
    async fn policy_version_id(&self) -> Option<ID> {
        self.0.policy_version_id.map(|p| ID(p.to_string()))
    }
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// SHA-256 linking this record to the one before it.
    async fn hash(&self) -> &str {
        &self.0.hash
    }
}

#[derive(SimpleObject)]
pub struct PrivacyStatus {
    pub account_state: AccountState,
    /// Major policy versions waiting for acceptance.
    pub pending_policies: Vec<PolicyVersion>,
    /// Consent-based purposes never decided on: what the app may ask about (a refusal is not
    /// asked again).
    pub consent_prompts: Vec<String>,
}

#[derive(InputObject)]
pub struct AnalyticsEventInput {
    /// e.g. `page_view`, `click:apply_button` (a-z, 0-9, `_ . : / -`).
    pub name: String,
    /// A JSON object of at most 2 KB.
    pub properties: Option<Json<serde_json::Value>>,
    pub occurred_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct AnalyticsReceipt {
    pub stored: u64,
    /// Dropped without being stored: the analytics consent is not granted.
    pub dropped: u64,
}

#[derive(SimpleObject)]
pub struct PartnerRegisterEntry {
    pub partner_id: ID,
    pub partner_name: String,
    pub purpose: String,
    pub legal_basis: Option<LegalBasis>,
    pub data_categories: Vec<String>,
    pub description: String,
}

impl PartnerRegisterEntry {
    pub fn new(
        app: &xqt_kernel::AppContext,
        names: &std::collections::HashMap<uuid::Uuid, String>,
        e: partner_processing::Model,
    ) -> Self {
        Self {
            partner_id: ID(e.partner_id.to_string()),
            partner_name: names.get(&e.partner_id).cloned().unwrap_or_default(),
            legal_basis: app.modules.purpose(&e.purpose).map(|p| p.legal_basis),
            data_categories: crate::sharing::categories_of(&e),
            purpose: e.purpose,
            description: e.description,
        }
    }
}

#[derive(SimpleObject)]
pub struct SharingRecord {
    pub partner_id: ID,
    pub partner_name: Option<String>,
    pub purpose: String,
    pub legal_basis: LegalBasis,
    pub data_categories: Vec<String>,
    pub shared_at: DateTime<Utc>,
}

pub use crate::visibility::ProfileField;

#[derive(SimpleObject)]
pub struct VisibilitySetting {
    pub field: ProfileField,
    pub visible: bool,
}

/// What anyone may see of a person: only the fields they made public.
#[derive(SimpleObject)]
pub struct PublicProfile {
    pub id: ID,
    pub nickname: Option<String>,
    pub gender: Option<xqt_accounts::profile::Gender>,
    pub real_name: Option<String>,
}

/// A person as a partner sees them: the categories registered for it, masked.
#[derive(SimpleObject)]
pub struct SharedPerson {
    pub id: ID,
    pub data_categories: Vec<String>,
    pub nickname: Option<String>,
    pub gender: Option<xqt_accounts::profile::Gender>,
    pub phone: Option<String>,
    pub real_name: Option<String>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum StatisticsDimension {
    Gender,
    AgeBand,
}

#[derive(SimpleObject)]
pub struct StatisticsGroup {
    pub key: String,
    pub count: u64,
}

#[derive(SimpleObject)]
pub struct Statistics {
    /// Groups with at least `minGroupSize` people.
    pub groups: Vec<StatisticsGroup>,
    /// How many smaller groups were left out.
    pub suppressed_groups: u64,
    pub min_group_size: u32,
}

pub struct AuditRecord(pub audit_record::Model);

#[Object]
impl AuditRecord {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    async fn actor_kind(&self) -> crate::audit::ActorKind {
        self.0.actor_kind
    }
    async fn actor_id(&self) -> Option<ID> {
        self.0.actor_id.map(|a| ID(a.to_string()))
    }
    async fn subject_user_id(&self) -> Option<ID> {
        self.0.subject_user_id.map(|a| ID(a.to_string()))
    }
    async fn action(&self) -> xqt_kernel::privacy::AuditAction {
        self.0.action
    }
    async fn resource(&self) -> &str {
        &self.0.resource
    }
    async fn fields(&self) -> Vec<&str> {
        self.0.fields.split(',').filter(|f| !f.is_empty()).collect()
    }
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// False when the read was refused.
    async fn allowed(&self) -> bool {
        self.0.allowed
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(SimpleObject)]
pub struct UnmaskedPerson {
    pub phone: Option<String>,
    pub real_name: Option<String>,
    pub id_number: Option<String>,
}

/// A data-subject request as its owner or an operator sees it.
pub struct PrivacyRequest {
    pub row: crate::entity::privacy_request::Model,
    /// The owner sees the export links; operators do not.
    pub owner: bool,
}

#[Object]
impl PrivacyRequest {
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    async fn user_id(&self) -> ID {
        ID(self.row.user_id.to_string())
    }
    async fn kind(&self) -> crate::requests::Kind {
        crate::requests::kind_of(&self.row)
    }
    async fn state(&self) -> crate::requests::RequestState {
        crate::requests::state_of(&self.row)
    }
    async fn description(&self) -> Option<&str> {
        self.row.description.as_deref()
    }
    /// Deletion: the categories asked for.
    async fn categories(&self) -> Vec<String> {
        crate::requests::categories_of(&self.row)
    }
    /// Withdrawal: the purpose.
    async fn purpose(&self) -> Option<&str> {
        self.row.purpose.as_deref()
    }
    /// Why it was denied or put on hold.
    async fn reason(&self) -> Option<&str> {
        self.row.reason.as_deref()
    }
    /// The answer or outcome.
    async fn response(&self) -> Option<&str> {
        self.row.response.as_deref()
    }
    async fn reviewer_id(&self) -> Option<ID> {
        self.row.reviewer_id.map(|r| ID(r.to_string()))
    }
    /// The deadline, in China's calendar (set once identity is verified).
    async fn due_on(&self) -> Option<chrono::NaiveDate> {
        self.row.due_on
    }
    /// Chinese working days until the deadline; negative once overdue; null when closed.
    async fn working_days_left(&self, ctx: &async_graphql::Context<'_>) -> Option<i64> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        crate::requests::working_days_left(app, &self.row)
    }
    async fn overdue(&self, ctx: &async_graphql::Context<'_>) -> bool {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        crate::requests::working_days_left(app, &self.row).is_some_and(|d| d < 0)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn verified_at(&self) -> Option<DateTime<Utc>> {
        self.row.verified_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.row.closed_at
    }
    /// Access: until when the export links work.
    async fn export_expires_at(&self) -> Option<DateTime<Utc>> {
        self.row.export_expires_at
    }
    /// Access: the machine-readable archive (signed, short-lived link; the owner only).
    async fn export_json_url(&self, ctx: &async_graphql::Context<'_>) -> Option<String> {
        self.export_link(ctx, crate::export::Format::Json)
    }
    /// Access: the same as a readable page.
    async fn export_html_url(&self, ctx: &async_graphql::Context<'_>) -> Option<String> {
        self.export_link(ctx, crate::export::Format::Html)
    }
}

impl PrivacyRequest {
    fn export_link(&self, ctx: &async_graphql::Context<'_>, format: crate::export::Format) -> Option<String> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        let expires = self.row.export_expires_at.filter(|at| self.owner && *at > app.clock.now())?;
        Some(crate::export::link(app, self.row.id, format, expires))
    }
}

/// Something that stands in the way of cancelling the account (M 附件一).
#[derive(SimpleObject)]
pub struct CancellationBlocker {
    pub module: String,
    /// `open_report`, `restricted`, …
    pub code: String,
    pub description: String,
    /// By when it is settled (a report's handling deadline, a restriction's end); null where
    /// the person ends it themselves (signing an agreement) or a restriction runs until lifted.
    pub due_on: Option<chrono::NaiveDate>,
}

/// A security incident as operators see it.
pub struct Incident(pub crate::entity::incident::Model);

#[Object]
impl Incident {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn what_happened(&self) -> &str {
        &self.0.what_happened
    }
    async fn data_types(&self) -> &str {
        &self.0.data_types
    }
    async fn cause(&self) -> &str {
        &self.0.cause
    }
    async fn impact(&self) -> &str {
        &self.0.impact
    }
    async fn measures(&self) -> &str {
        &self.0.measures
    }
    async fn advice(&self) -> &str {
        &self.0.advice
    }
    async fn remedies(&self) -> &str {
        &self.0.remedies
    }
    async fn contact(&self) -> &str {
        &self.0.contact
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.recorded_at
    }
    async fn public_notice(&self) -> Option<&str> {
        self.0.public_notice.as_deref()
    }
    async fn public_notice_at(&self) -> Option<DateTime<Utc>> {
        self.0.public_notice_at
    }
    async fn regulator_authority(&self) -> Option<&str> {
        self.0.regulator_authority.as_deref()
    }
    async fn regulator_reference(&self) -> Option<&str> {
        self.0.regulator_reference.as_deref()
    }
    async fn regulator_reported_at(&self) -> Option<DateTime<Utc>> {
        self.0.regulator_reported_at
    }
    /// How many affected people were told in-app.
    async fn notified_count(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<u64> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        Ok(crate::incidents::notified_count(app, self.0.id).await?)
    }
}

/// A published incident announcement (public).
#[derive(SimpleObject)]
pub struct IncidentNotice {
    pub title: String,
    pub notice: String,
    pub published_at: DateTime<Utc>,
    pub occurred_at: DateTime<Utc>,
    pub contact: String,
}
