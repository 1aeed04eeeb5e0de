//! Chat: conversations, their members and read positions, messages with a dense
//! per-conversation sequence and an idempotency key, per-person hidden messages, attachments and
//! call records.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChatConversations {
    Table,
    Id,
    Kind,
    Name,
    AvatarFileId,
    OrganizationId,
    DirectKey,
    CreatedBy,
    LastSeq,
    LastActivity,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ChatMembers {
    Table,
    ConversationId,
    UserId,
    Role,
    LastReadSeq,
    Muted,
    JoinedAt,
}

#[derive(DeriveIden)]
enum ChatMessages {
    Table,
    Id,
    ConversationId,
    Seq,
    SenderId,
    ClientMessageId,
    Kind,
    Body,
    Payload,
    ReplyToSeq,
    Mentions,
    CreatedAt,
    EditedAt,
    RecalledAt,
    RecalledBy,
}

#[derive(DeriveIden)]
enum ChatHiddenMessages {
    Table,
    UserId,
    MessageId,
    ConversationId,
    Seq,
}

#[derive(DeriveIden)]
enum ChatAttachments {
    Table,
    Id,
    ConversationId,
    MessageId,
    UploaderId,
    Kind,
    ContentType,
    FileName,
    Size,
    Sha256,
    StorageKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ChatCalls {
    Table,
    Id,
    ConversationId,
    CallerId,
    Media,
    State,
    CreatedAt,
    RingUntil,
    AnsweredAt,
    EndedAt,
    EndReason,
    EndedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChatConversations::Table)
                    .col(uuid(ChatConversations::Id).primary_key())
                    .col(string_len(ChatConversations::Kind, 16))
                    .col(string_len_null(ChatConversations::Name, 64))
                    .col(uuid_null(ChatConversations::AvatarFileId))
                    .col(uuid_null(ChatConversations::OrganizationId).unique_key())
                    .col(string_len_null(ChatConversations::DirectKey, 80).unique_key())
                    .col(uuid_null(ChatConversations::CreatedBy))
                    .col(big_integer(ChatConversations::LastSeq).default(0))
                    .col(uuid(ChatConversations::LastActivity))
                    .col(timestamp_with_time_zone(ChatConversations::CreatedAt))
                    .col(timestamp_with_time_zone(ChatConversations::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // Conversation lists page by it: the newest message's id (UUIDv7, so time-ordered).
        manager
            .create_index(
                Index::create()
                    .name("chat_conversations_last_activity")
                    .table(ChatConversations::Table)
                    .col(ChatConversations::LastActivity)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChatMembers::Table)
                    .col(uuid(ChatMembers::ConversationId))
                    .col(uuid(ChatMembers::UserId))
                    .col(string_len(ChatMembers::Role, 16))
                    .col(big_integer(ChatMembers::LastReadSeq).default(0))
                    .col(boolean(ChatMembers::Muted).default(false))
                    .col(timestamp_with_time_zone(ChatMembers::JoinedAt))
                    .primary_key(Index::create().col(ChatMembers::ConversationId).col(ChatMembers::UserId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChatMembers::Table, ChatMembers::ConversationId)
                            .to(ChatConversations::Table, ChatConversations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("chat_members_user_id")
                    .table(ChatMembers::Table)
                    .col(ChatMembers::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChatMessages::Table)
                    .col(uuid(ChatMessages::Id).primary_key())
                    .col(uuid(ChatMessages::ConversationId))
                    .col(big_integer(ChatMessages::Seq))
                    .col(uuid_null(ChatMessages::SenderId))
                    .col(string_len_null(ChatMessages::ClientMessageId, 64))
                    .col(string_len(ChatMessages::Kind, 16))
                    .col(text_null(ChatMessages::Body))
                    .col(text_null(ChatMessages::Payload))
                    .col(big_integer_null(ChatMessages::ReplyToSeq))
                    .col(text_null(ChatMessages::Mentions))
                    .col(timestamp_with_time_zone(ChatMessages::CreatedAt))
                    .col(timestamp_with_time_zone_null(ChatMessages::EditedAt))
                    .col(timestamp_with_time_zone_null(ChatMessages::RecalledAt))
                    .col(uuid_null(ChatMessages::RecalledBy))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChatMessages::Table, ChatMessages::ConversationId)
                            .to(ChatConversations::Table, ChatConversations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The sequence is dense per conversation; the pair is also the history's key.
        manager
            .create_index(
                Index::create()
                    .name("chat_messages_conversation_seq")
                    .table(ChatMessages::Table)
                    .col(ChatMessages::ConversationId)
                    .col(ChatMessages::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // A retried send finds its first copy; the constraint holds across restarts and instances.
        manager
            .create_index(
                Index::create()
                    .name("chat_messages_sender_client_id")
                    .table(ChatMessages::Table)
                    .col(ChatMessages::SenderId)
                    .col(ChatMessages::ClientMessageId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChatHiddenMessages::Table)
                    .col(uuid(ChatHiddenMessages::UserId))
                    .col(uuid(ChatHiddenMessages::MessageId))
                    .col(uuid(ChatHiddenMessages::ConversationId))
                    .col(big_integer(ChatHiddenMessages::Seq))
                    .primary_key(Index::create().col(ChatHiddenMessages::UserId).col(ChatHiddenMessages::MessageId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChatHiddenMessages::Table, ChatHiddenMessages::MessageId)
                            .to(ChatMessages::Table, ChatMessages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("chat_hidden_user_conversation_seq")
                    .table(ChatHiddenMessages::Table)
                    .col(ChatHiddenMessages::UserId)
                    .col(ChatHiddenMessages::ConversationId)
                    .col(ChatHiddenMessages::Seq)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChatAttachments::Table)
                    .col(uuid(ChatAttachments::Id).primary_key())
                    .col(uuid(ChatAttachments::ConversationId))
                    .col(uuid_null(ChatAttachments::MessageId).unique_key())
                    .col(uuid(ChatAttachments::UploaderId))
                    .col(string_len(ChatAttachments::Kind, 16))
                    .col(string_len(ChatAttachments::ContentType, 100))
                    .col(string_len_null(ChatAttachments::FileName, 255))
                    .col(big_integer(ChatAttachments::Size))
                    .col(string_len(ChatAttachments::Sha256, 64))
                    .col(string_len(ChatAttachments::StorageKey, 200))
                    .col(timestamp_with_time_zone(ChatAttachments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChatAttachments::Table, ChatAttachments::ConversationId)
                            .to(ChatConversations::Table, ChatConversations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("chat_attachments_uploader_id")
                    .table(ChatAttachments::Table)
                    .col(ChatAttachments::UploaderId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChatCalls::Table)
                    .col(uuid(ChatCalls::Id).primary_key())
                    .col(uuid(ChatCalls::ConversationId))
                    .col(uuid_null(ChatCalls::CallerId))
                    .col(string_len(ChatCalls::Media, 8))
                    .col(string_len(ChatCalls::State, 16))
                    .col(timestamp_with_time_zone(ChatCalls::CreatedAt))
                    .col(timestamp_with_time_zone(ChatCalls::RingUntil))
                    .col(timestamp_with_time_zone_null(ChatCalls::AnsweredAt))
                    .col(timestamp_with_time_zone_null(ChatCalls::EndedAt))
                    .col(string_len_null(ChatCalls::EndReason, 32))
                    .col(uuid_null(ChatCalls::EndedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ChatCalls::Table, ChatCalls::ConversationId)
                            .to(ChatConversations::Table, ChatConversations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("chat_calls_conversation_id")
                    .table(ChatCalls::Table)
                    .col(ChatCalls::ConversationId)
                    .col(ChatCalls::State)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ChatCalls::Table.into_iden(),
            ChatAttachments::Table.into_iden(),
            ChatHiddenMessages::Table.into_iden(),
            ChatMessages::Table.into_iden(),
            ChatMembers::Table.into_iden(),
            ChatConversations::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
