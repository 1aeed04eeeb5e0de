//! Relay cursor connections. Cursors are opaque, namespaced by the list they came from, and
//! validated: a cursor from another list or a garbled one is `BAD_USER_INPUT`, not a crash.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use uuid::Uuid;

use crate::config::Limits;
use crate::error::{AppError, AppResult};

/// Complexity weight of a page whose size was not given: the worst case.
pub const UNSPECIFIED_PAGE_WEIGHT: usize = 100;

/// Complexity of a connection field: its page size times what each node costs.
pub fn complexity(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first.or(last).map(|n| n.max(1) as usize).unwrap_or(UNSPECIFIED_PAGE_WEIGHT);
    size.saturating_mul(child_complexity).saturating_add(1)
}

pub fn encode_cursor(list: &str, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{list}:{key}"))
}

pub fn decode_cursor(list: &str, cursor: &str, field: &'static str) -> AppResult<String> {
    let invalid = || AppError::bad_input(field, "invalid cursor");
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    let key = text.strip_prefix(list).and_then(|rest| rest.strip_prefix(':')).ok_or_else(invalid)?;
    if key.is_empty() {
        return Err(invalid());
    }
    Ok(key.to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Oldest-to-newest after `after`, `first` items.
    Forward,
    /// The `last` items before `before`.
    Backward,
}

/// A validated page request: the service fetches `limit + 1` rows in `direction` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u64,
    pub after: Option<String>,
    pub before: Option<String>,
    pub direction: Direction,
}

#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    pub fn validate(&self, list: &str, limits: &Limits) -> AppResult<PageRequest> {
        if self.first.is_some() && self.last.is_some() {
            return Err(AppError::bad_input("first", "give either `first` or `last`, not both"));
        }
        let check = |n: i32, field: &'static str| -> AppResult<u64> {
            if n < 1 || n as usize > limits.max_page_size {
                return Err(AppError::bad_input(field, format!("must be between 1 and {}", limits.max_page_size)));
            }
            Ok(n as u64)
        };
        let (limit, direction) = match (self.first, self.last) {
            (_, Some(n)) => (check(n, "last")?, Direction::Backward),
            (Some(n), None) => (check(n, "first")?, Direction::Forward),
            (None, None) => (limits.default_page_size as u64, Direction::Forward),
        };
        let after = self.after.as_deref().map(|c| decode_cursor(list, c, "after")).transpose()?;
        let before = self.before.as_deref().map(|c| decode_cursor(list, c, "before")).transpose()?;
        Ok(PageRequest { limit, after, before, direction })
    }
}

/// Which way a list of UUIDv7-keyed rows reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    /// Inboxes and logs: "after" a cursor means older.
    NewestFirst,
    /// Work queues: first come, first served.
    OldestFirst,
}

impl PageRequest {
    /// Keyset paging over a UUIDv7 id column: filters past the cursors, orders for the
    /// direction, and fetches `limit + 1` rows (the extra one tells whether there is more).
    pub fn apply<E: EntityTrait>(&self, query: Select<E>, id: E::Column, order: ListOrder) -> AppResult<Select<E>> {
        self.apply_keyed(query, id, order, |cursor| Uuid::parse_str(cursor).ok())
    }

    /// `apply` over any unique, ordered key column (a UUIDv7 id, a per-conversation sequence
    /// number); `parse` reads a cursor's key, `None` for a garbled one.
    pub fn apply_keyed<E, K>(
        &self,
        query: Select<E>,
        key_column: E::Column,
        order: ListOrder,
        parse: impl Fn(&str) -> Option<K>,
    ) -> AppResult<Select<E>>
    where
        E: EntityTrait,
        K: Into<sea_orm::Value>,
    {
        let key = |cursor: &String, field: &'static str| {
            parse(cursor).ok_or_else(|| AppError::bad_input(field, "invalid cursor"))
        };
        let mut q = query;
        let newest_first = order == ListOrder::NewestFirst;
        if let Some(after) = &self.after {
            let k = key(after, "after")?;
            q = q.filter(if newest_first { key_column.lt(k) } else { key_column.gt(k) });
        }
        if let Some(before) = &self.before {
            let k = key(before, "before")?;
            q = q.filter(if newest_first { key_column.gt(k) } else { key_column.lt(k) });
        }
        // Forward reads in list order; backward reads from the far end and is flipped later.
        let descending = newest_first == (self.direction == Direction::Forward);
        q = if descending { q.order_by_desc(key_column) } else { q.order_by_asc(key_column) };
        Ok(q.limit(self.limit + 1))
    }

    /// Turns the `limit + 1` rows fetched in `direction` order into a connection in list order.
    pub fn connection<T: OutputType>(
        &self,
        list: &str,
        mut rows: Vec<T>,
        key: impl Fn(&T) -> String,
    ) -> Connection<String, T> {
        let more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        let (has_previous, has_next) = match self.direction {
            Direction::Forward => (self.after.is_some(), more),
            Direction::Backward => {
                rows.reverse();
                (more, self.before.is_some())
            }
        };
        let mut connection = Connection::new(has_previous, has_next);
        connection.edges.extend(rows.into_iter().map(|row| Edge::new(encode_cursor(list, &key(&row)), row)));
        connection
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn cursors_round_trip_and_are_namespaced() {
        let c = encode_cursor("notifications", "0193-abc");
        assert_eq!(decode_cursor("notifications", &c, "after").unwrap(), "0193-abc");
        assert_eq!(decode_cursor("messages", &c, "after").unwrap_err().code(), ErrorCode::BadUserInput);
        assert_eq!(decode_cursor("notifications", "!!!", "after").unwrap_err().code(), ErrorCode::BadUserInput);
        assert!(decode_cursor("notifications", &encode_cursor("notifications", ""), "after").is_err());
    }

    #[test]
    fn page_sizes_are_bounded() {
        let args = |first, last| PageArgs { first, last, ..Default::default() };
        assert_eq!(args(None, None).validate("l", &limits()).unwrap().limit, 20);
        assert_eq!(args(Some(0), None).validate("l", &limits()).unwrap_err().code(), ErrorCode::BadUserInput);
        assert!(args(Some(101), None).validate("l", &limits()).is_err());
        assert!(args(Some(5), Some(5)).validate("l", &limits()).is_err());
        let back = args(None, Some(3)).validate("l", &limits()).unwrap();
        assert_eq!((back.limit, back.direction), (3, Direction::Backward));
    }

    #[test]
    fn connection_trims_the_probe_row_and_orders_backward_pages() {
        let forward = PageArgs { first: Some(2), ..Default::default() }.validate("l", &limits()).unwrap();
        let conn = forward.connection("l", vec![1, 2, 3], |n| n.to_string());
        assert!(conn.has_next_page && !conn.has_previous_page);
        assert_eq!(conn.edges.iter().map(|e| e.node).collect::<Vec<_>>(), vec![1, 2]);

        let before = encode_cursor("l", "9");
        let backward =
            PageArgs { last: Some(2), before: Some(before), ..Default::default() }.validate("l", &limits()).unwrap();
        // fetched newest-first: 8, 7, 6
        let conn = backward.connection("l", vec![8, 7, 6], |n| n.to_string());
        assert!(conn.has_previous_page && conn.has_next_page);
        assert_eq!(conn.edges.iter().map(|e| e.node).collect::<Vec<_>>(), vec![7, 8]);
    }

    #[test]
    fn complexity_weights_lists_by_page_size() {
        assert_eq!(complexity(Some(10), None, 3), 31);
        assert_eq!(complexity(None, None, 3), 301);
    }
}
