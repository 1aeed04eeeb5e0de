pub mod notification;
pub mod push_device;
pub mod push_message;
