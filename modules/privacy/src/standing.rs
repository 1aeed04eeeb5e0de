//! The account's standing, checked before every root field: a child under 14 without a guardian's consent can do nothing but the
//! guardian step (MIN-1), a child whose guardian withdrew is suspended (MIN-3), and a major
//! policy version holds back the modules it names until the person accepts it (POL-2).

use crate::error::PrivacyError;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use xqt_kernel::privacy::{StandingCheck, standing_key};
use xqt_kernel::{AppContext, AppError, AppResult, Viewer};

use crate::consent::{self, State};
use crate::policies::{self, Major};
use crate::purposes::GUARDIAN;

/// Whoever changes what this derives from calls `guard_state_changed`; the TTL bounds the rest
/// (a birthday passing).
const STATE_TTL: StdDuration = StdDuration::from_secs(60);
pub const MINOR_AGE: u32 = 14;

/// What the guard needs to know about one person, cached.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PersonState {
    pub birth_date: Option<NaiveDate>,
    pub signed_up: DateTime<Utc>,
    pub guardian: Option<State>,
    pub accepted: Vec<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum AccountState {
    Active,
    /// Under 14 and no guardian has consented yet.
    PendingGuardian,
    /// The guardian withdrew consent: suspended, erasure queued.
    SuspendedByGuardian,
}

/// Today's date in China, where birthdays are counted.
pub fn today(ctx: &AppContext) -> NaiveDate {
    xqt_kernel::clock::china_date(ctx.clock.now())
}

pub fn under_age(birth: NaiveDate, today: NaiveDate) -> bool {
    birth.checked_add_months(Months::new(12 * MINOR_AGE)).is_some_and(|adult| adult > today)
}

pub fn account_state(state: &PersonState, today: NaiveDate) -> AccountState {
    match state.guardian {
        Some(State::Withdrawn) => AccountState::SuspendedByGuardian,
        Some(State::Granted) => AccountState::Active,
        _ if state.birth_date.is_some_and(|b| under_age(b, today)) => AccountState::PendingGuardian,
        _ => AccountState::Active,
    }
}

pub async fn person_state(ctx: &AppContext, user: Uuid) -> AppResult<PersonState> {
    let key = standing_key(user);
    if let Some(raw) = ctx.cache.get_or_miss(&key).await
        && let Ok(state) = serde_json::from_slice(&raw)
    {
        return Ok(state);
    }
    let account = xqt_accounts::users::find(ctx, user).await?.ok_or(PrivacyError::SignInFirst)?;
    // The younger of the two: the profile's, and the one in an approved ID number (MIN-1), so
    // a child is detected whichever of them says so.
    let verified = xqt_accounts::verification::verified_birth_date(ctx, user).await?;
    let state = PersonState {
        birth_date: account.birth_date.into_iter().chain(verified).max(),
        signed_up: account.created_at,
        guardian: consent::state_of(ctx, user, GUARDIAN, None).await?,
        accepted: policies::accepted(ctx, user).await?,
    };
    let raw = serde_json::to_vec(&state).map_err(AppError::internal)?;
    ctx.cache.set_or_skip(&key, Bytes::from(raw), STATE_TTL).await;
    Ok(state)
}

/// Major versions in force that hold back `module` for this person.
pub fn blocking(majors: &[Major], state: &PersonState, module: &str, now: DateTime<Utc>) -> Vec<Uuid> {
    majors
        .iter()
        .filter(|m| m.effective_at <= now && m.published_at > state.signed_up && !state.accepted.contains(&m.id))
        .filter(|m| m.affects.iter().any(|a| a == module))
        .map(|m| m.id)
        .collect()
}

pub struct AccountStanding;

#[async_trait]
impl StandingCheck for AccountStanding {
    async fn check(
        &self,
        ctx: &AppContext,
        viewer: &Viewer,
        root: &str,
        module: &str,
        _field: &str,
        essential: bool,
    ) -> AppResult<()> {
        let Viewer::User { user_id, .. } = viewer else { return Ok(()) };
        if essential {
            return Ok(());
        }
        // Once operation has ceased nothing more is collected: reading and the person's rights
        // remain (POL-4).
        if root == "Mutation" && module != "privacy" && xqt_kernel::ceasing::ceased(ctx).await? {
            return Err(xqt_kernel::ceasing::ceased_error());
        }
        let state = person_state(ctx, *user_id).await?;
        match account_state(&state, today(ctx)) {
            AccountState::PendingGuardian => {
                return Err(PrivacyError::PendingGuardian.into());
            }
            AccountState::SuspendedByGuardian => {
                return Err(PrivacyError::SuspendedByGuardian.into());
            }
            AccountState::Active => {}
        }
        let held = blocking(&policies::majors(ctx).await?, &state, module, ctx.clock.now());
        if !held.is_empty() {
            let ids: Vec<String> = held.iter().map(Uuid::to_string).collect();
            return Err(PrivacyError::PolicyAcceptanceRequired(ids).into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn fourteen_is_reached_on_the_birthday() {
        assert!(under_age(d(2012, 11, 24), d(2026, 11, 23)));
        assert!(!under_age(d(2012, 11, 23), d(2026, 11, 23)));
        assert!(!under_age(d(1990, 1, 1), d(2026, 11, 23)));
    }

    #[test]
    fn the_guardian_decides_a_childs_state() {
        let mut s =
            PersonState { birth_date: Some(d(2015, 1, 1)), signed_up: Utc::now(), guardian: None, accepted: vec![] };
        let today = d(2026, 11, 23);
        assert_eq!(account_state(&s, today), AccountState::PendingGuardian);
        s.guardian = Some(State::Granted);
        assert_eq!(account_state(&s, today), AccountState::Active);
        s.guardian = Some(State::Withdrawn);
        assert_eq!(account_state(&s, today), AccountState::SuspendedByGuardian);
        s.birth_date = None;
        s.guardian = None;
        assert_eq!(account_state(&s, today), AccountState::Active);
    }

    #[test]
    fn only_named_modules_in_force_are_held_back() {
        let now = Utc::now();
        let s = PersonState {
            birth_date: None,
            signed_up: now - chrono::Duration::days(10),
            guardian: None,
            accepted: vec![],
        };
        let m = |id: u128, days: i64, affects: &[&str]| Major {
            id: Uuid::from_u128(id),
            published_at: now - chrono::Duration::days(1),
            effective_at: now + chrono::Duration::days(days),
            affects: affects.iter().map(|a| a.to_string()).collect(),
        };
        let majors = vec![m(1, -1, &["notifications"]), m(2, 3, &["notifications"]), m(3, -1, &["accounts"])];
        assert_eq!(blocking(&majors, &s, "notifications", now), vec![Uuid::from_u128(1)], "not before it takes effect");
        let accepted = PersonState { accepted: vec![Uuid::from_u128(1)], ..s };
        assert!(blocking(&majors, &accepted, "notifications", now).is_empty());
    }
}
