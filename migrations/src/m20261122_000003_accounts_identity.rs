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
enum IdentityVerifications {
    Table,
    Id,
    UserId,
    RealNameSealed,
    IdNumberSealed,
    IdNumberHash,
    State,
    Reason,
    ReviewerId,
    SubmittedAt,
    ReviewedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdentityVerifications::Table)
                    .col(uuid(IdentityVerifications::Id).primary_key())
                    .col(uuid(IdentityVerifications::UserId))
                    .col(blob(IdentityVerifications::RealNameSealed))
                    .col(blob(IdentityVerifications::IdNumberSealed))
                    .col(binary_len(IdentityVerifications::IdNumberHash, 32))
                    .col(string_len(IdentityVerifications::State, 16))
                    .col(string_len_null(IdentityVerifications::Reason, 500))
                    .col(uuid_null(IdentityVerifications::ReviewerId))
                    .col(timestamp_with_time_zone(IdentityVerifications::SubmittedAt))
                    .col(timestamp_with_time_zone_null(IdentityVerifications::ReviewedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("identity_verifications_user_id_fkey")
                            .from(IdentityVerifications::Table, IdentityVerifications::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("identity_verifications_user_id")
                    .table(IdentityVerifications::Table)
                    .col(IdentityVerifications::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("identity_verifications_id_number_hash")
                    .table(IdentityVerifications::Table)
                    .col(IdentityVerifications::IdNumberHash)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("identity_verifications_state")
                    .table(IdentityVerifications::Table)
                    .col(IdentityVerifications::State)
                    .col(IdentityVerifications::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IdentityVerifications::Table).to_owned()).await
    }
}
