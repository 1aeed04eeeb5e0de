use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use xqt_kernel::ids::parse_id;

use crate::entity::{partner_webhook, webhook_delivery};
use crate::webhooks::{self, DeliveryState};

/// A partner's endpoint and the events it takes.
pub struct Webhook(partner_webhook::Model);

#[Object]
impl Webhook {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// Event ids (`webhookEvents`), each under a scope of the token that registered it.
    async fn events(&self) -> Vec<&str> {
        self.0.events.split_whitespace().collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The newest deliveries (at most 100), with their attempts: what was sent and how it went.
    async fn deliveries(&self, ctx: &Context<'_>, #[graphql(default = 20)] first: u64) -> Result<Vec<WebhookDelivery>> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        let rows = webhooks::deliveries(app, self.0.id, first.clamp(1, 100)).await?;
        Ok(rows.into_iter().map(WebhookDelivery).collect())
    }
}

/// One event posted to one endpoint. `PENDING` waits for its first attempt or a retry (backoff
/// from 30 s, doubling); `FAILED` ran out of attempts.
pub struct WebhookDelivery(webhook_delivery::Model);

#[Object]
impl WebhookDelivery {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The event's id, also in the body and the `Xqt-Event-Id` header: the same on every retry,
    /// so an endpoint that saw it already can answer 2xx and do nothing.
    async fn event_id(&self) -> ID {
        ID(self.0.event_id.to_string())
    }
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    /// The exact JSON body posted (and signed).
    async fn payload(&self) -> &str {
        &self.0.payload
    }
    async fn state(&self) -> DeliveryState {
        self.0.state
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// The HTTP status of the last attempt, if the endpoint answered.
    async fn last_status(&self) -> Option<i32> {
        self.0.last_status
    }
    /// Why the last attempt failed, in plain words.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn last_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_attempt_at
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
}

/// Something a webhook can be told of, and the scope a partner's token needs for it.
#[derive(SimpleObject)]
pub struct PartnerEventInfo {
    /// `accounts.organization.verified`, `cooperation.post.published`, …
    id: String,
    scope: String,
    description: String,
}

#[derive(SimpleObject)]
pub struct RegisteredWebhook {
    /// The signing secret, shown only now: verify `Xqt-Signature` with it (docs/webhooks.md).
    secret: String,
    webhook: Webhook,
}

#[derive(Default)]
pub struct WebhooksQuery;

#[Object]
impl WebhooksQuery {
    /// Every event a webhook can take and the scope it needs (public, like `scopes`).
    async fn webhook_events(&self, ctx: &Context<'_>) -> Vec<PartnerEventInfo> {
        let (app, _) = xqt_kernel::from_graphql(ctx);
        app.modules
            .partner_events()
            .iter()
            .map(|e| PartnerEventInfo {
                id: e.id.to_owned(),
                scope: e.scope.to_owned(),
                description: e.description.to_owned(),
            })
            .collect()
    }

    /// The calling partner's webhooks (partner tokens).
    async fn webhooks(&self, ctx: &Context<'_>) -> Result<Vec<Webhook>> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(webhooks::list(app, viewer).await?.into_iter().map(Webhook).collect())
    }
}

#[derive(Default)]
pub struct WebhooksMutation;

#[Object]
impl WebhooksMutation {
    /// Registers an HTTPS endpoint for events the calling token's scopes allow (at most 10 per
    /// partner). The secret is shown once.
    async fn register_webhook(&self, ctx: &Context<'_>, url: String, events: Vec<String>) -> Result<RegisteredWebhook> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        let done = webhooks::register(app, viewer, &url, &events).await?;
        Ok(RegisteredWebhook { secret: done.secret, webhook: Webhook(done.webhook) })
    }

    /// Deletes one of the partner's webhooks and its deliveries. True when it was theirs.
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(webhooks::delete(app, viewer, parse_id("id", &id)?).await?)
    }

    /// Queues an `accounts.webhook.ping` to the endpoint, to check it and its signature check.
    async fn ping_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookDelivery> {
        let (app, viewer) = xqt_kernel::from_graphql(ctx);
        Ok(WebhookDelivery(webhooks::ping(app, viewer, parse_id("id", &id)?).await?))
    }
}
