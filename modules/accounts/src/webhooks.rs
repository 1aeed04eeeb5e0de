//! Partner webhooks: a partner registers an HTTPS endpoint and the events its token's scopes
//! allow; each event is posted to it as JSON, signed the way Stripe signs (an HMAC-SHA256 over
//! `"{timestamp}.{body}"` with the endpoint's secret, in `Xqt-Signature: t=…,v1=…`), by a durable
//! job that retries with backoff. Every delivery is one row per endpoint and event id, with its
//! attempts, so a partner sees what was sent and a retry never makes a second event; the event
//! id is the partner's idempotency key. An event goes only to partners who, when it happens,
//! still hold a live token with the event's scope.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;
use xqt_kernel::config::Environment;
use xqt_kernel::jobs::{JobHandler, enqueue};
use xqt_kernel::{AppContext, AppError, AppResult, Viewer, ids};

use crate::entity::{api_token, partner, partner_webhook as webhook, webhook_delivery as delivery};
use crate::error::{AccountsError, invalid};

/// The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "Xqt-Signature";
/// Sent to one endpoint by `pingWebhook`, under no scope: proves the endpoint and its secret.
pub const PING: &str = "accounts.webhook.ping";
/// Announced when a platform reviewer approves an organisation (its public profile).
pub const ORGANIZATION_VERIFIED: &str = "accounts.organization.verified";
pub const JOB: &str = "accounts.webhook_delivery";
pub const MAX_PER_PARTNER: u64 = 10;
pub const URL_MAX: usize = 500;
/// How long an endpoint has to answer before the attempt counts as failed.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries are kept this long, for partners to look back on, then deleted.
pub const KEEP_DAYS: i64 = 30;
const ERROR_MAX: usize = 300;

xqt_kernel::closed_set! {
    /// Where a delivery stands: waiting (for its first attempt or a retry), delivered (a 2xx),
    /// or failed for good once its attempts ran out.
    pub enum DeliveryState {
        Pending = "pending",
        Delivered = "delivered",
        Failed = "failed",
    }
}

pub fn events() -> Vec<xqt_kernel::module::PartnerEvent> {
    vec![xqt_kernel::module::PartnerEvent {
        id: ORGANIZATION_VERIFIED,
        scope: crate::SCOPE_ORGANIZATIONS_READ,
        description: "an organisation passed verification: { organizationId, kind, name }",
    }]
}

pub fn handlers() -> Vec<Arc<dyn JobHandler>> {
    vec![Arc::new(Deliver)]
}

/// A registered endpoint and its secret, shown this once.
pub struct Registered {
    pub webhook: webhook::Model,
    pub secret: String,
}

/// The calling partner and token.
fn partner_of(viewer: &Viewer) -> AppResult<(Uuid, Uuid)> {
    match viewer {
        Viewer::Partner { token_id, partner_id, .. } => Ok((*partner_id, *token_id)),
        Viewer::Anonymous => Err(AccountsError::SignInFirst.into()),
        _ => Err(AccountsError::PartnersOnly.into()),
    }
}

/// Where a webhook may point: HTTPS (plain HTTP to this machine only outside production, for
/// a partner's development), no credentials in the address, and in production no address
/// inside private networks (the server must not be made to call its own neighbours).
pub fn check_url(ctx: &AppContext, raw: &str) -> Result<reqwest::Url, AccountsError> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > URL_MAX {
        return Err(invalid("url", format!("an https:// address of at most {URL_MAX} characters")));
    }
    let url = reqwest::Url::parse(raw).map_err(|e| invalid("url", format!("not an address: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("url", "no credentials in the address; verify our signature instead"));
    }
    if url.fragment().is_some() {
        return Err(invalid("url", "no #fragment"));
    }
    let production = ctx.config.env == Environment::Production;
    let host = url.host_str().unwrap_or_default();
    let ip = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
    let loopback = host == "localhost" || ip.is_some_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback && !production => {}
        _ => return Err(invalid("url", "must be https:// (plain http only to localhost, outside production)")),
    }
    if production && (loopback || ip.is_some_and(private)) {
        return Err(invalid("url", "must be a public address"));
    }
    Ok(url)
}

fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast(),
        IpAddr::V6(v6) => {
            v6.is_unspecified() || (v6.segments()[0] & 0xfe00) == 0xfc00 || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Registers an endpoint for events the calling token's scopes allow.
pub async fn register(ctx: &AppContext, viewer: &Viewer, url: &str, events: &[String]) -> AppResult<Registered> {
    let (partner_id, token_id) = partner_of(viewer)?;
    let url = check_url(ctx, url)?;
    let mut wanted: Vec<&str> = events.iter().map(|e| e.trim()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.is_empty() {
        return Err(invalid("events", "name at least one event").into());
    }
    for e in &wanted {
        let Some(event) = ctx.modules.partner_event(e) else {
            let known: Vec<&str> = ctx.modules.partner_events().iter().map(|e| e.id).collect();
            return Err(
                invalid("events", format!("no module announces `{e}`; the events are: {}", known.join(", "))).into()
            );
        };
        viewer.require_scope(event.scope)?;
    }
    let existing = webhook::Entity::find().filter(webhook::Column::PartnerId.eq(partner_id)).count(&ctx.db).await?;
    if existing >= MAX_PER_PARTNER {
        return Err(invalid("url", format!("at most {MAX_PER_PARTNER} webhooks per partner; delete one first")).into());
    }
    let secret = format!("whsec_{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()));
    let row = webhook::ActiveModel {
        id: Set(ids::new_id()),
        partner_id: Set(partner_id),
        url: Set(url.to_string()),
        events: Set(wanted.join(" ")),
        secret_sealed: Set(ctx.keys.seal(&secret)),
        created_by: Set(Some(token_id)),
        created_at: Set(ctx.clock.now()),
    }
    .insert(&ctx.db)
    .await?;
    tracing::info!(partner = %partner_id, webhook = %row.id, events = %row.events, "webhook registered");
    Ok(Registered { webhook: row, secret })
}

/// The partner's webhooks, oldest first.
pub async fn list(ctx: &AppContext, viewer: &Viewer) -> AppResult<Vec<webhook::Model>> {
    let (partner_id, ..) = partner_of(viewer)?;
    Ok(webhook::Entity::find()
        .filter(webhook::Column::PartnerId.eq(partner_id))
        .order_by_asc(webhook::Column::CreatedAt)
        .all(&ctx.db)
        .await?)
}

async fn own(ctx: &AppContext, viewer: &Viewer, id: Uuid) -> AppResult<webhook::Model> {
    let (partner_id, ..) = partner_of(viewer)?;
    webhook::Entity::find_by_id(id)
        .filter(webhook::Column::PartnerId.eq(partner_id))
        .one(&ctx.db)
        .await?
        .ok_or_else(|| AccountsError::NotFound("webhook").into())
}

/// Stops deliveries to the endpoint and forgets them. True when it was the partner's.
pub async fn delete(ctx: &AppContext, viewer: &Viewer, id: Uuid) -> AppResult<bool> {
    let found = match own(ctx, viewer, id).await {
        Ok(found) => found,
        Err(e) if e.code() == xqt_kernel::ErrorCode::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    delivery::Entity::delete_many().filter(delivery::Column::WebhookId.eq(found.id)).exec(&ctx.db).await?;
    Ok(webhook::Entity::delete_by_id(found.id).exec(&ctx.db).await?.rows_affected == 1)
}

/// The newest `limit` deliveries to one of the partner's webhooks.
pub async fn deliveries(ctx: &AppContext, webhook_id: Uuid, limit: u64) -> AppResult<Vec<delivery::Model>> {
    Ok(delivery::Entity::find()
        .filter(delivery::Column::WebhookId.eq(webhook_id))
        .order_by_desc(delivery::Column::CreatedAt)
        .order_by_desc(delivery::Column::Id)
        .limit(limit)
        .all(&ctx.db)
        .await?)
}

/// Queues a `accounts.webhook.ping` to one endpoint, to prove it and its secret.
pub async fn ping(ctx: &AppContext, viewer: &Viewer, id: Uuid) -> AppResult<delivery::Model> {
    let target = own(ctx, viewer, id).await?;
    let event = envelope(ctx, PING, json!({ "webhookId": target.id }));
    queue(ctx, &target, &event).await
}

struct Event {
    id: Uuid,
    kind: &'static str,
    body: String,
}

fn envelope(ctx: &AppContext, kind: &'static str, data: Value) -> Event {
    let id = ids::new_id();
    let body = json!({ "id": id, "type": kind, "createdAt": ctx.clock.now(), "data": data }).to_string();
    Event { id, kind, body }
}

async fn queue(ctx: &AppContext, target: &webhook::Model, event: &Event) -> AppResult<delivery::Model> {
    let row = delivery::ActiveModel {
        id: Set(ids::new_id()),
        webhook_id: Set(target.id),
        event_id: Set(event.id),
        event_type: Set(event.kind.to_owned()),
        payload: Set(event.body.clone()),
        state: Set(DeliveryState::Pending),
        attempts: Set(0),
        last_status: Set(None),
        last_error: Set(None),
        created_at: Set(ctx.clock.now()),
        last_attempt_at: Set(None),
        delivered_at: Set(None),
    }
    .insert(&ctx.db)
    .await?;
    enqueue(ctx, JOB, json!({ "delivery": row.id }), ctx.clock.now(), Some(format!("{JOB}:{}", row.id))).await?;
    Ok(row)
}

/// Announces an event to every webhook that takes it, of partners still holding its scope.
/// Called after the change is committed; returns how many deliveries were queued. A failure is
/// the caller's to log: the change stands.
pub async fn emit(ctx: &AppContext, kind: &'static str, data: Value) -> AppResult<u64> {
    let Some(declared) = ctx.modules.partner_event(kind) else {
        return Err(AppError::internal(format!("partner event `{kind}` is not declared by any module")));
    };
    let candidates = webhook::Entity::find()
        .filter(webhook::Column::Events.contains(kind))
        .all(&ctx.db)
        .await?
        .into_iter()
        .filter(|w| w.events.split_whitespace().any(|e| e == kind))
        .collect::<Vec<_>>();
    if candidates.is_empty() {
        return Ok(0);
    }
    let now = ctx.clock.now();
    let partners: Vec<Uuid> = candidates.iter().map(|w| w.partner_id).collect();
    let entitled: std::collections::HashSet<Uuid> = api_token::Entity::find()
        .filter(api_token::Column::PartnerId.is_in(partners.clone()))
        .filter(api_token::Column::RevokedAt.is_null())
        .filter(api_token::Column::ExpiresAt.gt(now))
        .all(&ctx.db)
        .await?
        .into_iter()
        .filter(|t| t.scopes.split_whitespace().any(|s| s == declared.scope))
        .map(|t| t.partner_id)
        .collect();
    let enabled: std::collections::HashSet<Uuid> = partner::Entity::find()
        .filter(partner::Column::Id.is_in(partners))
        .filter(partner::Column::DisabledAt.is_null())
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    let event = envelope(ctx, kind, data);
    let mut queued = 0;
    for target in candidates.iter().filter(|w| entitled.contains(&w.partner_id) && enabled.contains(&w.partner_id)) {
        queue(ctx, target, &event).await?;
        queued += 1;
    }
    tracing::info!(event = %event.id, kind, queued, "partner event announced");
    Ok(queued)
}

/// The value of `Xqt-Signature` for a body sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The certificates in a PEM file of CA certificates (`accounts.webhook_ca_file`).
pub fn extra_roots(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("webhook_ca_file {}: {e}", path.display()))?;
    let roots = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("webhook_ca_file {}: not PEM certificates: {e}", path.display()))?;
    if roots.is_empty() {
        return Err(format!("webhook_ca_file {}: holds no certificate", path.display()));
    }
    Ok(roots)
}

/// One client per set of trusted roots (they are read once, when first needed).
fn client(ctx: &AppContext) -> AppResult<reqwest::Client> {
    static CLIENTS: OnceLock<Mutex<HashMap<Option<PathBuf>, reqwest::Client>>> = OnceLock::new();
    let ca_file = ctx.config.section::<crate::config::AccountsConfig>().webhook_ca_file.clone();
    let mut clients = CLIENTS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(client) = clients.get(&ca_file) {
        return Ok(client.clone());
    }
    let mut builder = reqwest::Client::builder()
        .timeout(TIMEOUT)
        // A redirect could lead anywhere, including inside our network: the endpoint answers itself.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("xqt-webhooks/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &ca_file {
        for root in extra_roots(path).map_err(AppError::internal)? {
            builder = builder.add_root_certificate(root);
        }
    }
    let client = builder.build().map_err(AppError::internal)?;
    clients.insert(ca_file, client.clone());
    Ok(client)
}

fn clip(message: String) -> String {
    if message.len() <= ERROR_MAX {
        return message;
    }
    let mut end = ERROR_MAX;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

/// Posts one delivery; records the attempt; an error makes the job runner retry with backoff.
struct Deliver;

#[async_trait]
impl JobHandler for Deliver {
    fn kind(&self) -> &'static str {
        JOB
    }

    async fn run(&self, ctx: &AppContext, payload: &Value) -> AppResult<()> {
        let id = payload["delivery"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| AppError::internal("webhook delivery job without a delivery id"))?;
        let Some(d) = delivery::Entity::find_by_id(id).one(&ctx.db).await? else { return Ok(()) };
        if d.state != DeliveryState::Pending {
            return Ok(());
        }
        let Some(target) = webhook::Entity::find_by_id(d.webhook_id).one(&ctx.db).await? else { return Ok(()) };
        let secret = ctx.keys.open(&target.secret_sealed)?;
        let now = ctx.clock.now();
        let sent = client(ctx)?
            .post(&target.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature(&secret, now.timestamp(), &d.payload))
            .header("Xqt-Event-Id", d.event_id.to_string())
            .header("Xqt-Event-Type", &d.event_type)
            .body(d.payload.clone())
            .send()
            .await;
        let (status, error) = match sent {
            Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
            Ok(r) => (Some(r.status().as_u16()), Some(format!("the endpoint answered {}", r.status()))),
            Err(e) if e.is_timeout() => (None, Some(format!("no answer within {} s", TIMEOUT.as_secs()))),
            Err(e) => (None, Some(clip(format!("not reached: {e}")))),
        };
        let attempts = d.attempts + 1;
        let state = match &error {
            None => DeliveryState::Delivered,
            Some(_) if attempts >= ctx.config.jobs.max_attempts => DeliveryState::Failed,
            Some(_) => DeliveryState::Pending,
        };
        delivery::Entity::update_many()
            .col_expr(delivery::Column::Attempts, Expr::value(attempts))
            .col_expr(delivery::Column::State, Expr::value(state))
            .col_expr(delivery::Column::LastStatus, Expr::value(status.map(i32::from)))
            .col_expr(delivery::Column::LastError, Expr::value(error.clone()))
            .col_expr(delivery::Column::LastAttemptAt, Expr::value(now))
            .col_expr(delivery::Column::DeliveredAt, Expr::value(error.is_none().then_some(now)))
            .filter(delivery::Column::Id.eq(d.id))
            .exec(&ctx.db)
            .await?;
        match error {
            None => {
                tracing::info!(delivery = %d.id, event = %d.event_id, attempts, "webhook delivered");
                Ok(())
            }
            Some(why) => {
                tracing::warn!(delivery = %d.id, event = %d.event_id, attempts, %why, "webhook not delivered");
                Err(AppError::internal(why))
            }
        }
    }
}

/// Deletes deliveries older than the cutoff.
pub async fn delete_deliveries_before(ctx: &AppContext, cutoff: DateTime<Utc>) -> AppResult<u64> {
    Ok(delivery::Entity::delete_many()
        .filter(delivery::Column::CreatedAt.lt(cutoff))
        .exec(&ctx.db)
        .await?
        .rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_stripes_scheme_over_timestamp_and_body() {
        // HMAC-SHA256("whsec_test", "1700000000.{}"), computed independently with
        // `printf '1700000000.{}' | openssl dgst -sha256 -hmac whsec_test`.
        assert_eq!(
            signature("whsec_test", 1_700_000_000, "{}"),
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
    }
}
