//! Device push tokens (registered under the push consent), and a collapse key on the outbox so a
//! later push can replace an earlier one (a recalled message's notice).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PushDevices {
    Table,
    Id,
    UserId,
    Platform,
    Token,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PushMessages {
    Table,
    UserId,
    CollapseKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PushDevices::Table)
                    .col(uuid(PushDevices::Id).primary_key())
                    .col(uuid(PushDevices::UserId))
                    .col(string_len(PushDevices::Platform, 16))
                    .col(string_len(PushDevices::Token, 512).unique_key())
                    .col(timestamp_with_time_zone(PushDevices::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("push_devices_user_id")
                    .table(PushDevices::Table)
                    .col(PushDevices::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PushMessages::Table)
                    .add_column(string_len_null(PushMessages::CollapseKey, 100))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("push_messages_user_collapse_key")
                    .table(PushMessages::Table)
                    .col(PushMessages::UserId)
                    .col(PushMessages::CollapseKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("push_messages_user_collapse_key").table(PushMessages::Table).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(PushMessages::Table).drop_column(PushMessages::CollapseKey).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(PushDevices::Table).to_owned()).await
    }
}
