mod mutation;
mod query;
mod subscription;
mod types;

pub use mutation::NotificationsMutation as Mutation;
pub use query::NotificationsQuery as Query;
pub use subscription::NotificationsSubscription as Subscription;
pub use types::Notification;
