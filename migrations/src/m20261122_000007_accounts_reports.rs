use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Reports {
    Table,
    Id,
    ReporterId,
    TargetUserId,
    TargetOrganizationId,
    SubjectModule,
    SubjectKind,
    SubjectId,
    Category,
    Description,
    EvidenceFileId,
    State,
    Resolution,
    ReviewerId,
    CreatedAt,
    DueOn,
    ResolvedAt,
}

#[derive(DeriveIden)]
enum Restrictions {
    Table,
    Id,
    UserId,
    ReportId,
    Actions,
    Reason,
    EndsAt,
    LiftedAt,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Reports::Table)
                    .col(uuid(Reports::Id).primary_key())
                    .col(uuid_null(Reports::ReporterId))
                    .col(uuid_null(Reports::TargetUserId))
                    .col(uuid_null(Reports::TargetOrganizationId))
                    .col(string_len(Reports::SubjectModule, 32))
                    .col(string_len(Reports::SubjectKind, 32))
                    .col(uuid_null(Reports::SubjectId))
                    .col(string_len(Reports::Category, 32))
                    .col(text(Reports::Description))
                    .col(uuid_null(Reports::EvidenceFileId))
                    .col(string_len(Reports::State, 16))
                    .col(text_null(Reports::Resolution))
                    .col(uuid_null(Reports::ReviewerId))
                    .col(timestamp_with_time_zone(Reports::CreatedAt))
                    .col(date(Reports::DueOn))
                    .col(timestamp_with_time_zone_null(Reports::ResolvedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("reports_target_user_id")
                    .table(Reports::Table)
                    .col(Reports::TargetUserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("reports_state")
                    .table(Reports::Table)
                    .col(Reports::State)
                    .col(Reports::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Restrictions::Table)
                    .col(uuid(Restrictions::Id).primary_key())
                    .col(uuid(Restrictions::UserId))
                    .col(uuid_null(Restrictions::ReportId))
                    .col(string_len(Restrictions::Actions, 200))
                    .col(text(Restrictions::Reason))
                    .col(timestamp_with_time_zone_null(Restrictions::EndsAt))
                    .col(timestamp_with_time_zone_null(Restrictions::LiftedAt))
                    .col(uuid(Restrictions::CreatedBy))
                    .col(timestamp_with_time_zone(Restrictions::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("restrictions_user_id")
                    .table(Restrictions::Table)
                    .col(Restrictions::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Restrictions::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Reports::Table).to_owned()).await
    }
}
