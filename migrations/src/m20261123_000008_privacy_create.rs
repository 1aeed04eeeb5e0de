//! Privacy I: policy versions, the hash-chained consent ledger and audit log with their chain
//! heads, current consent states, analytics events, the partner register and sharing ledger,
//! profile visibility, privacy permissions, and the erasure queue.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum PrivacyPolicyVersions {
    Table,
    Id,
    Document,
    Version,
    Title,
    Body,
    BodySha256,
    Summary,
    EffectiveAt,
    PublishedAt,
    PublishedBy,
    Major,
    MajorKinds,
    Affects,
}

#[derive(DeriveIden, Clone, Copy)]
enum PrivacyChainHeads {
    Table,
    Chain,
    Seq,
    Hash,
}

#[derive(DeriveIden, Clone, Copy)]
enum PrivacyConsentRecords {
    Table,
    Id,
    Seq,
    UserId,
    Action,
    Purpose,
    PartnerId,
    PolicyVersionId,
    Method,
    Device,
    IpPrefix,
    Guardian,
    GuardianPhoneHash,
    CreatedAt,
    PrevHash,
    Hash,
}

#[derive(DeriveIden, Clone, Copy)]
enum PrivacyConsentStates {
    Table,
    Id,
    UserId,
    Purpose,
    PartnerKey,
    State,
    RecordId,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PrivacyAuditRecords {
    Table,
    Id,
    Seq,
    ActorKind,
    ActorId,
    SubjectUserId,
    Action,
    Resource,
    Fields,
    Reason,
    Allowed,
    RequestId,
    CreatedAt,
    PrevHash,
    Hash,
}

#[derive(DeriveIden, Clone, Copy)]
enum PrivacyAnalyticsEvents {
    Table,
    Id,
    UserId,
    Name,
    Properties,
    OccurredAt,
    ReceivedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PrivacyPartnerProcessing {
    Table,
    Id,
    PartnerId,
    Purpose,
    Categories,
    Description,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PrivacySharingRecords {
    Table,
    Id,
    PartnerId,
    UserId,
    Purpose,
    LegalBasis,
    Categories,
    Resource,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PrivacyProfileVisibility {
    Table,
    Id,
    UserId,
    Field,
    Visible,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PrivacyGrants {
    Table,
    Id,
    UserId,
    Permission,
    GrantedBy,
    GrantedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PrivacyErasureQueue {
    Table,
    Id,
    UserId,
    Categories,
    Reason,
    CreatedAt,
    CompletedAt,
}

async fn index<T: IntoIden + Copy + 'static, C: IntoIden + Copy + 'static>(
    manager: &SchemaManager<'_>,
    name: &str,
    table: T,
    cols: &[C],
    unique: bool,
) -> Result<(), DbErr> {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(*c);
    }
    if unique {
        idx.unique();
    }
    manager.create_index(idx.to_owned()).await
}

/// The hash every chain starts from.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use PrivacyPolicyVersions as P;
        manager
            .create_table(
                Table::create()
                    .table(P::Table)
                    .col(uuid(P::Id).primary_key())
                    .col(string_len(P::Document, 40))
                    .col(string_len(P::Version, 32))
                    .col(string_len(P::Title, 200))
                    .col(text(P::Body))
                    .col(string_len(P::BodySha256, 64))
                    .col(text(P::Summary))
                    .col(timestamp_with_time_zone(P::EffectiveAt))
                    .col(timestamp_with_time_zone(P::PublishedAt))
                    .col(uuid_null(P::PublishedBy))
                    .col(boolean(P::Major))
                    .col(string_len(P::MajorKinds, 200))
                    .col(string_len(P::Affects, 200))
                    .to_owned(),
            )
            .await?;
        index(manager, "privacy_policy_versions_document_version", P::Table, &[P::Document, P::Version], true).await?;

        use PrivacyChainHeads as H;
        manager
            .create_table(
                Table::create()
                    .table(H::Table)
                    .col(string_len(H::Chain, 16).primary_key())
                    .col(big_integer(H::Seq))
                    .col(string_len(H::Hash, 64))
                    .to_owned(),
            )
            .await?;
        for chain in ["consent", "audit"] {
            let insert = Query::insert()
                .into_table(H::Table)
                .columns([H::Chain, H::Seq, H::Hash])
                .values_panic([chain.into(), 0i64.into(), GENESIS.into()])
                .to_owned();
            manager.exec_stmt(insert).await?;
        }

        use PrivacyConsentRecords as C;
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(uuid(C::Id).primary_key())
                    .col(big_integer(C::Seq).unique_key())
                    .col(uuid(C::UserId))
                    .col(string_len(C::Action, 24))
                    .col(string_len_null(C::Purpose, 64))
                    .col(uuid_null(C::PartnerId))
                    .col(uuid_null(C::PolicyVersionId))
                    .col(string_len(C::Method, 16))
                    .col(string_len_null(C::Device, 200))
                    .col(string_len_null(C::IpPrefix, 64))
                    .col(string_len_null(C::Guardian, 100))
                    .col(string_len_null(C::GuardianPhoneHash, 64))
                    .col(timestamp_with_time_zone(C::CreatedAt))
                    .col(string_len(C::PrevHash, 64))
                    .col(string_len(C::Hash, 64))
                    .to_owned(),
            )
            .await?;
        index(manager, "privacy_consent_records_user_id", C::Table, &[C::UserId, C::Seq], false).await?;

        use PrivacyConsentStates as S;
        manager
            .create_table(
                Table::create()
                    .table(S::Table)
                    .col(uuid(S::Id).primary_key())
                    .col(uuid(S::UserId))
                    .col(string_len(S::Purpose, 64))
                    .col(string_len(S::PartnerKey, 36))
                    .col(string_len(S::State, 16))
                    .col(uuid(S::RecordId))
                    .col(timestamp_with_time_zone(S::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        index(manager, "privacy_consent_states_key", S::Table, &[S::UserId, S::Purpose, S::PartnerKey], true).await?;

        use PrivacyAuditRecords as A;
        manager
            .create_table(
                Table::create()
                    .table(A::Table)
                    .col(uuid(A::Id).primary_key())
                    .col(big_integer(A::Seq).unique_key())
                    .col(string_len(A::ActorKind, 16))
                    .col(uuid_null(A::ActorId))
                    .col(uuid_null(A::SubjectUserId))
                    .col(string_len(A::Action, 24))
                    .col(string_len(A::Resource, 100))
                    .col(string_len(A::Fields, 200))
                    .col(text_null(A::Reason))
                    .col(boolean(A::Allowed))
                    .col(string_len_null(A::RequestId, 64))
                    .col(timestamp_with_time_zone(A::CreatedAt))
                    .col(string_len(A::PrevHash, 64))
                    .col(string_len(A::Hash, 64))
                    .to_owned(),
            )
            .await?;
        index(manager, "privacy_audit_records_subject", A::Table, &[A::SubjectUserId, A::Seq], false).await?;

        use PrivacyAnalyticsEvents as E;
        manager
            .create_table(
                Table::create()
                    .table(E::Table)
                    .col(uuid(E::Id).primary_key())
                    .col(uuid(E::UserId))
                    .col(string_len(E::Name, 64))
                    .col(text(E::Properties))
                    .col(timestamp_with_time_zone(E::OccurredAt))
                    .col(timestamp_with_time_zone(E::ReceivedAt))
                    .to_owned(),
            )
            .await?;
        index(manager, "privacy_analytics_events_user_id", E::Table, &[E::UserId], false).await?;
        index(manager, "privacy_analytics_events_received_at", E::Table, &[E::ReceivedAt], false).await?;

        use PrivacyPartnerProcessing as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(uuid(R::Id).primary_key())
                    .col(uuid(R::PartnerId))
                    .col(string_len(R::Purpose, 64))
                    .col(string_len(R::Categories, 300))
                    .col(text(R::Description))
                    .col(timestamp_with_time_zone(R::CreatedAt))
                    .to_owned(),
            )
            .await?;
        index(manager, "privacy_partner_processing_key", R::Table, &[R::PartnerId, R::Purpose], true).await?;

        use PrivacySharingRecords as L;
        manager
            .create_table(
                Table::create()
                    .table(L::Table)
                    .col(uuid(L::Id).primary_key())
                    .col(uuid(L::PartnerId))
                    .col(uuid(L::UserId))
                    .col(string_len(L::Purpose, 64))
                    .col(string_len(L::LegalBasis, 32))
                    .col(string_len(L::Categories, 300))
                    .col(string_len(L::Resource, 100))
                    .col(timestamp_with_time_zone(L::CreatedAt))
                    .to_owned(),
            )
            .await?;
        index(manager, "privacy_sharing_records_user_id", L::Table, &[L::UserId, L::Id], false).await?;
        index(manager, "privacy_sharing_records_created_at", L::Table, &[L::CreatedAt], false).await?;

        use PrivacyProfileVisibility as V;
        manager
            .create_table(
                Table::create()
                    .table(V::Table)
                    .col(uuid(V::Id).primary_key())
                    .col(uuid(V::UserId))
                    .col(string_len(V::Field, 32))
                    .col(boolean(V::Visible))
                    .col(timestamp_with_time_zone(V::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        index(manager, "privacy_profile_visibility_key", V::Table, &[V::UserId, V::Field], true).await?;

        use PrivacyGrants as G;
        manager
            .create_table(
                Table::create()
                    .table(G::Table)
                    .col(uuid(G::Id).primary_key())
                    .col(uuid(G::UserId))
                    .col(string_len(G::Permission, 32))
                    .col(uuid_null(G::GrantedBy))
                    .col(timestamp_with_time_zone(G::GrantedAt))
                    .to_owned(),
            )
            .await?;
        index(manager, "privacy_grants_key", G::Table, &[G::UserId, G::Permission], true).await?;

        use PrivacyErasureQueue as Q;
        manager
            .create_table(
                Table::create()
                    .table(Q::Table)
                    .col(uuid(Q::Id).primary_key())
                    .col(uuid(Q::UserId))
                    .col(string_len(Q::Categories, 300))
                    .col(string_len(Q::Reason, 64))
                    .col(timestamp_with_time_zone(Q::CreatedAt))
                    .col(timestamp_with_time_zone_null(Q::CompletedAt))
                    .to_owned(),
            )
            .await?;
        index(manager, "privacy_erasure_queue_user_id", Q::Table, &[Q::UserId], false).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            PrivacyErasureQueue::Table.into_iden(),
            PrivacyGrants::Table.into_iden(),
            PrivacyProfileVisibility::Table.into_iden(),
            PrivacySharingRecords::Table.into_iden(),
            PrivacyPartnerProcessing::Table.into_iden(),
            PrivacyAnalyticsEvents::Table.into_iden(),
            PrivacyAuditRecords::Table.into_iden(),
            PrivacyConsentStates::Table.into_iden(),
            PrivacyConsentRecords::Table.into_iden(),
            PrivacyChainHeads::Table.into_iden(),
            PrivacyPolicyVersions::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
