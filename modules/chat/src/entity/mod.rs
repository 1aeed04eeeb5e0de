pub mod attachment;
pub mod call;
pub mod conversation;
pub mod hidden;
pub mod member;
pub mod message;
