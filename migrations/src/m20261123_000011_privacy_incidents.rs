//! Privacy II: security incidents (PIPL Art. 57) and who was told about each.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum PrivacyIncidents {
    Table,
    Id,
    Title,
    WhatHappened,
    DataTypes,
    Cause,
    Impact,
    Measures,
    Advice,
    Remedies,
    Contact,
    OccurredAt,
    RecordedAt,
    RecordedBy,
    PublicNotice,
    PublicNoticeAt,
    RegulatorAuthority,
    RegulatorReference,
    RegulatorReportedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PrivacyIncidentNotices {
    Table,
    Id,
    IncidentId,
    UserId,
    NotifiedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use PrivacyIncidents as I;
        manager
            .create_table(
                Table::create()
                    .table(I::Table)
                    .col(uuid(I::Id).primary_key())
                    .col(string_len(I::Title, 200))
                    .col(text(I::WhatHappened))
                    .col(text(I::DataTypes))
                    .col(text(I::Cause))
                    .col(text(I::Impact))
                    .col(text(I::Measures))
                    .col(text(I::Advice))
                    .col(text(I::Remedies))
                    .col(string_len(I::Contact, 200))
                    .col(timestamp_with_time_zone(I::OccurredAt))
                    .col(timestamp_with_time_zone(I::RecordedAt))
                    .col(uuid(I::RecordedBy))
                    .col(text_null(I::PublicNotice))
                    .col(timestamp_with_time_zone_null(I::PublicNoticeAt))
                    .col(string_len_null(I::RegulatorAuthority, 200))
                    .col(string_len_null(I::RegulatorReference, 200))
                    .col(timestamp_with_time_zone_null(I::RegulatorReportedAt))
                    .to_owned(),
            )
            .await?;
        use PrivacyIncidentNotices as N;
        manager
            .create_table(
                Table::create()
                    .table(N::Table)
                    .col(uuid(N::Id).primary_key())
                    .col(uuid(N::IncidentId))
                    .col(uuid(N::UserId))
                    .col(timestamp_with_time_zone(N::NotifiedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("privacy_incident_notices_key")
                    .table(N::Table)
                    .col(N::IncidentId)
                    .col(N::UserId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PrivacyIncidentNotices::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(PrivacyIncidents::Table).to_owned()).await
    }
}
