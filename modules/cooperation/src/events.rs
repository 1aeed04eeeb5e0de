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

/// A public organisation post a partner with `cooperation:read` could list (talent profiles,
/// which are people, never): published, or ended (closed or withdrawn after it was published).
pub const POST_PUBLISHED: &str = "cooperation.post.published";
pub const POST_ENDED: &str = "cooperation.post.ended";

pub fn partner_events() -> Vec<xqt_kernel::module::PartnerEvent> {
    use xqt_kernel::module::PartnerEvent;
    vec![
        PartnerEvent {
            id: POST_PUBLISHED,
            scope: crate::personal_data::SCOPE_READ,
            description: "a public organisation post was published: { postId, organizationId, kind, title }",
        },
        PartnerEvent {
            id: POST_ENDED,
            scope: crate::personal_data::SCOPE_READ,
            description: "a public organisation post was closed or withdrawn: { postId, organizationId, state }",
        },
    ]
}

/// Queues partner webhooks for a post that moved, if it is a public organisation post.
pub async fn tell_partners(ctx: &AppContext, p: &crate::entity::post::Model, was_published: bool) {
    use crate::entity::post::{PostState, Visibility};
    let Some(organization) = p.organization_id else { return };
    if p.visibility != Visibility::Public {
        return;
    }
    let (kind, data) = match p.state {
        PostState::Published => (
            POST_PUBLISHED,
            serde_json::json!({ "postId": p.id, "organizationId": organization, "kind": p.kind.as_str(), "title": p.title }),
        ),
        PostState::Closed | PostState::Withdrawn if was_published => (
            POST_ENDED,
            serde_json::json!({ "postId": p.id, "organizationId": organization, "state": p.state.as_str() }),
        ),
        _ => return,
    };
    if let Err(e) = xqt_accounts::webhooks::emit(ctx, kind, data).await {
        tracing::warn!(error = ?e, post = %p.id, kind, "partners not told of the post");
    }
}
