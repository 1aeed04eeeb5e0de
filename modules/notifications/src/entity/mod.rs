pub mod notification;
pub mod push_message;
