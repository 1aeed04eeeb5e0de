//! Accounts: the ID card photos (front and back) a real-name submission may carry as evidence
//! for its reviewer; both are deleted, with their files, when the review ends.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdentityVerifications {
    Table,
    IdFrontFileId,
    IdBackFileId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [IdentityVerifications::IdFrontFileId, IdentityVerifications::IdBackFileId] {
            manager
                .alter_table(
                    Table::alter().table(IdentityVerifications::Table).add_column(uuid_null(column)).to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [IdentityVerifications::IdBackFileId, IdentityVerifications::IdFrontFileId] {
            manager
                .alter_table(Table::alter().table(IdentityVerifications::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
