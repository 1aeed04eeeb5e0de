//! Runs the privacy module's request guard before every root field a person calls, telling it
//! which module declared the field and whether that module lists it as essential. The owner of
//! each root field is read once from each module's own GraphQL roots, so nothing is listed twice.

use std::collections::HashMap;

use async_graphql::extensions::{ExtensionContext, ResolveInfo};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::registry::{MetaType, MetaTypeName, Registry};
use async_graphql::{PathSegment, ServerError, ServerResult};
use xqt_kernel::{AppContext, Viewer};

/// Root field name → the module that declared it, per root type.
#[derive(Debug, Default)]
pub struct FieldOwners {
    /// Root type → field → module; looked up with borrowed names on every root field.
    owners: HashMap<&'static str, HashMap<String, &'static str>>,
}

impl FieldOwners {
    pub fn add(&mut self, root: &'static str, module: &'static str, create: impl FnOnce(&mut Registry) -> String) {
        let mut registry = Registry::default();
        let name = create(&mut registry);
        if let Some(MetaType::Object { fields, .. }) = registry.types.get(MetaTypeName::concrete_typename(&name)) {
            for field in fields.keys().filter(|f| !f.starts_with("__")) {
                self.owners.entry(root).or_default().insert(field.clone(), module);
            }
        }
    }

    pub fn owner(&self, root: &str, field: &str) -> Option<&'static str> {
        self.owners.get(root)?.get(field).copied()
    }
}

pub struct RootFieldGate {
    owners: FieldOwners,
}

impl RootFieldGate {
    pub fn new(owners: FieldOwners) -> Self {
        Self { owners }
    }
}

/// Root field names of a selection set, looking through fragments.
fn root_fields(doc: &ExecutableDocument, set: &SelectionSet, out: &mut Vec<String>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => out.push(f.node.name.node.to_string()),
            Selection::InlineFragment(f) => root_fields(doc, &f.node.selection_set.node, out),
            Selection::FragmentSpread(s) => {
                if let Some(fragment) = doc.fragments.get(&s.node.fragment_name.node) {
                    root_fields(doc, &fragment.node.selection_set.node, out);
                }
            }
        }
    }
}

/// The guard's verdict on one root field: `Ok` or the error to answer with.
async fn check(
    owners: &FieldOwners,
    app: &AppContext,
    viewer: &Viewer,
    root: &str,
    field: &str,
) -> Result<(), async_graphql::Error> {
    let Some(module) = owners.owner(root, field) else { return Ok(()) };
    let essential = app.modules.is_essential(module, field);
    app.modules.privacy().standing.check(app, viewer, root, module, field, essential).await.map_err(Into::into)
}

impl RootFieldGate {
    /// A subscription is checked once its document is parsed, before its stream starts:
    /// refused, it never runs.
    pub(crate) async fn check_subscriptions(
        &self,
        ctx: &ExtensionContext<'_>,
        doc: &ExecutableDocument,
    ) -> ServerResult<()> {
        let (Some(viewer @ Viewer::User { .. }), Some(app)) = (ctx.data_opt::<Viewer>(), ctx.data_opt::<AppContext>())
        else {
            return Ok(());
        };
        let mut fields = Vec::new();
        let operations: Vec<_> = match &doc.operations {
            DocumentOperations::Single(op) => vec![op],
            DocumentOperations::Multiple(ops) => ops.values().collect(),
        };
        for op in operations.into_iter().filter(|op| op.node.ty == OperationType::Subscription) {
            root_fields(doc, &op.node.selection_set.node, &mut fields);
        }
        for field in fields {
            if let Err(e) = check(&self.owners, app, viewer, "Subscription", &field).await {
                let mut err: ServerError = e.into_server_error(Default::default());
                err.locations.clear();
                err.path = vec![PathSegment::Field(field)];
                return Err(err);
            }
        }
        Ok(())
    }

    /// Before a query's or mutation's root field runs.
    pub(crate) async fn check_field(&self, ctx: &ExtensionContext<'_>, info: &ResolveInfo<'_>) -> ServerResult<()> {
        let root_field = info.path_node.parent.is_none() && !info.is_for_introspection;
        if let (true, Some(viewer @ Viewer::User { .. }), Some(app)) =
            (root_field, ctx.data_opt::<Viewer>(), ctx.data_opt::<AppContext>())
            && let Err(e) = check(&self.owners, app, viewer, info.parent_type, info.name).await
        {
            let mut err = e.into_server_error(info.field.name.pos);
            err.path = vec![PathSegment::Field(info.alias.unwrap_or(info.name).to_owned())];
            return Err(err);
        }
        Ok(())
    }
}
