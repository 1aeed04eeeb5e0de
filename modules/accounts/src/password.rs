//! Password rules (SEC-8) and argon2id hashing with OWASP's minimum parameters
//! (19 MiB, 2 passes, 1 lane), run off the async threads.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use xqt_kernel::{AppError, AppResult};

use crate::error::AccountsError;

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 64;

/// A handful of the most common choices that pass the class rule.
const COMMON: &[&str] =
    &["Password1!", "P@ssw0rd", "Passw0rd!", "Qwerty123!", "Admin@123", "Abc12345!", "Aa123456", "1qaz@WSX"];

fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).expect("valid argon2 params"))
}

/// At least 8 and at most 64 characters, three of four classes (lower, upper, digit, symbol),
/// not a well-known password, and not containing the phone number or username.
pub fn check_rules(password: &str, phone: Option<&str>, username: Option<&str>) -> Result<(), AccountsError> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(AccountsError::WeakPassword("at least 8 characters"));
    }
    if len > MAX_LEN {
        return Err(AccountsError::WeakPassword("at most 64 characters"));
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|&&c| c).count() < 3 {
        return Err(AccountsError::WeakPassword("use three of: lower case, upper case, digits, symbols"));
    }
    if COMMON.iter().any(|c| c.eq_ignore_ascii_case(password)) {
        return Err(AccountsError::WeakPassword("that password is too common"));
    }
    let lower = password.to_lowercase();
    if phone.is_some_and(|p| password.contains(&p[3..]))
        || username.is_some_and(|u| u.len() >= 4 && lower.contains(&u.to_lowercase()))
    {
        return Err(AccountsError::WeakPassword("do not put your phone number or username in it"));
    }
    Ok(())
}

pub async fn hash(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(AppError::internal)?;
        hasher().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(AppError::internal)
    })
    .await
    .map_err(AppError::internal)?
}

/// Verifies against a stored hash; with no hash it still spends the same work, so a missing
/// account cannot be told apart by timing.
pub async fn verify(password: String, stored: Option<String>) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| DECOY.with(|d| d.clone()));
        let parsed = PasswordHash::new(&stored).map_err(AppError::internal)?;
        Ok(hasher().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(AppError::internal)?
}

thread_local! {
    static DECOY: String = {
        let salt = SaltString::encode_b64(&[7u8; 16]).expect("salt");
        hasher().hash_password(b"decoy-password-never-matches", &salt).expect("hash").to_string()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(check_rules("Xq7!tong", None, None), Ok(()));
        assert!(check_rules("Sh0rt!", None, None).is_err());
        assert!(check_rules("alllowercase1", None, None).is_err(), "two classes only");
        assert!(check_rules("P@ssw0rd", None, None).is_err(), "common");
        assert!(check_rules("Ab!12345678", Some("13812345678"), None).is_err(), "contains the phone's tail");
        assert!(check_rules("Xiaoming!2026", None, Some("xiaoming")).is_err(), "contains the username");
        assert!(check_rules(&"Aa1!".repeat(17), None, None).is_err(), "too long");
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash("Xq7!tong-pass".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("Xq7!tong-pass".into(), Some(h.clone())).await.unwrap());
        assert!(!verify("wrong".into(), Some(h)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
    }
}
