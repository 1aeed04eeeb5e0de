//! Accounts: partners' webhooks (an HTTPS endpoint, the events it takes, its signing secret
//! sealed with the data key) and each event's delivery to each of them, with its attempts. One
//! delivery per webhook and event id, so an event is never queued twice for the same endpoint.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Partners {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PartnerWebhooks {
    Table,
    Id,
    PartnerId,
    Url,
    Events,
    SecretSealed,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    WebhookId,
    EventId,
    EventType,
    Payload,
    State,
    Attempts,
    LastStatus,
    LastError,
    CreatedAt,
    LastAttemptAt,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use PartnerWebhooks as W;
        manager
            .create_table(
                Table::create()
                    .table(W::Table)
                    .col(uuid(W::Id).primary_key())
                    .col(uuid(W::PartnerId))
                    .col(string_len(W::Url, 500))
                    .col(text(W::Events))
                    .col(binary(W::SecretSealed))
                    .col(uuid_null(W::CreatedBy))
                    .col(timestamp_with_time_zone(W::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(W::Table, W::PartnerId)
                            .to(Partners::Table, Partners::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("partner_webhooks_partner", W::Table, cols![W::PartnerId])).await?;

        use WebhookDeliveries as D;
        manager
            .create_table(
                Table::create()
                    .table(D::Table)
                    .col(uuid(D::Id).primary_key())
                    .col(uuid(D::WebhookId))
                    .col(uuid(D::EventId))
                    .col(string_len(D::EventType, 64))
                    .col(text(D::Payload))
                    .col(string_len(D::State, 16))
                    .col(integer(D::Attempts))
                    .col(integer_null(D::LastStatus))
                    .col(string_len_null(D::LastError, 500))
                    .col(timestamp_with_time_zone(D::CreatedAt))
                    .col(timestamp_with_time_zone_null(D::LastAttemptAt))
                    .col(timestamp_with_time_zone_null(D::DeliveredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(D::Table, D::WebhookId)
                            .to(W::Table, W::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("webhook_deliveries_event", D::Table, cols![D::WebhookId, D::EventId]).unique().to_owned(),
            )
            .await?;
        manager.create_index(index("webhook_deliveries_created", D::Table, cols![D::WebhookId, D::CreatedAt])).await?;
        manager.create_index(index("webhook_deliveries_age", D::Table, cols![D::CreatedAt])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [WebhookDeliveries::Table.into_iden(), PartnerWebhooks::Table.into_iden()] {
            manager.drop_table(Table::drop().table(t).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
