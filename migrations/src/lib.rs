//! One ordered list of migrations for every module. A file is named
//! `m<date>_<nnnnnn>_<module>_<what>.rs`; migrations are written so SQLite and PostgreSQL both
//! accept them (foreign keys declared at table creation, one ALTER per statement, portable types).

pub use sea_orm_migration::prelude::*;

/// An index named `name` on `table`'s `cols` (add `.unique()` where it must be).
fn index(name: &str, table: impl IntoIden, cols: Vec<DynIden>) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(table);
    for c in cols {
        i.col(c);
    }
    i.to_owned()
}

/// Column idents of one table for `index`: `cols![T::A, T::B]`.
macro_rules! cols {
    ($($e:expr),+) => { vec![$($e.into_iden()),+] };
}

mod m20261122_000001_notifications_create;
mod m20261122_000002_accounts_create;
mod m20261122_000003_accounts_identity;
mod m20261122_000004_accounts_organizations;
mod m20261122_000005_accounts_partners;
mod m20261122_000006_accounts_files;
mod m20261122_000007_accounts_reports;
mod m20261123_000008_privacy_create;
mod m20261123_000009_privacy_requests;
mod m20261123_000010_kernel_jobs;
mod m20261123_000011_privacy_incidents;
mod m20261123_000012_kernel_settings;
mod m20261123_000013_notifications_push_outbox;
mod m20261129_000014_notifications_push_devices;
mod m20261129_000015_chat_create;
mod m20261130_000016_chat_changes;
mod m20261130_000017_closed_sets;
mod m20261130_000018_chat_last_changed;
mod m20261201_000019_cooperation_create;
mod m20261202_000020_attendance_create;
mod m20261203_000021_notifications_sender;
mod m20261203_000022_accounts_webhooks;
mod m20261203_000023_chat_call_participants;
mod m20261204_000024_accounts_id_photos;
mod m20261207_000025_kernel_jobs_claim_order;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_notifications_create::Migration),
            Box::new(m20261122_000002_accounts_create::Migration),
            Box::new(m20261122_000003_accounts_identity::Migration),
            Box::new(m20261122_000004_accounts_organizations::Migration),
            Box::new(m20261122_000005_accounts_partners::Migration),
            Box::new(m20261122_000006_accounts_files::Migration),
            Box::new(m20261122_000007_accounts_reports::Migration),
            Box::new(m20261123_000008_privacy_create::Migration),
            Box::new(m20261123_000009_privacy_requests::Migration),
            Box::new(m20261123_000010_kernel_jobs::Migration),
            Box::new(m20261123_000011_privacy_incidents::Migration),
            Box::new(m20261123_000012_kernel_settings::Migration),
            Box::new(m20261123_000013_notifications_push_outbox::Migration),
            Box::new(m20261129_000014_notifications_push_devices::Migration),
            Box::new(m20261129_000015_chat_create::Migration),
            Box::new(m20261130_000016_chat_changes::Migration),
            Box::new(m20261130_000017_closed_sets::Migration),
            Box::new(m20261130_000018_chat_last_changed::Migration),
            Box::new(m20261201_000019_cooperation_create::Migration),
            Box::new(m20261202_000020_attendance_create::Migration),
            Box::new(m20261203_000021_notifications_sender::Migration),
            Box::new(m20261203_000022_accounts_webhooks::Migration),
            Box::new(m20261203_000023_chat_call_participants::Migration),
            Box::new(m20261204_000024_accounts_id_photos::Migration),
            Box::new(m20261207_000025_kernel_jobs_claim_order::Migration),
        ]
    }
}
