use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Files {
    Table,
    Id,
    OwnerId,
    Purpose,
    ContentType,
    Size,
    Sha256,
    StorageKey,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    AvatarFileId,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    LicenceFileId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Files::Table)
                    .col(uuid(Files::Id).primary_key())
                    .col(uuid(Files::OwnerId))
                    .col(string_len(Files::Purpose, 32))
                    .col(string_len(Files::ContentType, 64))
                    .col(big_integer(Files::Size))
                    .col(string_len(Files::Sha256, 64))
                    .col(string_len(Files::StorageKey, 128))
                    .col(timestamp_with_time_zone(Files::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("files_owner_id").table(Files::Table).col(Files::OwnerId).to_owned())
            .await?;
        // One ALTER per statement: SQLite takes nothing else.
        manager
            .alter_table(Table::alter().table(Users::Table).add_column(uuid_null(Users::AvatarFileId)).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(uuid_null(Organizations::LicenceFileId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Organizations::Table).drop_column(Organizations::LicenceFileId).to_owned(),
            )
            .await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::AvatarFileId).to_owned()).await?;
        manager.drop_table(Table::drop().table(Files::Table).to_owned()).await
    }
}
