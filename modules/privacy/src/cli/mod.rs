//! Privacy's operator commands, one file per command group.

mod admin;
mod audit;
mod cease_operation;
mod seed_policies;

use std::sync::Arc;

use xqt_kernel::cli::CliCommand;

pub fn commands() -> Vec<Arc<dyn CliCommand>> {
    vec![
        Arc::new(admin::Admin),
        Arc::new(audit::Audit),
        Arc::new(cease_operation::CeaseOperation),
        Arc::new(seed_policies::SeedPolicies),
    ]
}
