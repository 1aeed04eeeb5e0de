//! Chat: one change sequence per conversation that every stored change takes (a message, an
//! edit, a recall, people joining or leaving), so a client that resumes from a position learns of
//! every change since, exactly once, in order. A message records its position on its own row;
//! every other change is a row in `chat_changes`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChatConversations {
    Table,
    Id,
    LastSeq,
    LastPosition,
}

#[derive(DeriveIden)]
enum ChatMessages {
    Table,
    ConversationId,
    Seq,
    Position,
}

#[derive(DeriveIden)]
enum ChatChanges {
    Table,
    ConversationId,
    Position,
    Kind,
    MessageId,
    UserIds,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ChatConversations::Table)
                    .add_column(big_integer(ChatConversations::LastPosition).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ChatMessages::Table)
                    .add_column(big_integer(ChatMessages::Position).default(0))
                    .to_owned(),
            )
            .await?;
        // Until now only messages were changes: each one's position is its sequence number.
        manager
            .exec_stmt(
                Query::update()
                    .table(ChatMessages::Table)
                    .value(ChatMessages::Position, Expr::col(ChatMessages::Seq))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(ChatConversations::Table)
                    .value(ChatConversations::LastPosition, Expr::col(ChatConversations::LastSeq))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("chat_messages_conversation_position")
                    .table(ChatMessages::Table)
                    .col(ChatMessages::ConversationId)
                    .col(ChatMessages::Position)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChatChanges::Table)
                    .col(uuid(ChatChanges::ConversationId))
                    .col(big_integer(ChatChanges::Position))
                    .col(string_len(ChatChanges::Kind, 16))
                    .col(uuid_null(ChatChanges::MessageId))
                    .col(text_null(ChatChanges::UserIds))
                    .col(timestamp_with_time_zone(ChatChanges::CreatedAt))
                    .primary_key(Index::create().col(ChatChanges::ConversationId).col(ChatChanges::Position))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChatChanges::Table, ChatChanges::ConversationId)
                            .to(ChatConversations::Table, ChatConversations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ChatChanges::Table).to_owned()).await?;
        manager
            .drop_index(Index::drop().name("chat_messages_conversation_position").table(ChatMessages::Table).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(ChatMessages::Table).drop_column(ChatMessages::Position).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter().table(ChatConversations::Table).drop_column(ChatConversations::LastPosition).to_owned(),
            )
            .await?;
        Ok(())
    }
}
