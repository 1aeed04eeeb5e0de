pub mod loaders;
mod mutation;
mod query;
mod subscription;
mod types;

pub use mutation::ChatMutation as Mutation;
pub use query::ChatQuery as Query;
pub use subscription::ChatSubscription as Subscription;
pub use types::{Call, Conversation, ConversationEvent, Message};
