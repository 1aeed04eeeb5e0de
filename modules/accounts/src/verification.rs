//! Real-name verification of a person (实名认证): real name and resident ID number, sealed at
//! rest, reviewed by platform reviewers. Other modules ask `is_verified` before posting,
//! chatting or showing someone to partners (COL-1).

use chrono::{Datelike, NaiveDate};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;
use xqt_kernel::pagination::{ListOrder, PageRequest};
use xqt_kernel::{AppContext, AppResult, ids};
use xqt_notifications::NotificationKind;
use xqt_notifications::inbox::{NewNotification, notify};

use crate::entity::identity_verification as iv;
use crate::error::AccountsError;
use crate::review::{ReviewAction, ReviewState, check_reason};

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// 2 to 30 characters: Chinese characters, Latin letters, spaces and the middle dot of
/// transliterated names (e.g. 阿依古丽·买买提).
pub fn check_real_name(name: &str) -> Result<String, AccountsError> {
    let name = name.trim();
    let len = name.chars().count();
    let allowed = |c: char| {
        ('\u{4e00}'..='\u{9fff}').contains(&c)
            || ('\u{3400}'..='\u{4dbf}').contains(&c)
            || c.is_ascii_alphabetic()
            || matches!(c, ' ' | '·' | '•')
    };
    if !(2..=30).contains(&len) || !name.chars().all(allowed) {
        return Err(AccountsError::Invalid { field: "realName", message: "2 to 30 characters of a real name".into() });
    }
    Ok(name.to_owned())
}

/// An 18-character resident ID (GB 11643): 17 digits with a valid birth date, and the check
/// character computed from them (digit or X).
pub fn check_id_number(id: &str, today: NaiveDate) -> Result<String, AccountsError> {
    let invalid =
        || AccountsError::Invalid { field: "idNumber", message: "not a valid 18-character resident ID number".into() };
    let id = id.trim().to_ascii_uppercase();
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) || b[0] == b'0' {
        return Err(invalid());
    }
    if b[17] != id_check(&b[..17]) {
        return Err(invalid());
    }
    let birth = NaiveDate::parse_from_str(&id[6..14], "%Y%m%d").map_err(|_| invalid())?;
    if birth > today || birth.year() < 1900 {
        return Err(invalid());
    }
    Ok(id)
}

/// The check character (GB 11643) of an ID number's first 17 digits.
fn id_check(digits: &[u8]) -> u8 {
    let sum: u32 = digits.iter().zip(ID_WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    ID_CHECK[(sum % 11) as usize]
}

/// A resident ID number from its first 17 digits and their check character: for demo data and
/// tests. Panics unless given 17 ASCII digits.
pub fn with_id_check(digits: &str) -> String {
    assert!(digits.len() == 17 && digits.bytes().all(|b| b.is_ascii_digit()), "17 digits");
    format!("{digits}{}", id_check(digits.as_bytes()) as char)
}

pub async fn latest(ctx: &AppContext, user: Uuid) -> AppResult<Option<iv::Model>> {
    Ok(iv::Entity::find().filter(iv::Column::UserId.eq(user)).order_by_desc(iv::Column::Id).one(&ctx.db).await?)
}

/// True once the person's real name has been approved.
pub async fn is_verified(ctx: &AppContext, user: Uuid) -> AppResult<bool> {
    Ok(latest(ctx, user).await?.is_some_and(|v| v.state == ReviewState::Approved))
}

/// The person's approved real name, unsealed; `None` until approved. For what the person agreed
/// to show or send (an accepted application's contact, an agreement's signer): callers decide.
pub async fn verified_name(ctx: &AppContext, user: Uuid) -> AppResult<Option<String>> {
    match latest(ctx, user).await? {
        Some(v) if v.state == ReviewState::Approved => Ok(Some(ctx.keys.open(&v.real_name_sealed)?)),
        _ => Ok(None),
    }
}

/// The birth date in the person's approved ID number (GB 11643, digits 7–14); `None` until
/// approved. What the person says in their profile may be anything; this one was checked.
pub async fn verified_birth_date(ctx: &AppContext, user: Uuid) -> AppResult<Option<NaiveDate>> {
    match latest(ctx, user).await? {
        Some(v) if v.state == ReviewState::Approved => {
            let id = ctx.keys.open(&v.id_number_sealed)?;
            Ok(id.get(6..14).and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok()))
        }
        _ => Ok(None),
    }
}

/// Refuses people whose real name is not approved (FORBIDDEN, reason `VERIFICATION_REQUIRED`):
/// what others or partners can see — organisation verification now; posts and chat later —
/// needs a verified real name (COL-1; Cybersecurity Law Art. 24).
pub async fn require_verified(ctx: &AppContext, user: Uuid) -> AppResult<()> {
    if is_verified(ctx, user).await? {
        return Ok(());
    }
    Err(AccountsError::VerificationRequired.into())
}

pub async fn submit(ctx: &AppContext, user: Uuid, real_name: &str, id_number: &str) -> AppResult<iv::Model> {
    submit_with_photos(ctx, user, real_name, id_number, None).await
}

/// A submission with the ID card's photos (`(front, back)`: the person's own `id_photo` uploads).
pub async fn submit_with_photos(
    ctx: &AppContext,
    user: Uuid,
    real_name: &str,
    id_number: &str,
    photos: Option<(Uuid, Uuid)>,
) -> AppResult<iv::Model> {
    let real_name = check_real_name(real_name)?;
    let id_number = check_id_number(id_number, xqt_kernel::clock::china_date(ctx.clock.now()))?;
    if let Some(current) = latest(ctx, user).await?
        && (current.state.is_open() || current.state == ReviewState::Approved)
    {
        return Err(
            AccountsError::AlreadyIs { what: "real-name verification", state: current.state.to_string() }.into()
        );
    }
    let hash = ctx.keys.lookup_hash("id_number", &id_number);
    let taken = iv::Entity::find()
        .filter(iv::Column::IdNumberHash.eq(hash.clone()))
        .filter(iv::Column::State.eq(ReviewState::Approved))
        .filter(iv::Column::UserId.ne(user))
        .one(&ctx.db)
        .await?;
    if taken.is_some() {
        return Err(AccountsError::IdNumberTaken.into());
    }
    if let Some((front, back)) = photos {
        if front == back {
            return Err(AccountsError::Invalid {
                field: "idBackFileId",
                message: "the back of the card is another photo than its front".into(),
            }
            .into());
        }
        for (field, id) in [("idFrontFileId", front), ("idBackFileId", back)] {
            crate::uploads::owned(ctx, user, id, crate::uploads::Purpose::IdPhoto)
                .await
                .map_err(|_| AccountsError::Invalid { field, message: "not one of your `id_photo` uploads".into() })?;
        }
    }
    let row = iv::ActiveModel {
        id: Set(ids::new_id()),
        user_id: Set(user),
        real_name_sealed: Set(ctx.keys.seal(&real_name)),
        id_number_sealed: Set(ctx.keys.seal(&id_number)),
        id_number_hash: Set(hash),
        state: Set(ReviewState::Submitted),
        reason: Set(None),
        reviewer_id: Set(None),
        submitted_at: Set(ctx.clock.now()),
        reviewed_at: Set(None),
        id_front_file_id: Set(photos.map(|p| p.0)),
        id_back_file_id: Set(photos.map(|p| p.1)),
    }
    .insert(&ctx.db)
    .await?;
    crate::identity_check::queue(ctx, row.id).await?;
    Ok(row)
}

/// A reviewer moves a submission on; the person is told the outcome (with the reason if rejected).
pub async fn review(
    ctx: &AppContext,
    reviewer: Uuid,
    id: Uuid,
    action: ReviewAction,
    reason: Option<&str>,
) -> AppResult<iv::Model> {
    let reason = check_reason(action, reason)?;
    let current = iv::Entity::find_by_id(id).one(&ctx.db).await?.ok_or(AccountsError::NotFound("verification"))?;
    let from = current.state;
    let to = from.after(action)?;
    let now = ctx.clock.now();
    let mut update = iv::Entity::update_many()
        .col_expr(iv::Column::State, Expr::value(to))
        .col_expr(iv::Column::ReviewerId, Expr::value(reviewer))
        .filter(iv::Column::Id.eq(id))
        .filter(iv::Column::State.eq(from));
    if action != ReviewAction::Start {
        update = update
            .col_expr(iv::Column::ReviewedAt, Expr::value(now))
            .col_expr(iv::Column::Reason, Expr::value(reason.clone()));
    }
    if update.exec(&ctx.db).await?.rows_affected == 0 {
        return Err(AccountsError::Changed("verification").into());
    }
    if !to.is_open() {
        // The review is over: the card's photos have served their purpose and go (MIN: kept
        // no longer than needed).
        let photos: Vec<Uuid> = [current.id_front_file_id, current.id_back_file_id].into_iter().flatten().collect();
        if !photos.is_empty() {
            iv::Entity::update_many()
                .col_expr(iv::Column::IdFrontFileId, Expr::value(Option::<Uuid>::None))
                .col_expr(iv::Column::IdBackFileId, Expr::value(Option::<Uuid>::None))
                .filter(iv::Column::Id.eq(id))
                .exec(&ctx.db)
                .await?;
            crate::uploads::delete_files(ctx, &photos).await?;
        }
    }
    if to == ReviewState::Approved {
        // The ID number's birth date now counts for the guard (a child is a child, whatever
        // the profile says).
        xqt_kernel::privacy::guard_state_changed(ctx, current.user_id).await?;
    }
    let (kind, title, body) = match to {
        ReviewState::Approved => {
            (NotificationKind::IdentityApproved, "实名认证已通过", "你的实名认证已通过审核。".to_owned())
        }
        ReviewState::Rejected => (
            NotificationKind::IdentityRejected,
            "实名认证未通过",
            format!("你的实名认证未通过：{}。可修改后重新提交。", reason.unwrap_or_default()),
        ),
        _ => {
            return iv::Entity::find_by_id(id)
                .one(&ctx.db)
                .await?
                .ok_or_else(|| AccountsError::NotFound("verification").into());
        }
    };
    notify(ctx, NewNotification { user_id: current.user_id, kind, title: title.into(), body }).await?;
    iv::Entity::find_by_id(id).one(&ctx.db).await?.ok_or_else(|| AccountsError::NotFound("verification").into())
}

/// `limit + 1` submissions in a state, oldest first (first come, first reviewed). Each person
/// shown to the reviewer is recorded in the audit log first.
pub async fn queue(
    ctx: &AppContext,
    reviewer: &xqt_kernel::Viewer,
    state: ReviewState,
    page: &PageRequest,
) -> AppResult<Vec<iv::Model>> {
    let q = iv::Entity::find().filter(iv::Column::State.eq(state));
    let rows = page.apply(q, iv::Column::Id, ListOrder::OldestFirst)?.all(&ctx.db).await?;
    let subjects: Vec<Uuid> = rows.iter().map(|r| r.user_id).collect();
    xqt_kernel::privacy::record_reads(
        ctx,
        reviewer,
        "identity_verification_queue",
        &["real_name", "id_number"],
        subjects,
    )
    .await?;
    Ok(rows)
}

pub async fn all_for(ctx: &AppContext, user: Uuid) -> AppResult<Vec<iv::Model>> {
    Ok(iv::Entity::find().filter(iv::Column::UserId.eq(user)).order_by_asc(iv::Column::Id).all(&ctx.db).await?)
}

pub async fn delete_for(ctx: &AppContext, user: Uuid) -> AppResult<u64> {
    Ok(iv::Entity::delete_many().filter(iv::Column::UserId.eq(user)).exec(&ctx.db).await?.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn id_numbers_carry_a_check_character_and_a_real_birth_date() {
        assert_eq!(check_id_number("11010519491231002X", today()).unwrap(), "11010519491231002X");
        assert_eq!(check_id_number("11010519491231002x", today()).unwrap(), "11010519491231002X");
        assert!(check_id_number("110105194912310021", today()).is_err(), "wrong check character");
        assert!(check_id_number("110105194913310027", today()).is_err(), "month 13");
        assert!(check_id_number("11010520991231002X", today()).is_err(), "born in the future");
        assert!(check_id_number("1101051949123100", today()).is_err(), "too short");
    }

    #[test]
    fn real_names() {
        assert_eq!(check_real_name(" 张三 ").unwrap(), "张三");
        assert!(check_real_name("阿依古丽·买买提").is_ok());
        assert!(check_real_name("张").is_err());
        assert!(check_real_name("张三3").is_err());
        assert!(check_real_name("<script>").is_err());
    }
}
