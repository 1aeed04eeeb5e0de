//! Query limits and error codes, run by the pipeline: every refusal carries its own stable code.
//! - parse: a document that does not parse is `GRAPHQL_PARSE_FAILED`; more aliases than allowed
//!   is `TOO_MANY_ALIASES` (an alias flood multiplies work without deepening the query); more
//!   field selections than allowed `TOO_MANY_FIELDS` (validation compares overlapping fields
//!   pairwise, so 500 copies of one field cost it 125 000 comparisons), more directives
//!   `TOO_MANY_DIRECTIVES` — all counted as written, before validation spends anything;
//! - validation: invalid documents are `GRAPHQL_VALIDATION_FAILED`, too deep `QUERY_TOO_DEEP`,
//!   too heavy `QUERY_TOO_COMPLEX` (list fields weigh their page size times their children).
//!
//! - execution: an argument or variable whose value does not coerce (a `NaiveDate` that is not a
//!   date, `null` for a required value) is `BAD_USER_INPUT`, naming the variable or argument.
//!   Every error a resolver raises carries its own code already; async-graphql's own coercion
//!   errors are the only ones that arrive without one, so every error leaves with a code.
//!
//! A document that only introspects is exempt from the depth limit (client tooling nests
//! `ofType` deeply); introspection is off in production altogether, and a document that asks
//! for `__schema` or `__type` there is refused as `GRAPHQL_VALIDATION_FAILED`, not answered
//! with a silent `null` (as Apollo Server does; `__typename` stays).

use async_graphql::extensions::ExtensionContext;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Value};
use xqt_kernel::ErrorCode;
use xqt_kernel::config::Limits;

pub struct QueryLimits {
    max_depth: usize,
    max_complexity: usize,
    max_aliases: usize,
    max_fields: usize,
    max_directives: usize,
    introspection: bool,
}

fn coded(mut error: ServerError, code: ErrorCode) -> ServerError {
    let mut ext = error.extensions.take().unwrap_or_default();
    ext.set("code", code.as_str());
    error.extensions = Some(ext);
    error
}

fn has_code(error: &ServerError) -> bool {
    error.extensions.as_ref().is_some_and(|x| x.get("code").is_some())
}

/// The name in the first `<what> "<name>"` of an async-graphql message (`Variable "$d" …`,
/// `Invalid value for argument "date" …`), without the `$`.
fn named(message: &str, what: &str) -> Option<String> {
    let start = message.find(&format!("{what} \""))? + what.len() + 2;
    let end = message[start..].find('"')? + start;
    Some(message[start..end].trim_start_matches('$').to_owned())
}

/// A value the client sent that does not fit: `BAD_USER_INPUT`, naming the variable or the
/// argument when the message does.
fn bad_input(error: ServerError) -> ServerError {
    // `Variable "$d" got invalid value …`, or `Variable d is not defined.`
    let variable = named(&error.message, "Variable").or_else(|| {
        let rest = error.message.strip_prefix("Variable ")?;
        let word = rest.split_whitespace().next()?.trim_start_matches('$');
        word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_').then(|| word.to_owned())
    });
    let argument = named(&error.message, "argument");
    let mut error = coded(error, ErrorCode::BadUserInput);
    if let Some(ext) = error.extensions.as_mut() {
        if let Some(v) = variable {
            ext.set("variable", v);
        }
        if let Some(a) = argument {
            ext.set("argument", a);
        }
    }
    error
}

/// A coercion error of one field's argument (`Failed to parse "NaiveDate": …`) names the type,
/// not the argument: find the field's argument of that type, and the variable it came from.
fn name_argument(
    ctx: &ExtensionContext<'_>,
    (parent, name, field): (&str, &str, &async_graphql::parser::types::Field),
    mut error: ServerError,
) -> ServerError {
    let Some(ty) = named(&error.message, "parse").or_else(|| named(&error.message, "input type")) else {
        return error;
    };
    let Some(meta) = ctx.schema_env.registry.types.get(parent).and_then(|t| t.field_by_name(name)) else {
        return error;
    };
    let base = |t: &str| t.trim_matches(|c| matches!(c, '[' | ']' | '!')).to_owned();
    let mut candidates =
        field.arguments.iter().filter(|(arg, _)| meta.args.get(arg.node.as_str()).is_some_and(|a| base(&a.ty) == ty));
    if let (Some((name, value)), None) = (candidates.next(), candidates.next())
        && let Some(ext) = error.extensions.as_mut()
    {
        ext.set("argument", name.node.as_str());
        // A variable prints as `$name`.
        if let Some(v) = value.node.to_string().strip_prefix('$') {
            ext.set("variable", v);
        }
    }
    error
}

/// What a document writes, counted as written (fragments once, not per spread): the parse-time
/// limits read these before validation runs.
#[derive(Default, Debug, PartialEq)]
struct Written {
    aliases: usize,
    /// Field selections and fragment spreads.
    fields: usize,
    directives: usize,
    /// Selections of `__schema` or `__type`.
    introspections: usize,
}

impl Written {
    fn of(doc: &ExecutableDocument) -> Self {
        let mut w = Self::default();
        for (_, op) in doc.operations.iter() {
            w.directives += op.node.directives.len();
            w.directives += op.node.variable_definitions.iter().map(|v| v.node.directives.len()).sum::<usize>();
            w.set(&op.node.selection_set.node);
        }
        for fragment in doc.fragments.values() {
            w.directives += fragment.node.directives.len();
            w.set(&fragment.node.selection_set.node);
        }
        w
    }

    fn set(&mut self, set: &SelectionSet) {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    self.fields += 1;
                    self.aliases += usize::from(f.node.alias.is_some());
                    self.introspections += usize::from(matches!(f.node.name.node.as_str(), "__schema" | "__type"));
                    self.directives += f.node.directives.len();
                    self.set(&f.node.selection_set.node);
                }
                Selection::InlineFragment(f) => {
                    self.directives += f.node.directives.len();
                    self.set(&f.node.selection_set.node);
                }
                Selection::FragmentSpread(f) => {
                    self.fields += 1;
                    self.directives += f.node.directives.len();
                }
            }
        }
    }
}

fn only_introspects(doc: &ExecutableDocument) -> bool {
    doc.operations.iter().all(|(_, op)| {
        op.node.selection_set.node.items.iter().all(|item| match &item.node {
            Selection::Field(f) => f.node.name.node.starts_with("__"),
            _ => false,
        })
    })
}

impl QueryLimits {
    pub fn new(limits: &Limits, introspection: bool) -> Self {
        Self {
            max_depth: limits.max_depth,
            max_complexity: limits.max_complexity,
            max_aliases: limits.max_aliases,
            max_fields: limits.max_fields,
            max_directives: limits.max_directives,
            introspection,
        }
    }

    /// A parsed document that writes too much is refused before validation spends anything on
    /// it. Whether it only introspects (exempt from the depth limit), for [`Self::validated`].
    pub(crate) fn check_written(&self, doc: &ExecutableDocument) -> ServerResult<bool> {
        let written = Written::of(doc);
        let over = [
            (written.aliases, self.max_aliases, "aliases", ErrorCode::TooManyAliases),
            (written.fields, self.max_fields, "field selections", ErrorCode::TooManyFields),
            (written.directives, self.max_directives, "directives", ErrorCode::TooManyDirectives),
        ];
        if let Some((count, max, what, code)) = over.into_iter().find(|(count, max, ..)| count > max) {
            let message = format!("the query writes {count} {what}; at most {max} are allowed");
            return Err(coded(ServerError::new(message, None), code));
        }
        if !self.introspection && written.introspections > 0 {
            let message = "introspection is turned off on this server (`__schema` and `__type`)";
            return Err(coded(ServerError::new(message, None), ErrorCode::ValidationFailed));
        }
        Ok(only_introspects(doc))
    }

    /// After validation: its errors are `GRAPHQL_VALIDATION_FAILED`, then the depth and
    /// complexity limits.
    pub(crate) fn validated(
        &self,
        result: Result<ValidationResult, Vec<ServerError>>,
        introspection_only: bool,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        // Every error here is the document's: a variable declared and unused, used where its type
        // does not fit (a value that does not coerce is caught at execution, as BAD_USER_INPUT).
        let code = |e: ServerError| coded(e, ErrorCode::ValidationFailed);
        let result = result.map_err(|errors| errors.into_iter().map(code).collect::<Vec<_>>())?;
        if result.depth > self.max_depth && !introspection_only {
            let message =
                format!("the query is nested {} levels deep; at most {} are allowed", result.depth, self.max_depth);
            return Err(vec![coded(ServerError::new(message, None), ErrorCode::QueryTooDeep)]);
        }
        if result.complexity > self.max_complexity {
            let message = format!(
                "the query's complexity is {}; at most {} is allowed (ask for smaller pages)",
                result.complexity, self.max_complexity
            );
            return Err(vec![coded(ServerError::new(message, None), ErrorCode::QueryTooComplex)]);
        }
        Ok(result)
    }
}

/// A document that did not parse is `GRAPHQL_PARSE_FAILED`; an error that already has a code (a
/// persisted query's refusal) keeps it.
pub(crate) fn parse_failed(error: ServerError) -> ServerError {
    if has_code(&error) { error } else { coded(error, ErrorCode::ParseFailed) }
}

/// A field's error without a code is async-graphql's coercion of an argument: `BAD_USER_INPUT`,
/// naming the argument (`at`: the parent type, the field's name and the field as written).
pub(crate) fn resolved(
    ctx: &ExtensionContext<'_>,
    at: (&str, &str, &async_graphql::parser::types::Field),
    result: ServerResult<Option<Value>>,
) -> ServerResult<Option<Value>> {
    match result {
        Err(e) if !has_code(&e) => Err(name_argument(ctx, at, bad_input(e))),
        other => other,
    }
}

/// What is left without a code after every phase is about choosing the operation: the
/// request names one the document does not have, or none where it has several.
pub(crate) fn code_request_errors(response: &mut Response) {
    for error in response.errors.iter_mut().filter(|e| !has_code(e)) {
        let reason = if error.message.starts_with("Unknown operation named") {
            "UNKNOWN_OPERATION"
        } else if error.message.starts_with("Operation name required") {
            "OPERATION_NAME_REQUIRED"
        } else {
            "UNEXPECTED"
        };
        let mut coded = coded(std::mem::replace(error, ServerError::new("", None)), ErrorCode::BadRequest);
        if let Some(ext) = coded.extensions.as_mut() {
            ext.set("reason", reason);
        }
        *error = coded;
    }
}

/// An execution error without a code is a value the client sent that does not fit.
pub(crate) fn code_execution_errors(response: &mut Response) {
    for error in &mut response.errors {
        if !has_code(error) {
            *error = bad_input(std::mem::replace(error, ServerError::new("", None)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Written;

    #[test]
    fn a_document_is_counted_as_written() {
        let doc = async_graphql::parser::parse_query(
            "query Q($a: Int @deprecated) @x { a: f @skip(if: true) { g ...F } ... on Query @y { h } } \
             fragment F on T @z { b: i __type(name: \"T\") { name } }",
        )
        .unwrap();
        assert_eq!(Written::of(&doc), Written { aliases: 2, fields: 7, directives: 5, introspections: 1 });
    }

    #[test]
    fn names_are_read_from_async_graphqls_messages() {
        let m = r#"Variable "$d" got invalid value "2026-13-45"; Expected input type "NaiveDate""#;
        assert_eq!(super::named(m, "Variable").as_deref(), Some("d"));
        let m = r#"Invalid value for argument "date", expected type "NaiveDate""#;
        assert_eq!(super::named(m, "argument").as_deref(), Some("date"));
        assert_eq!(super::named("nothing named here", "argument"), None);
    }
}
