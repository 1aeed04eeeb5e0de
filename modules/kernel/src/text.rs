//! The one set of rules for text a person types: surrounding whitespace is trimmed, the length is
//! counted in characters (汉字 count one each), and control characters are refused — except line
//! breaks and tabs in multi-line text. Each module names the field when it turns a refusal into
//! its own error.

/// The rules for one text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub min: usize,
    pub max: usize,
    /// Line breaks and tabs allowed (a message, a description); a name or title is one line.
    pub multiline: bool,
}

impl Text {
    /// One line of `min` to `max` characters.
    pub const fn line(min: usize, max: usize) -> Self {
        Self { min, max, multiline: false }
    }

    /// Multi-line text of `min` to `max` characters.
    pub const fn block(min: usize, max: usize) -> Self {
        Self { min, max, multiline: true }
    }

    /// The trimmed text, or why it is refused (a message for the person).
    pub fn check(&self, value: &str) -> Result<String, String> {
        let value = value.trim();
        let len = value.chars().count();
        if len < self.min || len > self.max {
            return Err(match (self.min, self.max) {
                (0, max) => format!("at most {max} characters"),
                (min, max) if min == max => format!("exactly {min} characters"),
                (min, max) => format!("{min} to {max} characters"),
            });
        }
        let allowed = |c: char| self.multiline && matches!(c, '\n' | '\r' | '\t');
        if value.chars().any(|c| c.is_control() && !allowed(c)) {
            return Err(if self.multiline {
                "no control characters other than line breaks and tabs".into()
            } else {
                "one line, no control characters".into()
            });
        }
        Ok(value.to_owned())
    }

    /// An optional field: absent or blank is `None`, anything else follows the rules.
    pub fn check_optional(&self, value: Option<&str>) -> Result<Option<String>, String> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => self.check(v).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_counts_characters_and_refuses_control_characters() {
        let name = Text::line(1, 4);
        assert_eq!(name.check("  小明同学 "), Ok("小明同学".into()), "four characters, twelve bytes");
        assert_eq!(name.check("小明同学们"), Err("1 to 4 characters".into()));
        assert_eq!(name.check("   "), Err("1 to 4 characters".into()), "blank is empty");
        assert_eq!(name.check("a\u{7}b"), Err("one line, no control characters".into()));
        assert_eq!(name.check("a\nb"), Err("one line, no control characters".into()));
        let body = Text::block(1, 20);
        assert_eq!(body.check("第一行\n第二行\t完"), Ok("第一行\n第二行\t完".into()));
        assert!(body.check("a\u{0}b").is_err(), "a NUL is not text");
        assert_eq!(Text::line(0, 3).check("abcd"), Err("at most 3 characters".into()));
        assert_eq!(Text::line(2, 2).check("a"), Err("exactly 2 characters".into()));
    }

    #[test]
    fn optional_fields_treat_blank_as_absent() {
        let note = Text::block(1, 10);
        assert_eq!(note.check_optional(None), Ok(None));
        assert_eq!(note.check_optional(Some("  ")), Ok(None));
        assert_eq!(note.check_optional(Some(" 好 ")), Ok(Some("好".into())));
        assert!(note.check_optional(Some(&"长".repeat(11))).is_err());
    }
}
