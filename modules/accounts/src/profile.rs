//! The person's own profile (COL-8): nickname, username, gender, birth date; all optional.

use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set, SqlErr};
use uuid::Uuid;
use xqt_kernel::{AppContext, AppResult};

use crate::entity::user;
use crate::error::AccountsError;

/// One field of an update: leave it, clear it, or set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<T> {
    Keep,
    Clear,
    Set(T),
}

xqt_kernel::closed_set! {
    pub enum Gender {
        Male = "male",
        Female = "female",
        Undisclosed = "undisclosed",
    }
}

#[derive(Debug, Clone)]
pub struct ProfileChange {
    /// An `avatar` upload of the person's own.
    pub avatar: Change<Uuid>,
    pub nickname: Change<String>,
    pub username: Change<String>,
    pub gender: Change<Gender>,
    pub birth_date: Change<NaiveDate>,
}

fn check_nickname(n: &str) -> Result<String, AccountsError> {
    xqt_kernel::text::Text::line(1, 32)
        .check(n)
        .map_err(|message| AccountsError::Invalid { field: "nickname", message })
}

/// 4–32 of a-z, 0-9 and `_`, starting with a letter; stored lower case.
fn check_username(u: &str) -> Result<String, AccountsError> {
    let u = u.trim().to_lowercase();
    let ok = (4..=32).contains(&u.len())
        && u.starts_with(|c: char| c.is_ascii_lowercase())
        && u.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(AccountsError::Invalid {
            field: "username",
            message: "4 to 32 of a-z, 0-9 and _, starting with a letter".into(),
        });
    }
    Ok(u)
}

fn check_birth_date(d: NaiveDate, today: NaiveDate) -> Result<NaiveDate, AccountsError> {
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).expect("date");
    if d < earliest || d > today {
        return Err(AccountsError::Invalid {
            field: "birthDate",
            message: "must be between 1900-01-01 and today".into(),
        });
    }
    Ok(d)
}

fn apply<T, U>(
    change: Change<T>,
    check: impl FnOnce(T) -> Result<U, AccountsError>,
) -> Result<Option<Option<U>>, AccountsError> {
    Ok(match change {
        Change::Keep => None,
        Change::Clear => Some(None),
        Change::Set(v) => Some(Some(check(v)?)),
    })
}

pub async fn update(ctx: &AppContext, user_id: Uuid, change: ProfileChange) -> AppResult<user::Model> {
    let today = xqt_kernel::clock::china_date(ctx.clock.now());
    let nickname = apply(change.nickname, |n| check_nickname(&n))?;
    let username = apply(change.username, |u| check_username(&u))?;
    let gender = apply(change.gender, Ok)?;
    let birth_date = apply(change.birth_date, |d| check_birth_date(d, today))?;

    let avatar = match change.avatar {
        Change::Keep => None,
        Change::Clear => Some(None),
        Change::Set(id) => {
            Some(Some(crate::uploads::owned(ctx, user_id, id, crate::uploads::Purpose::Avatar).await?.id))
        }
    };
    let current = crate::users::find(ctx, user_id).await?.ok_or(AccountsError::NotFound("user"))?;
    let mut row = current.into_active_model();
    if let Some(v) = avatar {
        row.avatar_file_id = Set(v);
    }
    if let Some(v) = nickname {
        row.nickname = Set(v);
    }
    if let Some(v) = username {
        row.username = Set(v);
    }
    if let Some(v) = gender {
        row.gender = Set(v);
    }
    if let Some(v) = birth_date {
        row.birth_date = Set(v);
    }
    row.updated_at = Set(ctx.clock.now());
    let birth_date_changed = birth_date.is_some();
    match row.update(&ctx.db).await {
        Ok(u) => {
            if birth_date_changed {
                // A birth date under 14 puts the account behind the guardian step at once.
                xqt_kernel::privacy::guard_state_changed(ctx, user_id).await?;
            }
            Ok(u)
        }
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(AccountsError::UsernameTaken.into())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_rules() {
        assert_eq!(check_nickname("  小明  ").unwrap(), "小明");
        assert!(check_nickname("").is_err());
        assert!(check_nickname(&"名".repeat(33)).is_err());
        assert_eq!(check_username("Xiao_Ming1").unwrap(), "xiao_ming1");
        assert!(check_username("1abc").is_err());
        assert!(check_username("abc").is_err());
        assert!(check_username("ab-cd").is_err());
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        assert!(check_birth_date(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(), today).is_err());
        assert!(check_birth_date(NaiveDate::from_ymd_opt(1899, 12, 31).unwrap(), today).is_err());
        assert!(check_birth_date(NaiveDate::from_ymd_opt(2004, 5, 1).unwrap(), today).is_ok());
    }
}
