//! Every row id is a UUIDv7: unique without coordination and ordered by creation time.

use uuid::Uuid;

pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// Parses a GraphQL `ID` argument; a malformed one is `BAD_USER_INPUT` naming the field.
pub fn parse_id(field: &'static str, id: &async_graphql::ID) -> crate::AppResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| crate::AppError::bad_input(field, "not a valid id"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_v7_and_increase() {
        let a = super::new_id();
        let b = super::new_id();
        assert_eq!(a.get_version_num(), 7);
        assert!(b > a);
    }

    #[test]
    fn malformed_ids_name_their_field() {
        let err = super::parse_id("userId", &async_graphql::ID("nope".into())).unwrap_err();
        assert_eq!(err.detail("field"), Some(&serde_json::json!("userId")));
    }
}
