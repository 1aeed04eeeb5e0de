pub mod attachment;
pub mod call;
pub mod change;
pub mod conversation;
pub mod hidden;
pub mod member;
pub mod message;
