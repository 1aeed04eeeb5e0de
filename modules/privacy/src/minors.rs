//! The guardian step (MIN-1, MIN-3): a child's account works only once a guardian, proven by an
//! SMS code to their own phone, consents; the guardian can later withdraw, which suspends the
//! account at once and queues the erasure of everything about the child.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;
use xqt_accounts::phone::Phone;
use xqt_kernel::{AppContext, AppError, AppResult};

use crate::consent::{self, Action, Entry, Provenance, State};
use crate::entity::consent_record;
use crate::error::PrivacyError;
use crate::purposes::GUARDIAN;
use crate::standing::{today, under_age};

fn phone_hash(ctx: &AppContext, phone: &Phone) -> String {
    phone.lookup_hex(ctx)
}

/// Texts a code to the guardian's phone (same limits as every SMS code).
pub async fn request_code(ctx: &AppContext, client: Option<std::net::IpAddr>, guardian_phone: &str) -> AppResult<()> {
    let phone = Phone::parse(guardian_phone).map_err(|_| bad_phone("guardianPhone"))?;
    xqt_accounts::codes::request(ctx, &phone, xqt_accounts::codes::Asker::Address(client)).await
}

fn bad_phone(field: &'static str) -> AppError {
    PrivacyError::InvalidPhone(field).into()
}

/// The guardian consents, with the code sent to their phone, for the child signed in.
pub async fn confirm(
    ctx: &AppContext,
    child: Uuid,
    guardian_phone: &str,
    code: &str,
    relationship: &str,
    how: &Provenance,
) -> AppResult<consent_record::Model> {
    let relationship = &xqt_kernel::text::Text::line(1, 16)
        .check(relationship)
        .map_err(|m| PrivacyError::Invalid { field: "relationship", message: format!("{m}, e.g. 母亲") })?;
    let phone = Phone::parse(guardian_phone).map_err(|_| bad_phone("guardianPhone"))?;
    let account = xqt_accounts::users::find(ctx, child).await?.ok_or(PrivacyError::SignInFirst)?;
    if !account.birth_date.is_some_and(|b| under_age(b, today(ctx))) {
        return Err(PrivacyError::NotAMinor.into());
    }
    if account.phone_hash.as_deref() == Some(phone.lookup_hash(ctx).as_slice()) {
        return Err(PrivacyError::Invalid {
            field: "guardianPhone",
            message: "the guardian confirms from their own phone, not the child's".into(),
        }
        .into());
    }
    xqt_accounts::codes::verify(ctx, &phone, code).await?;
    let entry = Entry {
        user: child,
        purpose: Some(GUARDIAN.to_owned()),
        guardian: Some(format!("{relationship} {}", phone.masked())),
        guardian_phone_hash: Some(phone_hash(ctx, &phone)),
        ..Entry::default()
    };
    let row = consent::append(ctx, Action::GuardianGrant, entry, how).await?;
    xqt_kernel::privacy::guard_state_changed(ctx, child).await?;
    Ok(row)
}

/// The guardian withdraws: proven by a code to the phone that consented, the child's account is
/// suspended, every session ends, and erasure of everything is queued.
pub async fn withdraw(
    ctx: &AppContext,
    child_phone: &str,
    guardian_phone: &str,
    code: &str,
    how: &Provenance,
) -> AppResult<consent_record::Model> {
    let guardian = Phone::parse(guardian_phone).map_err(|_| bad_phone("guardianPhone"))?;
    let child_phone = Phone::parse(child_phone).map_err(|_| bad_phone("childPhone"))?;
    // The code first: nothing about the child is revealed to someone who does not hold the phone.
    xqt_accounts::codes::verify(ctx, &guardian, code).await?;
    let child = xqt_accounts::users::find_by_phone(ctx, &child_phone).await?.ok_or(PrivacyError::NotTheGuardian)?;
    let latest_grant = consent_record::Entity::find()
        .filter(consent_record::Column::UserId.eq(child.id))
        .filter(consent_record::Column::Action.eq(Action::GuardianGrant))
        .order_by_desc(consent_record::Column::Seq)
        .one(&ctx.db)
        .await?;
    if latest_grant.and_then(|r| r.guardian_phone_hash) != Some(phone_hash(ctx, &guardian)) {
        return Err(PrivacyError::NotTheGuardian.into());
    }
    if consent::state_of(ctx, child.id, GUARDIAN, None).await? != Some(State::Granted) {
        return Err(PrivacyError::NotGranted(GUARDIAN.to_owned()).into());
    }
    let entry = Entry {
        user: child.id,
        purpose: Some(GUARDIAN.to_owned()),
        guardian_phone_hash: Some(phone_hash(ctx, &guardian)),
        ..Entry::default()
    };
    let row = consent::append(ctx, Action::GuardianWithdraw, entry, how).await?;
    xqt_kernel::privacy::guard_state_changed(ctx, child.id).await?;
    xqt_accounts::sessions::end_all_sessions(
        ctx,
        child.id,
        xqt_accounts::entity::security_event::SecurityEventKind::GuardianWithdrew,
    )
    .await?;
    consent::queue_erasure(ctx, child.id, "*", "guardian_withdrew").await?;
    tracing::warn!(user = %child.id, "guardian withdrew consent: account suspended, erasure queued");
    Ok(row)
}
