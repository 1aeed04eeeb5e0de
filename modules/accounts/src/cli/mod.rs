//! Accounts' operator commands, one file per command group.

mod partner;
mod sms;
mod token;

use std::sync::Arc;

use xqt_kernel::cli::CliCommand;

pub use sms::code_in;

pub fn commands() -> Vec<Arc<dyn CliCommand>> {
    vec![Arc::new(partner::Partner), Arc::new(sms::Sms), Arc::new(token::Token)]
}
