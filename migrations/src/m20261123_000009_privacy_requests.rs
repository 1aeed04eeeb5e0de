//! Privacy II: data-subject requests (access, correction, deletion, withdrawal, explanation,
//! complaint) with their state, deadline and, for access, the export they produced.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum PrivacyRequests {
    Table,
    Id,
    UserId,
    Kind,
    State,
    Description,
    Categories,
    Purpose,
    Reason,
    Response,
    ReviewerId,
    DueOn,
    CreatedAt,
    VerifiedAt,
    UpdatedAt,
    ClosedAt,
    ExportExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use PrivacyRequests as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(uuid(R::Id).primary_key())
                    .col(uuid(R::UserId))
                    .col(string_len(R::Kind, 16))
                    .col(string_len(R::State, 24))
                    .col(text_null(R::Description))
                    .col(string_len(R::Categories, 300))
                    .col(string_len_null(R::Purpose, 64))
                    .col(text_null(R::Reason))
                    .col(text_null(R::Response))
                    .col(uuid_null(R::ReviewerId))
                    .col(date_null(R::DueOn))
                    .col(timestamp_with_time_zone(R::CreatedAt))
                    .col(timestamp_with_time_zone_null(R::VerifiedAt))
                    .col(timestamp_with_time_zone(R::UpdatedAt))
                    .col(timestamp_with_time_zone_null(R::ClosedAt))
                    .col(timestamp_with_time_zone_null(R::ExportExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("privacy_requests_user_id").table(R::Table).col(R::UserId).col(R::Id).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("privacy_requests_state_due")
                    .table(R::Table)
                    .col(R::State)
                    .col(R::DueOn)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PrivacyRequests::Table).to_owned()).await
    }
}
