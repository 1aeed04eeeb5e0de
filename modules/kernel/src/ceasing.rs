//! Whether the platform still operates. Once an operator ceases operation (POL-4) every module
//! stops collecting: the check is one durable row, read through a short per-instance cache.

use std::time::Duration as StdDuration;

use bytes::Bytes;
use sea_orm::{ActiveModelTrait, EntityTrait, Set, SqlErr};

use crate::context::AppContext;
use crate::error::{AppError, AppResult};

pub mod setting {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub value: String,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

const CEASED: &str = "ceased_at";
/// Other instances see the change within this long.
const LOCAL_TTL: StdDuration = StdDuration::from_secs(5);

/// True once operation has ceased.
pub async fn ceased(ctx: &AppContext) -> AppResult<bool> {
    let key = "kernel:ceased";
    if let Some(v) = ctx.local.get(key).await? {
        return Ok(v.as_ref() == b"1");
    }
    let found = setting::Entity::find_by_id(CEASED.to_owned()).one(&ctx.db).await?.is_some();
    ctx.local.set(key, Bytes::from_static(if found { b"1" } else { b"0" }), LOCAL_TTL).await?;
    Ok(found)
}

/// Records that operation has ceased; `false` if it already had. Irreversible.
pub async fn cease(ctx: &AppContext) -> AppResult<bool> {
    let now = ctx.clock.now();
    let row = setting::ActiveModel { key: Set(CEASED.into()), value: Set(now.to_rfc3339()), updated_at: Set(now) };
    let fresh = match row.insert(&ctx.db).await {
        Ok(_) => true,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => false,
        Err(e) => return Err(e.into()),
    };
    ctx.local.delete("kernel:ceased").await?;
    Ok(fresh)
}

/// The error every collecting operation answers with once operation has ceased.
pub fn ceased_error() -> AppError {
    AppError::forbidden("the platform has ceased operation and no longer collects personal information")
        .with("reason", "SERVICE_CEASED")
}
