//! Closed sets: values that were free strings become enums (stored as the same strings). The
//! few columns that accepted anything a caller sent are mapped onto the set, so every stored row
//! reads back: a notification kind sent by hand becomes `platform.notice`, a call's hang-up reason
//! outside the set becomes `normal`. Frozen here as it was when the sets closed.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Kind,
}

#[derive(DeriveIden)]
enum PushMessages {
    Table,
    Kind,
}

#[derive(DeriveIden)]
enum ChatCalls {
    Table,
    EndReason,
}

const NOTIFICATION_KINDS: [&str; 20] = [
    "platform.notice",
    "partner.message",
    "security.locked",
    "security.new_device",
    "security.phone_changed",
    "account.restricted",
    "report.upheld",
    "report.dismissed",
    "verification.identity_approved",
    "verification.identity_rejected",
    "verification.organization_approved",
    "verification.organization_rejected",
    "privacy.request_completed",
    "privacy.request_denied",
    "privacy.request_on_hold",
    "privacy.incident",
    "privacy.policy_major",
    "privacy.service_ceased",
    "chat.message",
    "chat.recalled",
];

const CALL_END_REASONS: [&str; 4] = ["normal", "network", "device_error", "timeout"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let outside = |column: Expr, set: &[&str]| column.is_not_in(set.iter().copied());
        manager
            .exec_stmt(
                Query::update()
                    .table(Notifications::Table)
                    .value(Notifications::Kind, "platform.notice")
                    .and_where(outside(Expr::col(Notifications::Kind), &NOTIFICATION_KINDS))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(PushMessages::Table)
                    .value(PushMessages::Kind, "platform.notice")
                    .and_where(outside(Expr::col(PushMessages::Kind), &NOTIFICATION_KINDS))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(ChatCalls::Table)
                    .value(ChatCalls::EndReason, "normal")
                    .and_where(Expr::col(ChatCalls::EndReason).is_not_null())
                    .and_where(outside(Expr::col(ChatCalls::EndReason), &CALL_END_REASONS))
                    .to_owned(),
            )
            .await
    }

    /// The free strings it replaced are not kept, so there is nothing to restore; the rows stay
    /// valid for the code before this change too (any string was accepted then).
    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
