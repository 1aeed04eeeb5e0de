use sea_orm::entity::prelude::*;

/// One event for one webhook, with how its attempts went.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub webhook_id: Uuid,
    /// The event's id, the same for every webhook it goes to: a partner's idempotency key.
    pub event_id: Uuid,
    pub event_type: String,
    /// The exact body posted (and signed).
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub state: crate::webhooks::DeliveryState,
    pub attempts: i32,
    /// The HTTP status of the last attempt, if the endpoint answered.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub last_attempt_at: Option<DateTimeUtc>,
    pub delivered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
