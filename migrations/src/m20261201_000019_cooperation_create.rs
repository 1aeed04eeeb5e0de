//! Cooperation: posts (demands and talent entries) with their edit history and a search index,
//! applications between the two sides, favourites, internship programmes with their sites and
//! members, agreements with the provider's callbacks, and which partner systems a school let sync
//! its talent pool.
//!
//! Search: `search_text` holds the post's words segmented by jieba (space-separated). SQLite
//! indexes it with an FTS5 table kept in step by triggers (external content, so the words are
//! stored once); PostgreSQL with a generated `tsvector` (`simple` configuration: no stemming,
//! the segmentation already did the language's work) under a GIN index.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::index;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CooperationPosts {
    Table,
    Id,
    OrganizationId,
    OrganizationKind,
    AuthorId,
    Kind,
    State,
    Visibility,
    Title,
    Body,
    Industry,
    Region,
    Address,
    Latitude,
    Longitude,
    Headcount,
    StartsOn,
    EndsOn,
    Tags,
    Talent,
    SearchText,
    ExternalKey,
    Version,
    CreatedAt,
    UpdatedAt,
    PublishedAt,
}

#[derive(DeriveIden)]
enum CooperationPostRevisions {
    Table,
    Id,
    PostId,
    Version,
    EditorId,
    Snapshot,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CooperationApplications {
    Table,
    Id,
    PostId,
    OwnerOrganizationId,
    Direction,
    ApplicantId,
    ApplicantOrganizationId,
    TalentPostId,
    State,
    Message,
    Reason,
    OpenKey,
    ConversationId,
    AcceptedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CooperationFavourites {
    Table,
    UserId,
    SubjectKind,
    SubjectId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CooperationProgrammes {
    Table,
    Id,
    ApplicationId,
    SchoolId,
    EnterpriseId,
    Title,
    StartsOn,
    EndsOn,
    SchoolSupervisorId,
    EnterpriseSupervisorId,
    State,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CooperationProgrammeSites {
    Table,
    Id,
    ProgrammeId,
    Name,
    Address,
    Latitude,
    Longitude,
    RadiusM,
}

#[derive(DeriveIden)]
enum CooperationProgrammeMembers {
    Table,
    ProgrammeId,
    UserId,
    Role,
    State,
    InvitedBy,
    InvitedAt,
    JoinedAt,
}

#[derive(DeriveIden)]
enum CooperationAgreements {
    Table,
    Id,
    ProgrammeId,
    StudentId,
    Provider,
    FlowId,
    State,
    Title,
    Fields,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    SignedAt,
    HoldUntil,
}

#[derive(DeriveIden)]
enum CooperationPartnerLinks {
    Table,
    OrganizationId,
    PartnerId,
    AuthorizedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CooperationAgreementEvents {
    Table,
    Id,
    FlowId,
    EventKey,
    Action,
    Payload,
    ReceivedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use CooperationPosts as P;
        manager
            .create_table(
                Table::create()
                    .table(P::Table)
                    .col(uuid(P::Id).primary_key())
                    .col(uuid_null(P::OrganizationId))
                    .col(string_len_null(P::OrganizationKind, 16))
                    .col(uuid(P::AuthorId))
                    .col(string_len(P::Kind, 32))
                    .col(string_len(P::State, 16))
                    .col(string_len(P::Visibility, 16))
                    .col(string_len(P::Title, 100))
                    .col(text(P::Body))
                    .col(string_len_null(P::Industry, 64))
                    .col(string_len_null(P::Region, 64))
                    .col(string_len_null(P::Address, 200))
                    .col(double_null(P::Latitude))
                    .col(double_null(P::Longitude))
                    .col(integer_null(P::Headcount))
                    .col(date_null(P::StartsOn))
                    .col(date_null(P::EndsOn))
                    .col(text(P::Tags))
                    .col(text_null(P::Talent))
                    .col(text(P::SearchText))
                    .col(string_len_null(P::ExternalKey, 200).unique_key())
                    .col(integer(P::Version))
                    .col(timestamp_with_time_zone(P::CreatedAt))
                    .col(timestamp_with_time_zone(P::UpdatedAt))
                    .col(timestamp_with_time_zone_null(P::PublishedAt))
                    .to_owned(),
            )
            .await?;
        for i in [
            // The public listing and every search filter start from published posts by recency.
            index("cooperation_posts_listing", P::Table, cols!(P::State, P::PublishedAt)),
            index("cooperation_posts_organization", P::Table, cols!(P::OrganizationId, P::State)),
            index("cooperation_posts_author", P::Table, cols!(P::AuthorId)),
            // Nearby: the bounding box narrows on latitude, then longitude, before any distance.
            index("cooperation_posts_location", P::Table, cols!(P::Latitude, P::Longitude)),
        ] {
            manager.create_index(i).await?;
        }
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "ALTER TABLE cooperation_posts ADD COLUMN search_vector tsvector \
                     GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE INDEX cooperation_posts_search ON cooperation_posts USING GIN (search_vector)",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE VIRTUAL TABLE cooperation_posts_fts USING fts5(search_text, \
                     content='cooperation_posts', tokenize='unicode61 remove_diacritics 2')",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER cooperation_posts_fts_insert AFTER INSERT ON cooperation_posts BEGIN \
                     INSERT INTO cooperation_posts_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER cooperation_posts_fts_delete AFTER DELETE ON cooperation_posts BEGIN \
                     INSERT INTO cooperation_posts_fts(cooperation_posts_fts, rowid, search_text) \
                     VALUES ('delete', old.rowid, old.search_text); END",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER cooperation_posts_fts_update AFTER UPDATE OF search_text ON cooperation_posts BEGIN \
                     INSERT INTO cooperation_posts_fts(cooperation_posts_fts, rowid, search_text) \
                     VALUES ('delete', old.rowid, old.search_text); \
                     INSERT INTO cooperation_posts_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
                )
                .await?;
            }
        }

        use CooperationPostRevisions as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(uuid(R::Id).primary_key())
                    .col(uuid(R::PostId))
                    .col(integer(R::Version))
                    .col(uuid_null(R::EditorId))
                    .col(text(R::Snapshot))
                    .col(timestamp_with_time_zone(R::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(R::Table, R::PostId)
                            .to(P::Table, P::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("cooperation_post_revisions_post", R::Table, cols!(R::PostId, R::Version)).unique().to_owned(),
            )
            .await?;

        use CooperationApplications as A;
        manager
            .create_table(
                Table::create()
                    .table(A::Table)
                    .col(uuid(A::Id).primary_key())
                    .col(uuid(A::PostId))
                    .col(uuid_null(A::OwnerOrganizationId))
                    .col(string_len(A::Direction, 16))
                    .col(uuid(A::ApplicantId))
                    .col(uuid_null(A::ApplicantOrganizationId))
                    .col(uuid_null(A::TalentPostId))
                    .col(string_len(A::State, 16))
                    .col(text_null(A::Message))
                    .col(text_null(A::Reason))
                    // Set while the application is open: one open application per post and applicant.
                    .col(string_len_null(A::OpenKey, 80).unique_key())
                    .col(uuid_null(A::ConversationId))
                    .col(timestamp_with_time_zone_null(A::AcceptedAt))
                    .col(timestamp_with_time_zone(A::CreatedAt))
                    .col(timestamp_with_time_zone(A::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for i in [
            index("cooperation_applications_post", A::Table, cols!(A::PostId)),
            index("cooperation_applications_applicant", A::Table, cols!(A::ApplicantId)),
            index("cooperation_applications_owner", A::Table, cols!(A::OwnerOrganizationId)),
        ] {
            manager.create_index(i).await?;
        }

        use CooperationFavourites as F;
        manager
            .create_table(
                Table::create()
                    .table(F::Table)
                    .col(uuid(F::UserId))
                    .col(string_len(F::SubjectKind, 16))
                    .col(uuid(F::SubjectId))
                    .col(timestamp_with_time_zone(F::CreatedAt))
                    .primary_key(Index::create().col(F::UserId).col(F::SubjectKind).col(F::SubjectId))
                    .to_owned(),
            )
            .await?;

        use CooperationProgrammes as G;
        manager
            .create_table(
                Table::create()
                    .table(G::Table)
                    .col(uuid(G::Id).primary_key())
                    .col(uuid(G::ApplicationId).unique_key())
                    .col(uuid(G::SchoolId))
                    .col(uuid(G::EnterpriseId))
                    .col(string_len(G::Title, 100))
                    .col(date(G::StartsOn))
                    .col(date(G::EndsOn))
                    .col(uuid(G::SchoolSupervisorId))
                    .col(uuid(G::EnterpriseSupervisorId))
                    .col(string_len(G::State, 16))
                    .col(uuid(G::CreatedBy))
                    .col(timestamp_with_time_zone(G::CreatedAt))
                    .col(timestamp_with_time_zone(G::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for i in [
            index("cooperation_programmes_school", G::Table, cols!(G::SchoolId)),
            index("cooperation_programmes_enterprise", G::Table, cols!(G::EnterpriseId)),
        ] {
            manager.create_index(i).await?;
        }

        use CooperationProgrammeSites as S;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(uuid(S::Id).primary_key())
                    .col(uuid(S::ProgrammeId))
                    .col(string_len(S::Name, 100))
                    .col(string_len_null(S::Address, 200))
                    .col(double(S::Latitude))
                    .col(double(S::Longitude))
                    .col(integer(S::RadiusM))
                    .foreign_key(
                        ForeignKey::create()
                            .from(S::Table, S::ProgrammeId)
                            .to(G::Table, G::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("cooperation_programme_sites_programme", S::Table, cols!(S::ProgrammeId))).await?;

        use CooperationProgrammeMembers as M;
        manager
            .create_table(
                Table::create()
                    .table(M::Table)
                    .col(uuid(M::ProgrammeId))
                    .col(uuid(M::UserId))
                    .col(string_len(M::Role, 32))
                    .col(string_len(M::State, 16))
                    .col(uuid_null(M::InvitedBy))
                    .col(timestamp_with_time_zone(M::InvitedAt))
                    .col(timestamp_with_time_zone_null(M::JoinedAt))
                    .primary_key(Index::create().col(M::ProgrammeId).col(M::UserId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(M::Table, M::ProgrammeId)
                            .to(G::Table, G::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("cooperation_programme_members_user", M::Table, cols!(M::UserId))).await?;

        use CooperationAgreements as Ag;
        manager
            .create_table(
                Table::create()
                    .table(Ag::Table)
                    .col(uuid(Ag::Id).primary_key())
                    .col(uuid(Ag::ProgrammeId))
                    .col(uuid_null(Ag::StudentId))
                    .col(string_len(Ag::Provider, 32))
                    .col(string_len_null(Ag::FlowId, 100).unique_key())
                    .col(string_len(Ag::State, 16))
                    .col(string_len(Ag::Title, 100))
                    .col(text(Ag::Fields))
                    .col(uuid(Ag::CreatedBy))
                    .col(timestamp_with_time_zone(Ag::CreatedAt))
                    .col(timestamp_with_time_zone(Ag::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Ag::SignedAt))
                    .col(timestamp_with_time_zone_null(Ag::HoldUntil))
                    .to_owned(),
            )
            .await?;
        for i in [
            index("cooperation_agreements_programme", Ag::Table, cols!(Ag::ProgrammeId)),
            index("cooperation_agreements_student", Ag::Table, cols!(Ag::StudentId)),
        ] {
            manager.create_index(i).await?;
        }

        use CooperationPartnerLinks as L;
        manager
            .create_table(
                Table::create()
                    .table(L::Table)
                    .col(uuid(L::OrganizationId))
                    .col(uuid(L::PartnerId))
                    .col(uuid(L::AuthorizedBy))
                    .col(timestamp_with_time_zone(L::CreatedAt))
                    .primary_key(Index::create().col(L::OrganizationId).col(L::PartnerId))
                    .to_owned(),
            )
            .await?;

        use CooperationAgreementEvents as E;
        manager
            .create_table(
                Table::create()
                    .table(E::Table)
                    .col(uuid(E::Id).primary_key())
                    .col(string_len(E::FlowId, 100))
                    .col(string_len(E::EventKey, 200))
                    .col(string_len(E::Action, 64))
                    .col(text(E::Payload))
                    .col(timestamp_with_time_zone(E::ReceivedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("cooperation_agreement_events_key", E::Table, cols!(E::FlowId, E::EventKey)).unique().to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Sqlite {
            manager.get_connection().execute_unprepared("DROP TABLE IF EXISTS cooperation_posts_fts").await?;
        }
        for t in [
            CooperationAgreementEvents::Table.into_iden(),
            CooperationPartnerLinks::Table.into_iden(),
            CooperationAgreements::Table.into_iden(),
            CooperationProgrammeMembers::Table.into_iden(),
            CooperationProgrammeSites::Table.into_iden(),
            CooperationProgrammes::Table.into_iden(),
            CooperationFavourites::Table.into_iden(),
            CooperationApplications::Table.into_iden(),
            CooperationPostRevisions::Table.into_iden(),
            CooperationPosts::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
