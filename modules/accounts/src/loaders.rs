//! Request-scoped batch loading, so a list of members or memberships costs one query per kind.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use xqt_kernel::{AppContext, AppError};

use crate::entity::{organization, user};

pub struct UserLoader(AppContext);

impl Loader<Uuid> for UserLoader {
    type Value = user::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, user::Model>, Self::Error> {
        let rows = user::Entity::find()
            .filter(user::Column::Id.is_in(keys.to_vec()))
            .all(&self.0.db)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(|u| (u.id, u)).collect())
    }
}

pub struct OrganizationLoader(AppContext);

impl Loader<Uuid> for OrganizationLoader {
    type Value = organization::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, organization::Model>, Self::Error> {
        let rows = organization::Entity::find()
            .filter(organization::Column::Id.is_in(keys.to_vec()))
            .all(&self.0.db)
            .await
            .map_err(AppError::from)?;
        Ok(rows.into_iter().map(|o| (o.id, o)).collect())
    }
}

pub fn add(ctx: &AppContext, data: &mut async_graphql::Data) {
    data.insert(DataLoader::new(UserLoader(ctx.clone()), xqt_kernel::spawn));
    data.insert(DataLoader::new(OrganizationLoader(ctx.clone()), xqt_kernel::spawn));
}
