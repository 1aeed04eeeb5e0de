//! The development stand-in: logs the flow and signs it at once. Production refuses to start
//! with it (see the module's start-up check).

use async_trait::async_trait;
use xqt_kernel::{AppContext, AppResult};

use super::{Document, SignatureProvider, Started};
use crate::entity::agreement::AgreementState;

pub struct Builtin;

#[async_trait]
impl SignatureProvider for Builtin {
    fn name(&self) -> &'static str {
        "builtin"
    }

    async fn start(&self, _ctx: &AppContext, document: &Document) -> AppResult<Started> {
        let flow_id = format!("builtin-{}", uuid::Uuid::new_v4().simple());
        tracing::warn!(flow = %flow_id, title = %document.title, signers = document.signers.len(),
            "built-in e-signature provider: signed at once (development only)");
        Ok(Started { flow_id, state: AgreementState::Signed })
    }

    async fn revoke(&self, _ctx: &AppContext, flow_id: &str, _reason: &str) -> AppResult<()> {
        tracing::warn!(flow = %flow_id, "built-in e-signature provider: revoked");
        Ok(())
    }
}
