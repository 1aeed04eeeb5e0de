//! The privacy checks every module calls, implemented by the privacy module and reached through
//! the registry (`ctx.modules.privacy()`): consent before collecting, an audit record for every
//! privileged read, and the per-request guard (policy acceptance, guardian consent). With no
//! module providing them (kernel tests), every check fails closed.

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::context::AppContext;
use crate::error::{AppError, AppResult};
use crate::viewer::Viewer;

/// Checks that a person consented to a registered purpose before anything is collected for it.
#[async_trait]
pub trait ConsentGate: Send + Sync + 'static {
    /// `Ok` when `purpose` (a registered purpose id) may be processed for `user`: its legal basis
    /// is not consent, or the person's current consent is granted. Otherwise `CONSENT_REQUIRED`
    /// naming the purpose. `partner` narrows a sharing consent to one partner.
    async fn require(&self, ctx: &AppContext, user: Uuid, purpose: &str, partner: Option<Uuid>) -> AppResult<()>;

    /// Those of `users` for whom `purpose` may be processed now: for a list that shows only
    /// what each person consented to (an implementation answers it in one query).
    async fn permitted_among(
        &self,
        ctx: &AppContext,
        users: &[Uuid],
        purpose: &str,
    ) -> AppResult<std::collections::HashSet<Uuid>> {
        let mut out = std::collections::HashSet::new();
        for user in users {
            match self.require(ctx, *user, purpose, None).await {
                Ok(()) => {
                    out.insert(*user);
                }
                Err(e) if e.code() == crate::ErrorCode::ConsentRequired => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

crate::closed_set! {
    /// What a privileged access did with a person's data.
    pub enum AuditAction {
        Read = "read",
        Unmask = "unmask",
        Download = "download",
        /// Acting on a rights request (access, correction, deletion, …).
        Request = "request",
    }
}

/// What a privileged reader did with a person's data.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// The person whose data it was, when there is one.
    pub subject: Option<Uuid>,
    pub action: AuditAction,
    /// What was read, e.g. `identity_verification_queue`.
    pub resource: String,
    /// The personal fields involved.
    pub fields: Vec<&'static str>,
    /// Why, as the reader stated it (required for unmasking).
    pub reason: Option<String>,
    /// False when the read was refused (the attempt is recorded too).
    pub allowed: bool,
}

#[async_trait]
pub trait Audit: Send + Sync + 'static {
    /// Appends to the tamper-evident audit log; the read must not proceed if this fails.
    async fn record(&self, ctx: &AppContext, viewer: &Viewer, entry: AuditEntry) -> AppResult<()>;

    /// Whether the operator `admin` holds the privacy permission `permission` (`unmask`: see
    /// identifiers and identity evidence in full).
    async fn permitted(&self, ctx: &AppContext, admin: Uuid, permission: &str) -> AppResult<bool>;
}

/// The permission to see a person's identifiers and identity evidence in full.
pub const UNMASK: &str = "unmask";

/// Runs before every root field a signed-in person calls: `Ok` or the error to answer with.
#[async_trait]
pub trait StandingCheck: Send + Sync + 'static {
    /// `module` declared `field` on the `root` type (`Query`, `Mutation`, `Subscription`);
    /// `essential` when that module lists it as essential (sign-in, sign-out, `me`, reading
    /// policies, the guardian step), which keeps working in every state.
    async fn check(
        &self,
        ctx: &AppContext,
        viewer: &Viewer,
        root: &str,
        module: &str,
        field: &str,
        essential: bool,
    ) -> AppResult<()>;
}

/// One disclosure of a person's data to a third party the platform works with (an e-signature
/// provider sent an agreement's signers): written to the sharing ledger before the data leaves.
#[derive(Debug, Clone)]
pub struct Disclosure {
    pub user: Uuid,
    /// The recipient, registered as a partner.
    pub partner: Uuid,
    /// The registered purpose the data was sent for.
    pub purpose: String,
    pub categories: Vec<String>,
    /// What was sent, e.g. `agreement:<id>`.
    pub resource: String,
}

#[async_trait]
pub trait SharingLedger: Send + Sync + 'static {
    /// Records the disclosure; the data must not be sent if this fails.
    async fn disclosed(&self, ctx: &AppContext, disclosure: Disclosure) -> AppResult<()>;
}

/// The privacy module's implementations, registered once through its `Module` value.
#[derive(Clone)]
pub struct PrivacyHooks {
    pub consent: Arc<dyn ConsentGate>,
    pub audit: Arc<dyn Audit>,
    pub standing: Arc<dyn StandingCheck>,
    pub sharing: Arc<dyn SharingLedger>,
}

/// Fails every check: without a privacy module nothing personal may be collected or read.
struct FailClosed;

fn no_privacy_module() -> AppError {
    AppError::internal("no module provides the privacy hooks")
}

#[async_trait]
impl ConsentGate for FailClosed {
    async fn require(&self, _: &AppContext, _: Uuid, _: &str, _: Option<Uuid>) -> AppResult<()> {
        Err(no_privacy_module())
    }
}

#[async_trait]
impl Audit for FailClosed {
    async fn record(&self, _: &AppContext, _: &Viewer, _: AuditEntry) -> AppResult<()> {
        Err(no_privacy_module())
    }

    async fn permitted(&self, _: &AppContext, _: Uuid, _: &str) -> AppResult<bool> {
        Ok(false)
    }
}

#[async_trait]
impl StandingCheck for FailClosed {
    async fn check(&self, _: &AppContext, _: &Viewer, _: &str, _: &str, _: &str, _: bool) -> AppResult<()> {
        Ok(())
    }
}

#[async_trait]
impl SharingLedger for FailClosed {
    async fn disclosed(&self, _: &AppContext, _: Disclosure) -> AppResult<()> {
        Err(no_privacy_module())
    }
}

impl PrivacyHooks {
    pub fn fail_closed() -> Self {
        let f = Arc::new(FailClosed);
        Self { consent: f.clone(), audit: f.clone(), standing: f.clone(), sharing: f }
    }
}

/// Records that a privileged reader was shown these people's data: one entry per person, all
/// written before the data is returned.
pub async fn record_reads(
    ctx: &AppContext,
    viewer: &Viewer,
    resource: &str,
    fields: &[&'static str],
    subjects: impl IntoIterator<Item = Uuid>,
) -> AppResult<()> {
    let audit = &ctx.modules.privacy().audit;
    for subject in subjects {
        let entry = AuditEntry {
            subject: Some(subject),
            action: AuditAction::Read,
            resource: resource.to_owned(),
            fields: fields.to_vec(),
            reason: None,
            allowed: true,
        };
        audit.record(ctx, viewer, entry).await?;
    }
    Ok(())
}

/// The cache key of a person's guard state; whoever changes what it derives from deletes it.
pub fn standing_key(user: Uuid) -> String {
    format!("privacy:guard:{user}")
}

/// Tells the guard a person's state changed (birth date, guardian consent, policy acceptance),
/// so the next request sees it on every instance.
/// With Redis down the change is logged, not announced: instances read the database on a cache
/// miss, and a state cached before the outage lapses within a minute once Redis is back.
pub async fn guard_state_changed(ctx: &AppContext, user: Uuid) -> AppResult<()> {
    if let Err(e) = ctx.cache.delete(&standing_key(user)).await {
        tracing::warn!(%user, error = ?e, "guard state change not announced: the cache is unreachable");
    }
    Ok(())
}
