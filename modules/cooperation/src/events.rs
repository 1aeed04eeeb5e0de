//! What happened in cooperation, announced after it is committed: the hook partner webhooks
//! (the frontend-and-partner issue) and other modules attach to. Announced on the event bus
//! topic `cooperation:events` as JSON; best effort, so a consumer that must not miss one re-reads
//! the durable state on a `Gap` (or an outbox is added here, in one place).

use serde::Serialize;
use uuid::Uuid;
use xqt_kernel::AppContext;

pub const TOPIC: &str = "cooperation:events";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    PostChanged { post: Uuid, organization: Option<Uuid>, state: String },
    ApplicationChanged { application: Uuid, post: Uuid, state: String },
    AgreementChanged { agreement: Uuid, programme: Uuid, state: String },
}

/// Announces a committed change; a failure is logged, never undoes it.
pub async fn emit(ctx: &AppContext, event: Event) {
    let payload = match serde_json::to_vec(&event) {
        Ok(p) => p,
        Err(e) => return tracing::warn!(error = %e, "cooperation event not encoded"),
    };
    if let Err(e) = ctx.bus.publish(TOPIC, bytes::Bytes::from(payload)).await {
        tracing::warn!(error = ?e, ?event, "cooperation event not announced");
    }
}
