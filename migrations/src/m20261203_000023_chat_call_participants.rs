//! Chat: who answered a call (`answered_by`), so only its participants hang up, and who in a
//! group declined it (`declined_by`), so one member's "no" does not end a call for everyone.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChatCalls {
    Table,
    AnsweredBy,
    DeclinedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(ChatCalls::Table).add_column(uuid_null(ChatCalls::AnsweredBy)).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter().table(ChatCalls::Table).add_column(text(ChatCalls::DeclinedBy).default("")).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(ChatCalls::Table).drop_column(ChatCalls::DeclinedBy).to_owned())
            .await?;
        manager.alter_table(Table::alter().table(ChatCalls::Table).drop_column(ChatCalls::AnsweredBy).to_owned()).await
    }
}
