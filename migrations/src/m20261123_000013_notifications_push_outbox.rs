//! The built-in push provider's outbox: what would have gone to a person's devices.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PushMessages {
    Table,
    Id,
    UserId,
    Kind,
    Title,
    Body,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PushMessages::Table)
                    .col(uuid(PushMessages::Id).primary_key())
                    .col(uuid(PushMessages::UserId))
                    .col(string_len(PushMessages::Kind, 64))
                    .col(string_len(PushMessages::Title, 100))
                    .col(text(PushMessages::Body))
                    .col(timestamp_with_time_zone(PushMessages::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("push_messages_user_id")
                    .table(PushMessages::Table)
                    .col(PushMessages::UserId)
                    .col(PushMessages::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PushMessages::Table).to_owned()).await
    }
}
