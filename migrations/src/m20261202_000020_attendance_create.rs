//! Attendance: groups with one fixed shift, their sites and members, check records (with the
//! server's verdict and explanation), one row per person and day (what counts, settled at day
//! end), make-up requests, and field photos.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AttendanceGroups {
    Table,
    Id,
    Name,
    OrganizationId,
    ProgrammeId,
    WorkStart,
    WorkEnd,
    LateGrace,
    EarlyGrace,
    SeriousLate,
    AbsentLate,
    OpensBefore,
    ClosesAfter,
    RestDays,
    FollowsHolidays,
    AllowField,
    AllowCoarse,
    RemindBefore,
    Version,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AttendanceSites {
    Table,
    Id,
    GroupId,
    Name,
    Address,
    Latitude,
    Longitude,
    RadiusM,
    Bssids,
}

#[derive(DeriveIden)]
enum AttendanceMembers {
    Table,
    GroupId,
    UserId,
    Role,
    Since,
    AddedAt,
}

#[derive(DeriveIden)]
enum AttendanceRecords {
    Table,
    Id,
    GroupId,
    UserId,
    Day,
    Kind,
    At,
    Source,
    Latitude,
    Longitude,
    AccuracyM,
    Precision,
    SiteId,
    DistanceM,
    Inside,
    Bssid,
    WifiMatched,
    Field,
    Note,
    PhotoId,
    Result,
    Minutes,
    Explanation,
    Mocked,
    SuspiciousReason,
    ClientId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AttendanceDays {
    Table,
    GroupId,
    UserId,
    Day,
    Due,
    CheckInId,
    CheckOutId,
    InResult,
    OutResult,
    LateMinutes,
    EarlyMinutes,
    Field,
    Suspicious,
    MakeUps,
    SettledAt,
    RemindedAt,
}

#[derive(DeriveIden)]
enum AttendanceMakeUps {
    Table,
    Id,
    GroupId,
    UserId,
    Day,
    Kind,
    Reason,
    State,
    DecidedBy,
    DecisionReason,
    CreatedAt,
    DecidedAt,
}

#[derive(DeriveIden)]
enum AttendancePhotos {
    Table,
    Id,
    UserId,
    ContentType,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use AttendanceGroups as G;
        manager
            .create_table(
                Table::create()
                    .table(G::Table)
                    .col(uuid(G::Id).primary_key())
                    .col(string_len(G::Name, 100))
                    .col(uuid_null(G::OrganizationId))
                    .col(uuid_null(G::ProgrammeId))
                    .col(integer(G::WorkStart))
                    .col(integer(G::WorkEnd))
                    .col(integer(G::LateGrace))
                    .col(integer(G::EarlyGrace))
                    .col(integer(G::SeriousLate))
                    .col(integer(G::AbsentLate))
                    .col(integer(G::OpensBefore))
                    .col(integer(G::ClosesAfter))
                    .col(string_len(G::RestDays, 16))
                    .col(boolean(G::FollowsHolidays))
                    .col(boolean(G::AllowField))
                    .col(boolean(G::AllowCoarse))
                    .col(integer_null(G::RemindBefore))
                    .col(integer(G::Version))
                    .col(uuid(G::CreatedBy))
                    .col(timestamp_with_time_zone(G::CreatedAt))
                    .col(timestamp_with_time_zone(G::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("attendance_groups_organization", G::Table, cols![G::OrganizationId])).await?;
        manager
            .create_index(index("attendance_groups_programme", G::Table, cols![G::ProgrammeId]).unique().to_owned())
            .await?;

        use AttendanceSites as S;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(uuid(S::Id).primary_key())
                    .col(uuid(S::GroupId))
                    .col(string_len(S::Name, 100))
                    .col(string_len_null(S::Address, 200))
                    .col(double(S::Latitude))
                    .col(double(S::Longitude))
                    .col(integer(S::RadiusM))
                    .col(string_len(S::Bssids, 400))
                    .foreign_key(
                        ForeignKey::create()
                            .from(S::Table, S::GroupId)
                            .to(G::Table, G::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("attendance_sites_group", S::Table, cols![S::GroupId])).await?;

        use AttendanceMembers as M;
        manager
            .create_table(
                Table::create()
                    .table(M::Table)
                    .col(uuid(M::GroupId))
                    .col(uuid(M::UserId))
                    .col(string_len(M::Role, 16))
                    .col(date(M::Since))
                    .col(timestamp_with_time_zone(M::AddedAt))
                    .primary_key(Index::create().col(M::GroupId).col(M::UserId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(M::Table, M::GroupId)
                            .to(G::Table, G::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("attendance_members_user", M::Table, cols![M::UserId])).await?;

        use AttendanceRecords as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(uuid(R::Id).primary_key())
                    .col(uuid(R::GroupId))
                    .col(uuid(R::UserId))
                    .col(date(R::Day))
                    .col(string_len(R::Kind, 8))
                    .col(timestamp_with_time_zone(R::At))
                    .col(string_len(R::Source, 16))
                    .col(double_null(R::Latitude))
                    .col(double_null(R::Longitude))
                    .col(double_null(R::AccuracyM))
                    .col(string_len(R::Precision, 16))
                    .col(uuid_null(R::SiteId))
                    .col(double_null(R::DistanceM))
                    .col(boolean(R::Inside))
                    .col(string_len_null(R::Bssid, 17))
                    .col(boolean(R::WifiMatched))
                    .col(boolean(R::Field))
                    .col(string_len_null(R::Note, 800))
                    .col(uuid_null(R::PhotoId))
                    .col(string_len(R::Result, 16))
                    .col(integer(R::Minutes))
                    .col(text(R::Explanation))
                    .col(boolean(R::Mocked))
                    .col(text_null(R::SuspiciousReason))
                    .col(string_len_null(R::ClientId, 64))
                    .col(timestamp_with_time_zone(R::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(R::Table, R::GroupId)
                            .to(G::Table, G::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("attendance_records_group_day", R::Table, cols![R::GroupId, R::Day])).await?;
        manager.create_index(index("attendance_records_user_at", R::Table, cols![R::UserId, R::At])).await?;
        manager
            .create_index(
                index("attendance_records_user_client", R::Table, cols![R::UserId, R::ClientId]).unique().to_owned(),
            )
            .await?;
        // Retention walks by time among records that still have a position.
        manager.create_index(index("attendance_records_precision_at", R::Table, cols![R::Precision, R::At])).await?;
        manager.create_index(index("attendance_records_photo", R::Table, cols![R::PhotoId])).await?;

        use AttendanceDays as D;
        manager
            .create_table(
                Table::create()
                    .table(D::Table)
                    .col(uuid(D::GroupId))
                    .col(uuid(D::UserId))
                    .col(date(D::Day))
                    .col(boolean(D::Due))
                    .col(uuid_null(D::CheckInId))
                    .col(uuid_null(D::CheckOutId))
                    .col(string_len_null(D::InResult, 16))
                    .col(string_len_null(D::OutResult, 16))
                    .col(integer(D::LateMinutes))
                    .col(integer(D::EarlyMinutes))
                    .col(boolean(D::Field))
                    .col(boolean(D::Suspicious))
                    .col(integer(D::MakeUps))
                    .col(timestamp_with_time_zone_null(D::SettledAt))
                    .col(timestamp_with_time_zone_null(D::RemindedAt))
                    .primary_key(Index::create().col(D::GroupId).col(D::UserId).col(D::Day))
                    .foreign_key(
                        ForeignKey::create()
                            .from(D::Table, D::GroupId)
                            .to(G::Table, G::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("attendance_days_group_day", D::Table, cols![D::GroupId, D::Day])).await?;
        manager.create_index(index("attendance_days_user", D::Table, cols![D::UserId, D::Day])).await?;

        use AttendanceMakeUps as U;
        manager
            .create_table(
                Table::create()
                    .table(U::Table)
                    .col(uuid(U::Id).primary_key())
                    .col(uuid(U::GroupId))
                    .col(uuid(U::UserId))
                    .col(date(U::Day))
                    .col(string_len(U::Kind, 8))
                    .col(string_len(U::Reason, 800))
                    .col(string_len(U::State, 16))
                    .col(uuid_null(U::DecidedBy))
                    .col(string_len_null(U::DecisionReason, 800))
                    .col(timestamp_with_time_zone(U::CreatedAt))
                    .col(timestamp_with_time_zone_null(U::DecidedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(U::Table, U::GroupId)
                            .to(G::Table, G::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("attendance_make_ups_group_user_day", U::Table, cols![U::GroupId, U::UserId, U::Day]))
            .await?;
        // One live request per check: a rejected one may be filed again (same syntax on both).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX attendance_make_ups_open ON attendance_make_ups (group_id, user_id, day, kind) \
                 WHERE state <> 'rejected'",
            )
            .await?;

        use AttendancePhotos as P;
        manager
            .create_table(
                Table::create()
                    .table(P::Table)
                    .col(uuid(P::Id).primary_key())
                    .col(uuid(P::UserId))
                    .col(string_len(P::ContentType, 64))
                    .col(timestamp_with_time_zone(P::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("attendance_photos_user", P::Table, cols![P::UserId])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            AttendancePhotos::Table.into_iden(),
            AttendanceMakeUps::Table.into_iden(),
            AttendanceDays::Table.into_iden(),
            AttendanceRecords::Table.into_iden(),
            AttendanceMembers::Table.into_iden(),
            AttendanceSites::Table.into_iden(),
            AttendanceGroups::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(t).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
