//! Null propagation as the GraphQL spec says it (§6.4.4, "Handling Field Errors"): a field that
//! raised an error is `null`; when its type is non-null, its parent becomes `null` instead, and
//! so on up to the nearest nullable position — or `data` itself.
//!
//! async-graphql 7 leaves an errored field out of its parent object instead, so a non-admin's
//! `{ me { id } partners { id } }` answered `{ me }`, which no generated client can type. This
//! module records, for each field that raised an error and each of its ancestors, the
//! field's type (as `ResolveInfo::return_type` gives it, `[Partner!]!`), and rewrites `data` once
//! execution ends (the pipeline calls [`Seen::record`] and [`Seen::apply`]). A request without
//! errors pays one atomic load per field.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::{Name, PathSegment, QueryPathNode, QueryPathSegment, Response, Value};

/// A position in the response and what the schema says may stand there.
struct Position {
    path: Vec<PathSegment>,
    non_null: bool,
    errored: bool,
}

/// What one request's execution recorded (a subscription's, per event).
#[derive(Default)]
pub(crate) struct Seen {
    any_error: AtomicBool,
    positions: Mutex<Vec<Position>>,
}

impl Seen {
    /// Rewrites one response's data from the positions its execution recorded, and forgets them
    /// (a subscription executes once per event).
    pub(crate) fn apply(&self, response: &mut Response) {
        if self.any_error.swap(false, Ordering::AcqRel) {
            let positions = std::mem::take(&mut *self.positions.lock().unwrap_or_else(|p| p.into_inner()));
            propagate(&mut response.data, &positions);
        }
    }

    /// After a field resolved (`errored`: it raised an error): only positions on the way to an
    /// error matter, and the path is built for those alone.
    pub(crate) fn record(&self, path_node: &QueryPathNode<'_>, non_null: bool, errored: bool) {
        if errored || self.any_error.load(Ordering::Acquire) {
            let info_path = path_of(path_node);
            let mut positions = self.positions.lock().unwrap_or_else(|p| p.into_inner());
            let leads_to_error =
                || positions.iter().any(|p| p.path.len() > info_path.len() && p.path.starts_with(&info_path));
            if errored || leads_to_error() {
                positions.push(Position { path: info_path, non_null, errored });
                self.any_error.store(true, Ordering::Release);
            }
        }
    }
}

/// The response path of a node, root first.
fn path_of(node: &QueryPathNode<'_>) -> Vec<PathSegment> {
    let mut path: Vec<PathSegment> = std::iter::once(node)
        .chain(node.parents())
        .map(|node| match node.segment {
            QueryPathSegment::Index(i) => PathSegment::Index(i),
            QueryPathSegment::Name(name) => PathSegment::Field(name.to_owned()),
        })
        .collect();
    path.reverse();
    path
}

/// Nulls each errored position, or the nearest nullable position above it.
fn propagate(data: &mut Value, positions: &[Position]) {
    // Every root field failing leaves async-graphql's `data` null; the root object still exists.
    if *data == Value::Null {
        *data = Value::Object(Default::default());
    }
    let non_null = |path: &[PathSegment]| positions.iter().any(|p| p.path == path && p.non_null);
    for error in positions.iter().filter(|p| p.errored) {
        let mut at = error.path.as_slice();
        while !at.is_empty() && non_null(at) {
            at = &at[..at.len() - 1];
        }
        if at.is_empty() {
            *data = Value::Null;
            return;
        }
        set_null(data, at);
    }
}

/// Sets the value at `path` to null; nothing when an ancestor is already null.
fn set_null(data: &mut Value, path: &[PathSegment]) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut node = data;
    for segment in parents {
        node = match (segment, node) {
            (PathSegment::Field(key), Value::Object(map)) => match map.get_mut(key.as_str()) {
                Some(v) => v,
                None => return,
            },
            (PathSegment::Index(i), Value::List(items)) => match items.get_mut(*i) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    match (last, node) {
        (PathSegment::Field(key), Value::Object(map)) => {
            map.insert(Name::new(key), Value::Null);
        }
        (PathSegment::Index(i), Value::List(items)) => {
            if let Some(v) = items.get_mut(*i) {
                *v = Value::Null;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{PathSegment, Value, value};

    use super::{Position, propagate};

    fn at(path: &[&str], non_null: bool, errored: bool) -> Position {
        let path = path
            .iter()
            .map(|s| s.parse().map(PathSegment::Index).unwrap_or_else(|_| PathSegment::Field((*s).to_owned())))
            .collect();
        Position { path, non_null, errored }
    }

    #[test]
    fn a_non_null_field_nulls_its_parent_up_to_the_nearest_nullable_position() {
        // `partners: [Partner!]!` refused at the root: the whole of `data` is null.
        let mut data = value!({ "me": { "id": "1" } });
        propagate(&mut data, &[at(&["partners"], true, true)]);
        assert_eq!(data, Value::Null);

        // `organization: Organization` (nullable) whose `members: [Member!]!` was refused.
        let mut data = value!({ "organization": { "name": "校企通" }, "me": { "id": "1" } });
        propagate(&mut data, &[at(&["organization"], false, false), at(&["organization", "members"], true, true)]);
        assert_eq!(data, value!({ "organization": null, "me": { "id": "1" } }));

        // A nullable field that failed is present, as null.
        let mut data = value!({ "me": { "id": "1" } });
        propagate(&mut data, &[at(&["me"], false, false), at(&["me", "avatar"], false, true)]);
        assert_eq!(data, value!({ "me": { "id": "1", "avatar": null } }));

        // In a list of nullable items, the item is nulled; the list stays.
        let mut data = value!({ "xs": [{ "a": 1 }, { "a": 2 }] });
        let positions = [at(&["xs"], true, false), at(&["xs", "1"], false, false), at(&["xs", "1", "b"], true, true)];
        propagate(&mut data, &positions);
        assert_eq!(data, value!({ "xs": [{ "a": 1 }, null] }));

        // Every root field failed: async-graphql's null data becomes the object it stands for.
        let mut data = Value::Null;
        propagate(&mut data, &[at(&["a"], false, true)]);
        assert_eq!(data, value!({ "a": null }));
    }
}
