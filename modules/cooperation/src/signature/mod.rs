//! E-signature: the `SignatureProvider` trait an agreement is signed through, the built-in
//! provider for development, and a client of e签宝's open platform (v3), chosen by
//! `cooperation.signature_provider`.

pub mod builtin;
pub mod esign;

use std::sync::Arc;

use async_trait::async_trait;
use xqt_kernel::{AppContext, AppResult};

use crate::config::{CooperationConfig, SignatureProviderKind};
use crate::entity::agreement::AgreementState;

/// A party that signs: an organisation through the person acting for it, or a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    Organization { name: String, transactor_name: String, transactor_phone: String },
    Person { name: String, phone: String },
}

/// What the provider is given: the document's title and template fields, and who signs in
/// which order. Nothing else about anyone leaves the platform.
#[derive(Debug, Clone)]
pub struct Document {
    pub title: String,
    pub file_name: String,
    /// Template components: key → value.
    pub fields: Vec<(String, String)>,
    pub signers: Vec<Signer>,
}

/// How a flow stands once started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub flow_id: String,
    /// The built-in provider finishes at once; a real one reports through its callbacks.
    pub state: AgreementState,
}

#[async_trait]
pub trait SignatureProvider: Send + Sync + 'static {
    /// `builtin` or `esign`: stored with each agreement.
    fn name(&self) -> &'static str;
    /// Creates the flow from the document, adds its signers and starts it.
    async fn start(&self, ctx: &AppContext, document: &Document) -> AppResult<Started>;
    /// Revokes a flow under way.
    async fn revoke(&self, ctx: &AppContext, flow_id: &str, reason: &str) -> AppResult<()>;
}

/// The provider the configuration names.
pub fn provider(config: &CooperationConfig) -> Arc<dyn SignatureProvider> {
    match config.signature_provider {
        SignatureProviderKind::Builtin => Arc::new(builtin::Builtin),
        SignatureProviderKind::Esign => Arc::new(esign::Esign::new(config)),
    }
}
