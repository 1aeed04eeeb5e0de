use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Kind,
    Name,
    Region,
    Address,
    Industry,
    Latitude,
    Longitude,
    CreditCodeHash,
    CreditCodeSealed,
    VerificationState,
    VerificationReason,
    ReviewerId,
    SubmittedAt,
    ReviewedAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OrganizationMembers {
    Table,
    OrganizationId,
    UserId,
    Role,
    JoinedAt,
}

#[derive(DeriveIden)]
enum OrganizationInvites {
    Table,
    Id,
    OrganizationId,
    CodeHash,
    Role,
    MaxUses,
    Uses,
    ExpiresAt,
    RevokedAt,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organizations::Table)
                    .col(uuid(Organizations::Id).primary_key())
                    .col(string_len(Organizations::Kind, 16))
                    .col(string_len(Organizations::Name, 100))
                    .col(string_len_null(Organizations::Region, 64))
                    .col(string_len_null(Organizations::Address, 200))
                    .col(string_len_null(Organizations::Industry, 64))
                    .col(double_null(Organizations::Latitude))
                    .col(double_null(Organizations::Longitude))
                    .col(binary_len_null(Organizations::CreditCodeHash, 32).unique_key())
                    .col(blob_null(Organizations::CreditCodeSealed))
                    .col(string_len(Organizations::VerificationState, 16))
                    .col(string_len_null(Organizations::VerificationReason, 500))
                    .col(uuid_null(Organizations::ReviewerId))
                    .col(timestamp_with_time_zone_null(Organizations::SubmittedAt))
                    .col(timestamp_with_time_zone_null(Organizations::ReviewedAt))
                    .col(uuid(Organizations::CreatedBy))
                    .col(timestamp_with_time_zone(Organizations::CreatedAt))
                    .col(timestamp_with_time_zone(Organizations::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("organizations_verification_state")
                    .table(Organizations::Table)
                    .col(Organizations::VerificationState)
                    .col(Organizations::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrganizationMembers::Table)
                    .col(uuid(OrganizationMembers::OrganizationId))
                    .col(uuid(OrganizationMembers::UserId))
                    .col(string_len(OrganizationMembers::Role, 16))
                    .col(timestamp_with_time_zone(OrganizationMembers::JoinedAt))
                    .primary_key(
                        Index::create().col(OrganizationMembers::OrganizationId).col(OrganizationMembers::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("organization_members_organization_id_fkey")
                            .from(OrganizationMembers::Table, OrganizationMembers::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("organization_members_user_id_fkey")
                            .from(OrganizationMembers::Table, OrganizationMembers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("organization_members_user_id")
                    .table(OrganizationMembers::Table)
                    .col(OrganizationMembers::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OrganizationInvites::Table)
                    .col(uuid(OrganizationInvites::Id).primary_key())
                    .col(uuid(OrganizationInvites::OrganizationId))
                    .col(string_len(OrganizationInvites::CodeHash, 64).unique_key())
                    .col(string_len(OrganizationInvites::Role, 16))
                    .col(integer(OrganizationInvites::MaxUses))
                    .col(integer(OrganizationInvites::Uses).default(0))
                    .col(timestamp_with_time_zone(OrganizationInvites::ExpiresAt))
                    .col(timestamp_with_time_zone_null(OrganizationInvites::RevokedAt))
                    .col(uuid(OrganizationInvites::CreatedBy))
                    .col(timestamp_with_time_zone(OrganizationInvites::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("organization_invites_organization_id_fkey")
                            .from(OrganizationInvites::Table, OrganizationInvites::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            OrganizationInvites::Table.into_iden(),
            OrganizationMembers::Table.into_iden(),
            Organizations::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
