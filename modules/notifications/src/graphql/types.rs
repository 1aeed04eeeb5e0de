use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};

use crate::entity::{notification, push_device};

pub struct Notification(pub notification::Model);

#[Object]
impl Notification {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn kind(&self) -> crate::NotificationKind {
        self.0.kind
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn body(&self) -> &str {
        &self.0.body
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn read_at(&self) -> Option<DateTime<Utc>> {
        self.0.read_at
    }
    /// Who sent it by hand: the partner's name on a `PARTNER_MESSAGE`, which a client shows
    /// ("from …") so it cannot pass for the platform; null for everything the platform sends.
    async fn sender(&self) -> Option<&str> {
        self.0.sender.as_deref()
    }
}

pub struct PushDevice(pub push_device::Model);

#[Object]
impl PushDevice {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn platform(&self) -> crate::push::PushPlatform {
        self.0.platform
    }
    /// The token's last 6 characters: enough to tell devices apart, not to push to them.
    async fn token_suffix(&self) -> String {
        let t = &self.0.token;
        t[t.len().saturating_sub(6)..].to_owned()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
