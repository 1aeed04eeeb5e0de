//! How personal identifiers look to anyone but their owner (脱敏). One place for every module;
//! the privacy module decides who sees what, these decide what "masked" means.

/// `138****5678`.
pub fn phone(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    format!("{}****{}", chars[..3].iter().collect::<String>(), chars[chars.len() - 4..].iter().collect::<String>())
}

/// `张*`, `欧**`: the family name's first character, the rest starred.
pub fn name(n: &str) -> String {
    let mut chars = n.trim().chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
        None => String::new(),
    }
}

/// `1101**********4477`: region prefix and last four.
pub fn id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

/// `z***@example.com`.
pub fn email(e: &str) -> String {
    match e.split_once('@') {
        Some((local, domain)) => format!("{}***@{domain}", local.chars().next().unwrap_or('*')),
        None => "***".into(),
    }
}

/// `广东省深圳市****`: the first six characters (province and city), the rest hidden.
pub fn address(a: &str) -> String {
    let chars: Vec<char> = a.trim().chars().collect();
    let keep = chars.len().min(6).min(chars.len() / 2);
    format!("{}****", chars[..keep].iter().collect::<String>())
}

/// The kinds of identifier with a masking rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalField {
    Phone,
    Name,
    IdNumber,
    Email,
    Address,
}

/// How `value`, belonging to `owner`, looks to `viewer`: the person sees it whole, every other
/// viewer (admins and partners included) masked. Unmasking is a separate audited act.
pub fn for_viewer(viewer: &crate::Viewer, owner: uuid::Uuid, field: PersonalField, value: &str) -> String {
    if viewer.person_id() == Some(owner) {
        return value.to_owned();
    }
    match field {
        PersonalField::Phone => phone(value),
        PersonalField::Name => name(value),
        PersonalField::IdNumber => id_number(value),
        PersonalField::Email => email(value),
        PersonalField::Address => address(value),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn chinese_conventions() {
        assert_eq!(super::phone("13812345678"), "138****5678");
        assert_eq!(super::name("张三"), "张*");
        assert_eq!(super::name("欧阳娜娜"), "欧***");
        assert_eq!(super::name("李"), "李*");
        assert_eq!(super::id_number("110101199003074477"), "1101**********4477");
        assert_eq!(super::email("zhang@example.com"), "z***@example.com");
        assert_eq!(super::address("广东省深圳市南山区科技园1号"), "广东省深圳市****");
        assert_eq!(super::address("北京"), "北****");
    }

    #[test]
    fn only_the_person_sees_their_own_value() {
        use super::{PersonalField, for_viewer};
        use crate::Viewer;
        let owner = uuid::Uuid::from_u128(1);
        let me = Viewer::User { user_id: owner, session_id: uuid::Uuid::nil() };
        let other = Viewer::User { user_id: uuid::Uuid::from_u128(2), session_id: uuid::Uuid::nil() };
        let admin = Viewer::Admin { user_id: uuid::Uuid::from_u128(3), session_id: uuid::Uuid::nil() };
        let partner =
            Viewer::Partner { token_id: uuid::Uuid::nil(), partner_id: uuid::Uuid::nil(), scopes: Default::default() };
        assert_eq!(for_viewer(&me, owner, PersonalField::Phone, "13812345678"), "13812345678");
        for v in [&other, &admin, &partner, &Viewer::Anonymous] {
            assert_eq!(for_viewer(v, owner, PersonalField::Phone, "13812345678"), "138****5678");
            assert_eq!(for_viewer(v, owner, PersonalField::Name, "张三"), "张*");
        }
    }
}
