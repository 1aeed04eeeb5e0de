pub mod identity_verification;
pub mod refresh_token;
pub mod security_event;
pub mod session;
pub mod sms_message;
pub mod user;
