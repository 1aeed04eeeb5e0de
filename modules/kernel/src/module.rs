//! The module contract: everything a module contributes beyond its GraphQL roots is declared
//! through one `Module` value and collected by `Modules`, so no hook can be forgotten.
//! (GraphQL roots are static types; `xqt-schema` merges them with one line per module.)

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::context::AppContext;
use crate::error::AppResult;
use crate::privacy::PrivacyHooks;

crate::closed_set! {
    /// Why processing is lawful (PIPL Art. 13). Only `Consent` purposes can be withdrawn.
    pub enum LegalBasis {
        /// Art. 13(1): the person consented.
        Consent = "consent",
        /// Art. 13(2): needed to conclude or perform a contract the person is party to.
        Contract = "contract",
        /// Art. 13(3): needed to fulfil a statutory duty or obligation.
        LegalObligation = "legal_obligation",
        /// Art. 13(4): a public-health emergency or protecting life, health and property.
        VitalInterest = "vital_interest",
        /// Art. 13(5): news reporting and public-opinion supervision in the public interest.
        PublicInterest = "public_interest",
        /// Art. 13(6): information the person disclosed themselves or lawfully disclosed.
        PubliclyDisclosed = "publicly_disclosed",
    }
}

/// A purpose a module processes personal data for.
#[derive(Debug, Clone, Serialize)]
pub struct Purpose {
    pub id: &'static str,
    pub description: &'static str,
    /// Data categories processed for this purpose, e.g. `notification_content`.
    pub categories: Vec<&'static str>,
    /// Sensitive personal information (PIPL Art. 28): location, minors' data, ID numbers, …
    pub sensitive: bool,
    pub legal_basis: LegalBasis,
    /// Asked for on its own, never bundled with anything else (单独同意).
    pub separate_consent: bool,
    /// How long data kept for this purpose lives; `None` = as long as the account.
    pub retention_days: Option<u32>,
}

/// Something a partner token may be granted, on one module's data.
#[derive(Debug, Clone, Serialize)]
pub struct Scope {
    pub id: &'static str,
    pub description: &'static str,
}

/// Something that happens in a module which a partner can be told of by webhook, if a token of
/// theirs holds `scope`: `cooperation.post.published` under `cooperation:read`.
#[derive(Debug, Clone, Serialize)]
pub struct PartnerEvent {
    pub id: &'static str,
    pub scope: &'static str,
    pub description: &'static str,
}

/// A device permission the client app asks for, and the registered purpose it serves (PRM-1).
#[derive(Debug, Clone, Serialize)]
pub struct ClientPermission {
    /// `camera`, `photo_library`, `location`, `microphone`, `notifications`, `device_info`, …
    pub id: &'static str,
    /// What the app uses it for, as shown to the person (Chinese, with an English gloss).
    pub description: &'static str,
    /// The registered purpose it serves; its consent (if its basis is consent) is asked first.
    pub purpose: &'static str,
}

/// Which of a person's data an erasure covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Erasure {
    Everything,
    Categories(Vec<String>),
}

impl Erasure {
    pub fn covers(&self, category: &str) -> bool {
        match self {
            Erasure::Everything => true,
            Erasure::Categories(c) => c.iter().any(|c| c == category),
        }
    }
}

/// Export and erasure of everything a module holds about one person.
#[async_trait]
pub trait PersonalData: Send + Sync + 'static {
    /// A JSON value with every record the module holds about `user`.
    async fn export(&self, ctx: &AppContext, user: Uuid) -> AppResult<serde_json::Value>;
    /// Deletes or anonymises what `erasure` covers; returns how many records it touched.
    async fn erase(&self, ctx: &AppContext, user: Uuid, erasure: &Erasure) -> AppResult<u64>;
}

/// A reason an account cannot be cancelled yet (M 附件一).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    pub code: String,
    pub description: String,
    /// By when it is settled (a report's handling deadline, a restriction's end): the condition
    /// is objective and time-bounded. `None` only where the person ends it themselves.
    pub due_on: Option<chrono::NaiveDate>,
}

#[async_trait]
pub trait CancellationBlockers: Send + Sync + 'static {
    async fn blockers(&self, ctx: &AppContext, user: Uuid) -> AppResult<Vec<Blocker>>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RetentionAction {
    Delete,
    /// Keep a coarser form (e.g. rounded coordinates, day instead of timestamp).
    Coarsen,
}

/// Applies one retention rule to everything older than the cutoff.
#[async_trait]
pub trait Expire: Send + Sync + 'static {
    async fn expire(&self, ctx: &AppContext, older_than: DateTime<Utc>) -> AppResult<u64>;
}

#[derive(Clone)]
pub struct RetentionRule {
    pub name: &'static str,
    pub category: &'static str,
    pub keep_for: Duration,
    pub action: RetentionAction,
    pub apply: Arc<dyn Expire>,
}

/// Work a module does once at start-up, after migrations (e.g. loading first versions of data).
#[async_trait]
pub trait StartupTask: Send + Sync + 'static {
    async fn run(&self, ctx: &AppContext) -> AppResult<()>;
}

/// How a module takes part in turning a bearer token into a `Viewer`.
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// An opaque token this module issued (e.g. a partner API token), or `None` if it is not one.
    async fn resolve(&self, _ctx: &AppContext, _token: &str) -> AppResult<Option<crate::auth::Authenticated>> {
        Ok(None)
    }
    /// Whether the session a valid access token names is still live (not signed out or revoked).
    async fn session_active(&self, ctx: &AppContext, user: Uuid, session: Uuid) -> AppResult<bool>;
}

/// How a module follows people joining and leaving organisations (an organisation's channel,
/// its attendance groups). Called after the change is committed; a module must also hold if a
/// call is missed (check membership where it matters).
#[async_trait]
pub trait OrganizationMembership: Send + Sync + 'static {
    async fn joined(&self, ctx: &AppContext, organization: Uuid, user: Uuid) -> AppResult<()>;
    async fn left(&self, ctx: &AppContext, organization: Uuid, user: Uuid) -> AppResult<()>;
}

/// Where people meet in a module: whether two people share a place there in which each sees the
/// other (an organisation, a conversation). Acquainted people see each other's nickname and
/// avatar; nothing more follows from it.
#[async_trait]
pub trait Acquaintance: Send + Sync + 'static {
    async fn acquainted(&self, ctx: &AppContext, a: Uuid, b: Uuid) -> AppResult<bool>;
}

/// How a module follows a new account, in the sign-up's own request: privacy records that the
/// person accepted the policies in force by signing up (the first consent, proven).
#[async_trait]
pub trait SignUpFollower: Send + Sync + 'static {
    async fn signed_up(
        &self,
        ctx: &AppContext,
        user: Uuid,
        meta: &crate::auth::RequestMeta,
        device: Option<String>,
    ) -> AppResult<()>;
}

/// Who is who, for modules beneath the one that keeps accounts: whether a person can be reached
/// (an account that exists and was not erased), and a partner's name to show as a sender.
#[async_trait]
pub trait Directory: Send + Sync + 'static {
    async fn person_reachable(&self, ctx: &AppContext, user: Uuid) -> AppResult<bool>;
    async fn partner_name(&self, ctx: &AppContext, partner: Uuid) -> AppResult<Option<String>>;
}

/// A request a provider posted to `/webhooks/<name>`, as received: the raw body (signatures are
/// over its exact bytes), the raw query string and the headers (names lower-cased).
#[derive(Debug, Clone)]
pub struct Inbound {
    pub headers: Vec<(String, String)>,
    pub query: String,
    pub body: bytes::Bytes,
}

impl Inbound {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What the webhook answers the provider: a status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookReply {
    pub status: u16,
    pub body: serde_json::Value,
}

/// A provider's callbacks into one module (e-signature events, …), at `POST /webhooks/<name>`.
#[async_trait]
pub trait Webhook: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    async fn receive(&self, ctx: &AppContext, request: Inbound) -> WebhookReply;
}

pub trait Module: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// The module's own section of the configuration (`SectionSpec::of::<ChatConfig>()`).
    fn config(&self) -> Option<crate::config::SectionSpec> {
        None
    }
    fn purposes(&self) -> Vec<Purpose> {
        vec![]
    }
    fn scopes(&self) -> Vec<Scope> {
        vec![]
    }
    /// What a partner may be told of by webhook (each under one of this module's scopes).
    fn partner_events(&self) -> Vec<PartnerEvent> {
        vec![]
    }
    /// Data loaders, made once when the schema is built and shared by every request and socket
    /// (resolvers find them with `module::loader`). They batch the loads of requests running at
    /// the same time, so they must not cache (`DataLoader::new`), and what they load must follow
    /// from the key alone: a key carries the viewer wherever the answer depends on who asks.
    fn add_loaders(&self, _ctx: &AppContext, _data: &mut async_graphql::Data) {}
    fn personal_data(&self) -> Option<Arc<dyn PersonalData>> {
        None
    }
    fn cancellation_blockers(&self) -> Option<Arc<dyn CancellationBlockers>> {
        None
    }
    /// Retention rules; periods may come from the configuration.
    fn retention_rules(&self, _config: &crate::config::Config) -> Vec<RetentionRule> {
        vec![]
    }
    fn authenticator(&self) -> Option<Arc<dyn Authenticator>> {
        None
    }
    /// Device permissions the app asks for on this module's behalf.
    fn client_permissions(&self) -> Vec<ClientPermission> {
        vec![]
    }
    /// Root fields that keep working whatever the person's state (pending guardian consent, an
    /// unaccepted major policy): signing in and out, `me`, reading policies, the guardian step.
    fn essential_fields(&self) -> &'static [&'static str] {
        &[]
    }
    /// Background job kinds this module handles (`<module>.<what>`).
    fn job_handlers(&self) -> Vec<Arc<dyn crate::jobs::JobHandler>> {
        vec![]
    }
    /// Jobs to queue once per period; periods may come from the configuration.
    fn schedules(&self, _config: &crate::config::Config) -> Vec<crate::jobs::Schedule> {
        vec![]
    }
    /// Run once at start-up, after migrations; must be safe to run again and on several instances.
    fn startup(&self) -> Option<Arc<dyn StartupTask>> {
        None
    }
    /// The consent gate, audit log and request guard; exactly one module provides them.
    fn privacy_hooks(&self) -> Option<PrivacyHooks> {
        None
    }
    /// Follows people joining and leaving organisations.
    fn acquaintance(&self) -> Option<Arc<dyn Acquaintance>> {
        None
    }
    fn directory(&self) -> Option<Arc<dyn Directory>> {
        None
    }
    fn sign_up_follower(&self) -> Option<Arc<dyn SignUpFollower>> {
        None
    }
    fn organization_membership(&self) -> Option<Arc<dyn OrganizationMembership>> {
        None
    }
    /// Kinds of upload this module accepts at `POST /files?purpose=<id>`.
    fn upload_purposes(&self) -> Vec<crate::uploads::UploadPurpose> {
        vec![]
    }
    /// How `GET /files/{id}` finds this module's files.
    fn downloads(&self) -> Option<Arc<dyn crate::uploads::Downloads>> {
        None
    }
    /// Command groups this module adds to the `xqt` CLI, one file each in the module.
    fn cli_commands(&self) -> Vec<Arc<dyn crate::cli::CliCommand>> {
        vec![]
    }
    /// Providers' callbacks this module receives, at `POST /webhooks/<name>`.
    fn webhooks(&self) -> Vec<Arc<dyn Webhook>> {
        vec![]
    }
    /// Files this module serves behind signed, expiring links, at `GET /links/<name>/…`.
    fn linked_files(&self) -> Vec<Arc<dyn crate::links::LinkedFiles>> {
        vec![]
    }
}

/// The configuration sections of these modules, to load the configuration with (before the
/// registry exists: the registry's checks read the configuration).
pub fn config_sections(modules: &[Arc<dyn Module>]) -> Vec<crate::config::SectionSpec> {
    modules.iter().filter_map(|m| m.config()).collect()
}

/// Every module's CLI command groups; two with one name is a wiring mistake, refused.
pub fn cli_commands(modules: &[Arc<dyn Module>]) -> Result<Vec<Arc<dyn crate::cli::CliCommand>>, RegistryError> {
    let mut out: Vec<Arc<dyn crate::cli::CliCommand>> = Vec::new();
    for m in modules {
        for c in m.cli_commands() {
            let name = c.command().get_name().to_owned();
            if out.iter().any(|o| o.command().get_name() == name) {
                return Err(RegistryError(format!("command `{name}` declared twice ({} adds it again)", m.name())));
            }
            out.push(c);
        }
    }
    Ok(out)
}

/// What retention did with one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionOutcome {
    pub module: &'static str,
    pub rule: &'static str,
    pub affected: u64,
}

/// The registry of modules, checked once at start-up.
pub struct Modules {
    modules: Vec<Arc<dyn Module>>,
    purposes: Vec<(&'static str, Purpose)>,
    scopes: Vec<(&'static str, Scope)>,
    permissions: Vec<(&'static str, ClientPermission)>,
    privacy: PrivacyHooks,
    jobs: crate::jobs::Handlers,
    uploads: Vec<crate::uploads::UploadPurpose>,
    /// The module that registered each of `uploads`, at the same index.
    upload_modules: Vec<&'static str>,
    events: Vec<PartnerEvent>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct RegistryError(pub String);

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RegistryError {}

impl Modules {
    pub fn new(modules: Vec<Arc<dyn Module>>) -> Result<Self, RegistryError> {
        let mut names = HashSet::new();
        let mut purposes = Vec::new();
        let mut scopes = Vec::new();
        let mut purpose_ids = HashSet::new();
        let mut scope_ids = HashSet::new();
        for m in &modules {
            if !names.insert(m.name()) {
                return Err(RegistryError(format!("module `{}` registered twice", m.name())));
            }
            for p in m.purposes() {
                if !purpose_ids.insert(p.id) {
                    return Err(RegistryError(format!("purpose `{}` declared twice", p.id)));
                }
                if p.categories.is_empty() {
                    return Err(RegistryError(format!("purpose `{}` names no data category", p.id)));
                }
                if p.separate_consent && p.legal_basis != LegalBasis::Consent {
                    return Err(RegistryError(format!(
                        "purpose `{}` asks separate consent without consent as its basis",
                        p.id
                    )));
                }
                purposes.push((m.name(), p));
            }
            for s in m.scopes() {
                if !s.id.starts_with(&format!("{}:", m.name())) {
                    return Err(RegistryError(format!("scope `{}` must start with `{}:`", s.id, m.name())));
                }
                if !scope_ids.insert(s.id) {
                    return Err(RegistryError(format!("scope `{}` declared twice", s.id)));
                }
                scopes.push((m.name(), s));
            }
        }
        let mut events: Vec<PartnerEvent> = Vec::new();
        for m in &modules {
            for e in m.partner_events() {
                if !e.id.starts_with(&format!("{}.", m.name())) {
                    return Err(RegistryError(format!("partner event `{}` must start with `{}.`", e.id, m.name())));
                }
                if !scopes.iter().any(|(owner, s)| *owner == m.name() && s.id == e.scope) {
                    return Err(RegistryError(format!(
                        "partner event `{}` needs `{}`, not a scope of its module",
                        e.id, e.scope
                    )));
                }
                if events.iter().any(|f| f.id == e.id) {
                    return Err(RegistryError(format!("partner event `{}` declared twice", e.id)));
                }
                events.push(e);
            }
        }
        let mut permissions = Vec::new();
        let mut privacy = None;
        for m in &modules {
            for p in m.client_permissions() {
                if !purpose_ids.contains(p.purpose) {
                    return Err(RegistryError(format!(
                        "client permission `{}` serves the unregistered purpose `{}`",
                        p.id, p.purpose
                    )));
                }
                if permissions.iter().any(|(_, q): &(&str, ClientPermission)| q.id == p.id) {
                    return Err(RegistryError(format!("client permission `{}` declared twice", p.id)));
                }
                permissions.push((m.name(), p));
            }
            if let Some(hooks) = m.privacy_hooks() {
                if privacy.is_some() {
                    return Err(RegistryError(format!("`{}` provides privacy hooks a second time", m.name())));
                }
                privacy = Some(hooks);
            }
        }
        let privacy = privacy.unwrap_or_else(PrivacyHooks::fail_closed);
        let mut jobs = crate::jobs::Handlers::new();
        for m in &modules {
            for h in m.job_handlers() {
                if !h.kind().starts_with(&format!("{}.", m.name())) {
                    return Err(RegistryError(format!("job kind `{}` must start with `{}.`", h.kind(), m.name())));
                }
                if jobs.insert(h.kind(), h.clone()).is_some() {
                    return Err(RegistryError(format!("job kind `{}` declared twice", h.kind())));
                }
            }
        }
        let mut uploads: Vec<crate::uploads::UploadPurpose> = Vec::new();
        let mut upload_modules = Vec::new();
        for m in &modules {
            for u in m.upload_purposes() {
                if uploads.iter().any(|v| v.id == u.id) {
                    return Err(RegistryError(format!("upload purpose `{}` declared twice", u.id)));
                }
                if u.max_bytes == 0 {
                    return Err(RegistryError(format!("upload purpose `{}` accepts nothing (max_bytes 0)", u.id)));
                }
                uploads.push(u);
                upload_modules.push(m.name());
            }
        }
        let mut linked = HashSet::new();
        for m in &modules {
            for l in m.linked_files() {
                if !linked.insert(l.name()) {
                    return Err(RegistryError(format!("linked files `{}` declared twice", l.name())));
                }
            }
        }
        let this = Self { modules, purposes, scopes, permissions, privacy, jobs, uploads, upload_modules, events };
        if let Some(s) =
            this.schedules(&crate::config::Config::default()).iter().find(|s| !this.jobs.contains_key(s.kind))
        {
            return Err(RegistryError(format!("a schedule names `{}`, which no module handles", s.kind)));
        }
        Ok(this)
    }

    /// The upload purpose `id`, if a module registered it.
    pub fn upload_purpose(&self, id: &str) -> Option<&crate::uploads::UploadPurpose> {
        self.uploads.iter().find(|u| u.id == id)
    }

    /// The module that registered the upload purpose `id`.
    pub fn upload_purpose_module(&self, id: &str) -> Option<&'static str> {
        self.uploads.iter().position(|u| u.id == id).map(|i| self.upload_modules[i])
    }

    pub fn upload_purposes(&self) -> &[crate::uploads::UploadPurpose] {
        &self.uploads
    }

    /// The file `id` from whichever module holds it; NOT_FOUND when none does.
    pub async fn open_file(
        &self,
        ctx: &AppContext,
        viewer: &crate::viewer::Viewer,
        id: Uuid,
    ) -> AppResult<crate::uploads::Download> {
        for m in &self.modules {
            if let Some(files) = m.downloads()
                && let Some(found) = files.open(ctx, viewer, id).await?
            {
                // The request guard GraphQL's root fields pass, under the module that holds the
                // file: a child awaiting a guardian or a pending major policy holds it back here too.
                self.privacy.standing.check(ctx, viewer, "Query", m.name(), "files", false).await?;
                return Ok(found);
            }
        }
        Err(crate::error::AppError::not_found("file"))
    }

    /// The webhook registered under `name`, if a module receives it.
    pub fn webhook(&self, name: &str) -> Option<Arc<dyn Webhook>> {
        self.modules.iter().flat_map(|m| m.webhooks()).find(|w| w.name() == name)
    }

    /// The files served under `/links/<name>/…`, if a module registered `name`.
    pub fn linked_files(&self, name: &str) -> Option<Arc<dyn crate::links::LinkedFiles>> {
        self.modules.iter().flat_map(|m| m.linked_files()).find(|l| l.name() == name)
    }

    pub fn job_handler(&self, kind: &str) -> Option<Arc<dyn crate::jobs::JobHandler>> {
        self.jobs.get(kind).cloned()
    }

    pub fn schedules(&self, config: &crate::config::Config) -> Vec<crate::jobs::Schedule> {
        self.modules.iter().flat_map(|m| m.schedules(config)).collect()
    }

    /// Every client permission with the module that asks for it.
    pub fn client_permissions(&self) -> &[(&'static str, ClientPermission)] {
        &self.permissions
    }

    /// The consent gate, audit log and request guard (fail-closed when no module provides them).
    pub fn privacy(&self) -> &PrivacyHooks {
        &self.privacy
    }

    /// Whether `module` lists `field` as essential (see `Module::essential_fields`).
    pub fn is_essential(&self, module: &str, field: &str) -> bool {
        self.modules.iter().any(|m| m.name() == module && m.essential_fields().contains(&field))
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.modules.iter().map(|m| m.name()).collect()
    }

    /// Every registered purpose with the module that declared it.
    pub fn purposes(&self) -> &[(&'static str, Purpose)] {
        &self.purposes
    }

    pub fn purpose(&self, id: &str) -> Option<&Purpose> {
        self.purposes.iter().map(|(_, p)| p).find(|p| p.id == id)
    }

    pub fn scopes(&self) -> &[(&'static str, Scope)] {
        &self.scopes
    }

    pub fn partner_events(&self) -> &[PartnerEvent] {
        &self.events
    }

    pub fn partner_event(&self, id: &str) -> Option<&PartnerEvent> {
        self.events.iter().find(|e| e.id == id)
    }

    pub fn scope(&self, id: &str) -> Option<&Scope> {
        self.scopes.iter().map(|(_, s)| s).find(|s| s.id == id)
    }

    /// Every module's data loaders, for the schema's data.
    pub fn loaders(&self, ctx: &AppContext) -> Loaders {
        let mut data = async_graphql::Data::default();
        for m in &self.modules {
            m.add_loaders(ctx, &mut data);
        }
        Loaders(data)
    }

    /// Everything every module holds about `user`, keyed by module name.
    pub async fn export(&self, ctx: &AppContext, user: Uuid) -> AppResult<BTreeMap<&'static str, serde_json::Value>> {
        let mut out = BTreeMap::new();
        for m in &self.modules {
            if let Some(handler) = m.personal_data() {
                out.insert(m.name(), handler.export(ctx, user).await?);
            }
        }
        Ok(out)
    }

    /// Runs every module's erasure; returns how many records each touched.
    pub async fn erase(
        &self,
        ctx: &AppContext,
        user: Uuid,
        erasure: &Erasure,
    ) -> AppResult<BTreeMap<&'static str, u64>> {
        let mut out = BTreeMap::new();
        for m in &self.modules {
            if let Some(handler) = m.personal_data() {
                out.insert(m.name(), handler.erase(ctx, user, erasure).await?);
            }
        }
        Ok(out)
    }

    /// Whether `a` and `b` share a place in any module where each sees the other (one person is
    /// acquainted with themselves).
    pub async fn acquainted(&self, ctx: &AppContext, a: Uuid, b: Uuid) -> AppResult<bool> {
        if a == b {
            return Ok(true);
        }
        for m in &self.modules {
            if let Some(check) = m.acquaintance()
                && check.acquainted(ctx, a, b).await?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Tells every module that follows sign-ups of a new account; the first error stops it.
    pub async fn signed_up(
        &self,
        ctx: &AppContext,
        user: Uuid,
        meta: &crate::auth::RequestMeta,
        device: Option<String>,
    ) -> AppResult<()> {
        for m in &self.modules {
            if let Some(follower) = m.sign_up_follower() {
                follower.signed_up(ctx, user, meta, device.clone()).await?;
            }
        }
        Ok(())
    }

    /// Whether some module knows `user` as a person who can be reached.
    pub async fn person_reachable(&self, ctx: &AppContext, user: Uuid) -> AppResult<bool> {
        for m in &self.modules {
            if let Some(directory) = m.directory()
                && directory.person_reachable(ctx, user).await?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A partner's name, from the module that keeps partners.
    pub async fn partner_name(&self, ctx: &AppContext, partner: Uuid) -> AppResult<Option<String>> {
        for m in &self.modules {
            if let Some(directory) = m.directory()
                && let Some(name) = directory.partner_name(ctx, partner).await?
            {
                return Ok(Some(name));
            }
        }
        Ok(None)
    }

    /// Every reason any module gives why `user` cannot cancel now, with the module's name.
    pub async fn cancellation_blockers(&self, ctx: &AppContext, user: Uuid) -> AppResult<Vec<(&'static str, Blocker)>> {
        let mut out = Vec::new();
        for m in &self.modules {
            if let Some(check) = m.cancellation_blockers() {
                out.extend(check.blockers(ctx, user).await?.into_iter().map(|b| (m.name(), b)));
            }
        }
        Ok(out)
    }

    /// Runs every module's start-up task, in registration order.
    pub async fn start(&self, ctx: &AppContext) -> AppResult<()> {
        for m in &self.modules {
            if let Some(task) = m.startup() {
                task.run(ctx).await?;
            }
        }
        Ok(())
    }

    /// Tells every module that `user` joined `organization` (committed already): a module that
    /// fails is logged, not undone, and catches up where it checks membership.
    pub async fn organization_joined(&self, ctx: &AppContext, organization: Uuid, user: Uuid) {
        for m in &self.modules {
            if let Some(follower) = m.organization_membership()
                && let Err(e) = follower.joined(ctx, organization, user).await
            {
                tracing::warn!(module = m.name(), error = ?e, %organization, "organisation join not followed");
            }
        }
    }

    /// Tells every module that `user` is out of `organization` (committed already).
    pub async fn organization_left(&self, ctx: &AppContext, organization: Uuid, user: Uuid) {
        for m in &self.modules {
            if let Some(follower) = m.organization_membership()
                && let Err(e) = follower.left(ctx, organization, user).await
            {
                tracing::warn!(module = m.name(), error = ?e, %organization, "organisation departure not followed");
            }
        }
    }

    /// Resolves an opaque token through the modules that issue them.
    pub async fn resolve_token(&self, ctx: &AppContext, token: &str) -> AppResult<Option<crate::auth::Authenticated>> {
        for m in &self.modules {
            if let Some(auth) = m.authenticator()
                && let Some(found) = auth.resolve(ctx, token).await?
            {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// False when any module says the session has ended.
    pub async fn session_active(&self, ctx: &AppContext, user: Uuid, session: Uuid) -> AppResult<bool> {
        for m in &self.modules {
            if let Some(auth) = m.authenticator()
                && !auth.session_active(ctx, user, session).await?
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    pub fn retention_rules(&self, config: &crate::config::Config) -> Vec<(&'static str, RetentionRule)> {
        self.modules.iter().flat_map(|m| m.retention_rules(config).into_iter().map(move |r| (m.name(), r))).collect()
    }

    /// Applies every retention rule with the cutoff `now - keep_for`.
    pub async fn run_retention(&self, ctx: &AppContext, now: DateTime<Utc>) -> AppResult<Vec<RetentionOutcome>> {
        let mut out = Vec::new();
        for (module, rule) in self.retention_rules(&ctx.config) {
            let affected = rule.apply.expire(ctx, now - rule.keep_for).await?;
            tracing::info!(module, rule = rule.name, affected, "retention rule applied");
            out.push(RetentionOutcome { module, rule: rule.name, affected });
        }
        Ok(out)
    }
}

/// The data loaders the modules added (`Module::add_loaders`), kept in the schema's data: made
/// once, not per request (ten loaders and their context clones were 4 % of the CPU of a
/// `{ __typename }` request, and part of every socket's memory).
pub struct Loaders(async_graphql::Data);

impl Loaders {
    pub fn get<T: std::any::Any + Send + Sync>(&self) -> Option<&T> {
        self.0.get(&std::any::TypeId::of::<T>()).and_then(|d| d.downcast_ref::<T>())
    }
}

/// The loader `L` a module added, for a resolver of the assembled schema.
pub fn loader<'a, L: Send + Sync + 'static>(
    ctx: &async_graphql::Context<'a>,
) -> &'a async_graphql::dataloader::DataLoader<L> {
    ctx.data_unchecked::<Loaders>()
        .get()
        .unwrap_or_else(|| panic!("no module added the loader {}", std::any::type_name::<L>()))
}
