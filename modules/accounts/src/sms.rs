//! Sending SMS. `SmsGateway` is the seam for a real provider; the built-in one writes each
//! message to the `sms_messages` outbox (sealed phone, lookup hash) and logs it — in full in
//! development, masked anywhere else; `xqt sms last --phone …` prints the newest one.

use async_trait::async_trait;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use xqt_kernel::config::Environment;
use xqt_kernel::{AppContext, AppResult, ids};

use crate::entity::sms_message;
use crate::phone::Phone;

#[async_trait]
pub trait SmsGateway: Send + Sync + 'static {
    async fn send(&self, ctx: &AppContext, to: &Phone, text: &str) -> AppResult<()>;
}

/// The built-in provider: an outbox table anyone operating a test or demo can read.
pub struct Outbox;

#[async_trait]
impl SmsGateway for Outbox {
    async fn send(&self, ctx: &AppContext, to: &Phone, text: &str) -> AppResult<()> {
        sms_message::ActiveModel {
            id: Set(ids::new_id()),
            phone_hash: Set(to.lookup_hash(ctx)),
            phone_sealed: Set(ctx.keys.seal(to.as_str())),
            body: Set(text.to_owned()),
            created_at: Set(ctx.clock.now()),
        }
        .insert(&ctx.db)
        .await?;
        // In development the code is what a developer needs to sign in: the log shows it whole.
        // Anywhere else the log keeps it masked.
        if ctx.config.env == Environment::Development {
            tracing::info!(to = %to.as_str(), text, "sms written to the outbox (development: shown in full)");
        } else {
            tracing::info!(to = %to.masked(), "sms written to the outbox");
        }
        Ok(())
    }
}

pub fn gateway() -> &'static dyn SmsGateway {
    &Outbox
}

/// The newest outbox message to `phone` (what the built-in provider "delivered").
pub async fn latest_to(ctx: &AppContext, phone: &Phone) -> AppResult<Option<String>> {
    Ok(sms_message::Entity::find()
        .filter(sms_message::Column::PhoneHash.eq(phone.lookup_hash(ctx)))
        .order_by_desc(sms_message::Column::Id)
        .one(&ctx.db)
        .await?
        .map(|m| m.body))
}
