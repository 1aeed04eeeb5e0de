//! Chat: when each conversation last changed (`last_changed_at`, set with every position it
//! takes), so a person's inbox cursor names only the conversations that changed lately and covers
//! the rest with one point in time; and an index to find who left or was removed since then.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChatConversations {
    Table,
    LastChangedAt,
}

#[derive(DeriveIden)]
enum ChatChanges {
    Table,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ChatConversations::Table)
                    .add_column(timestamp_with_time_zone_null(ChatConversations::LastChangedAt))
                    .to_owned(),
            )
            .await?;
        // The newest message or the newest recorded change, whichever is later.
        let db = manager.get_connection();
        db.execute_unprepared("UPDATE chat_conversations SET last_changed_at = updated_at").await?;
        db.execute_unprepared(
            "UPDATE chat_conversations SET last_changed_at = \
             (SELECT MAX(created_at) FROM chat_changes WHERE chat_changes.conversation_id = chat_conversations.id) \
             WHERE EXISTS (SELECT 1 FROM chat_changes WHERE chat_changes.conversation_id = chat_conversations.id \
             AND chat_changes.created_at > chat_conversations.last_changed_at)",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("chat_changes_created_at")
                    .table(ChatChanges::Table)
                    .col(ChatChanges::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("chat_changes_created_at").table(ChatChanges::Table).to_owned()).await?;
        manager
            .alter_table(
                Table::alter().table(ChatConversations::Table).drop_column(ChatConversations::LastChangedAt).to_owned(),
            )
            .await
    }
}
