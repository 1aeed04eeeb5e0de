//! Mainland mobile numbers: normalised, masked for display, and stored sealed with a lookup hash.

use crate::error::AccountsError;
use xqt_kernel::AppContext;

/// A normalised mainland mobile number: 11 digits, `1[3-9]…`.
/// What separates phones' lookup hashes from other values' (ID numbers, usernames).
const LOOKUP_KIND: &str = "phone";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Accepts spaces and dashes and an optional `+86` / `0086` / `86` prefix.
    pub fn parse(input: &str) -> Result<Self, AccountsError> {
        let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = digits
            .strip_prefix("+86")
            .or_else(|| digits.strip_prefix("0086"))
            .or_else(|| (digits.len() == 13).then(|| digits.strip_prefix("86")).flatten())
            .unwrap_or(&digits);
        let b = digits.as_bytes();
        let valid = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && b.iter().all(u8::is_ascii_digit);
        if valid { Ok(Self(digits.to_owned())) } else { Err(AccountsError::InvalidPhone) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn lookup_hash(&self, ctx: &AppContext) -> Vec<u8> {
        ctx.keys.lookup_hash(LOOKUP_KIND, &self.0)
    }

    /// `lookup_hash` as hex, for records that keep it as text.
    pub fn lookup_hex(&self, ctx: &AppContext) -> String {
        ctx.keys.lookup_hex(LOOKUP_KIND, &self.0)
    }

    /// `138****1234`.
    pub fn masked(&self) -> String {
        xqt_kernel::mask::phone(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_mainland_numbers() {
        for input in ["13812345678", "+86 138-1234-5678", "0086 13812345678", "8613812345678"] {
            assert_eq!(Phone::parse(input).unwrap().as_str(), "13812345678", "{input}");
        }
    }

    #[test]
    fn refuses_anything_else() {
        for input in ["", "1381234567", "138123456789", "12812345678", "23812345678", "1381234567x", "+1 4155550123"] {
            assert_eq!(Phone::parse(input), Err(AccountsError::InvalidPhone), "{input}");
        }
    }

    #[test]
    fn masks_the_middle_four() {
        assert_eq!(Phone::parse("13812345678").unwrap().masked(), "138****5678");
    }
}
