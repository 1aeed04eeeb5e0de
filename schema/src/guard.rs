//! Runs the privacy module's request guard before every root field a person calls, telling it
//! which module declared the field and whether that module lists it as essential. The owner of
//! each root field is read once from each module's own GraphQL roots, so nothing is listed twice.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo};
use async_graphql::registry::{MetaType, MetaTypeName, Registry};
use async_graphql::{PathSegment, ServerResult, Value};
use xqt_kernel::{AppContext, Viewer};

/// Root field name → the module that declared it, per root type.
#[derive(Debug, Default)]
pub struct FieldOwners {
    owners: HashMap<(&'static str, String), &'static str>,
}

impl FieldOwners {
    pub fn add(&mut self, root: &'static str, module: &'static str, create: impl FnOnce(&mut Registry) -> String) {
        let mut registry = Registry::default();
        let name = create(&mut registry);
        if let Some(MetaType::Object { fields, .. }) = registry.types.get(MetaTypeName::concrete_typename(&name)) {
            for field in fields.keys().filter(|f| !f.starts_with("__")) {
                self.owners.insert((root, field.clone()), module);
            }
        }
    }

    pub fn owner(&self, root: &str, field: &str) -> Option<&'static str> {
        let root = match root {
            "Query" => "Query",
            "Mutation" => "Mutation",
            "Subscription" => "Subscription",
            _ => return None,
        };
        self.owners.get(&(root, field.to_owned())).copied()
    }
}

pub struct RequestGuard {
    owners: Arc<FieldOwners>,
}

impl RequestGuard {
    pub fn new(owners: FieldOwners) -> Self {
        Self { owners: Arc::new(owners) }
    }
}

impl ExtensionFactory for RequestGuard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestGuardExtension { owners: Arc::clone(&self.owners) })
    }
}

struct RequestGuardExtension {
    owners: Arc<FieldOwners>,
}

#[async_trait::async_trait]
impl Extension for RequestGuardExtension {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let root_field = info.path_node.parent.is_none() && !info.is_for_introspection;
        if let (true, Some(module), Some(viewer @ Viewer::User { .. }), Some(app)) = (
            root_field,
            self.owners.owner(info.parent_type, info.name),
            ctx.data_opt::<Viewer>(),
            ctx.data_opt::<AppContext>(),
        ) {
            let essential = app.modules.is_essential(module, info.name);
            if let Err(e) = app.modules.privacy().guard.check(app, viewer, module, info.name, essential).await {
                let mut err = async_graphql::Error::from(e).into_server_error(info.field.name.pos);
                err.path = vec![PathSegment::Field(info.alias.unwrap_or(info.name).to_owned())];
                return Err(err);
            }
        }
        next.run(ctx, info).await
    }
}
