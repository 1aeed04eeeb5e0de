mod mutation;
mod query;
mod types;

pub use mutation::AttendanceMutation as Mutation;
pub use query::AttendanceQuery as Query;
pub use types::AttendanceGroup;

/// Attendance has no subscriptions (reminders and decisions reach people through the inbox).
#[derive(Default, async_graphql::MergedSubscription)]
#[graphql(name = "AttendanceSubscription")]
pub struct Subscription;
