use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    PhoneHash,
    PhoneSealed,
    Role,
    Status,
    Username,
    Nickname,
    Gender,
    BirthDate,
    PasswordHash,
    FailedSignIns,
    LockedUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    DeviceId,
    DeviceModel,
    Os,
    AppVersion,
    Network,
    Ip,
    CreatedAt,
    LastUsedAt,
    ExpiresAt,
    EndedAt,
    EndReason,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    SessionId,
    TokenHash,
    CreatedAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum SecurityEvents {
    Table,
    Id,
    UserId,
    Kind,
    SessionId,
    DeviceId,
    DeviceModel,
    Os,
    AppVersion,
    Network,
    Ip,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SmsMessages {
    Table,
    Id,
    PhoneHash,
    PhoneSealed,
    Body,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(uuid(Users::Id).primary_key())
                    .col(binary_len_null(Users::PhoneHash, 32).unique_key())
                    .col(blob_null(Users::PhoneSealed))
                    .col(string_len(Users::Role, 16))
                    .col(string_len(Users::Status, 24))
                    .col(string_len_null(Users::Username, 32).unique_key())
                    .col(string_len_null(Users::Nickname, 32))
                    .col(string_len_null(Users::Gender, 16))
                    .col(date_null(Users::BirthDate))
                    .col(string_len_null(Users::PasswordHash, 255))
                    .col(integer(Users::FailedSignIns).default(0))
                    .col(timestamp_with_time_zone_null(Users::LockedUntil))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(uuid(Sessions::Id).primary_key())
                    .col(uuid(Sessions::UserId))
                    .col(string_len_null(Sessions::DeviceId, 128))
                    .col(string_len_null(Sessions::DeviceModel, 64))
                    .col(string_len_null(Sessions::Os, 64))
                    .col(string_len_null(Sessions::AppVersion, 32))
                    .col(string_len_null(Sessions::Network, 16))
                    .col(string_len_null(Sessions::Ip, 45))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::LastUsedAt))
                    .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Sessions::EndedAt))
                    .col(string_len_null(Sessions::EndReason, 32))
                    .foreign_key(
                        ForeignKey::create()
                            .name("sessions_user_id_fkey")
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("sessions_user_id").table(Sessions::Table).col(Sessions::UserId).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(uuid(RefreshTokens::Id).primary_key())
                    .col(uuid(RefreshTokens::SessionId))
                    .col(string_len(RefreshTokens::TokenHash, 64).unique_key())
                    .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("refresh_tokens_session_id_fkey")
                            .from(RefreshTokens::Table, RefreshTokens::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SecurityEvents::Table)
                    .col(uuid(SecurityEvents::Id).primary_key())
                    .col(uuid(SecurityEvents::UserId))
                    .col(string_len(SecurityEvents::Kind, 32))
                    .col(uuid_null(SecurityEvents::SessionId))
                    .col(string_len_null(SecurityEvents::DeviceId, 128))
                    .col(string_len_null(SecurityEvents::DeviceModel, 64))
                    .col(string_len_null(SecurityEvents::Os, 64))
                    .col(string_len_null(SecurityEvents::AppVersion, 32))
                    .col(string_len_null(SecurityEvents::Network, 16))
                    .col(string_len_null(SecurityEvents::Ip, 45))
                    .col(timestamp_with_time_zone(SecurityEvents::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("security_events_user_id_fkey")
                            .from(SecurityEvents::Table, SecurityEvents::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("security_events_user_id_created_at")
                    .table(SecurityEvents::Table)
                    .col(SecurityEvents::UserId)
                    .col(SecurityEvents::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SmsMessages::Table)
                    .col(uuid(SmsMessages::Id).primary_key())
                    .col(binary_len(SmsMessages::PhoneHash, 32))
                    .col(blob(SmsMessages::PhoneSealed))
                    .col(text(SmsMessages::Body))
                    .col(timestamp_with_time_zone(SmsMessages::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sms_messages_phone_hash_created_at")
                    .table(SmsMessages::Table)
                    .col(SmsMessages::PhoneHash)
                    .col(SmsMessages::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SmsMessages::Table.into_iden(),
            SecurityEvents::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Sessions::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
