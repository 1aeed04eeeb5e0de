//! The database: the embedded SQLite file by default, PostgreSQL when `database_url` says so.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::config::Config;
use crate::error::{AppError, AppResult};

pub async fn connect(config: &Config) -> AppResult<DatabaseConnection> {
    let url = match &config.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                AppError::internal(format!("cannot create data dir {}: {e}", config.data_dir.display()))
            })?;
            format!("sqlite://{}?mode=rwc", config.sqlite_path().display())
        }
    };
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(config.database_max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        // Readers do not block the writer (WAL); a commit is on disk before it is acknowledged
        // (synchronous=FULL); references hold (foreign keys); writers queue
        // instead of failing at once (busy timeout). Set explicitly: sqlx's defaults have changed.
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5))
        });
    Database::connect(options).await.map_err(AppError::internal)
}
