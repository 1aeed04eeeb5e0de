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
    }
}
