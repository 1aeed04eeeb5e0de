//! The database: the embedded SQLite file by default, PostgreSQL when `database_url` says so.

use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::config::Config;
use crate::error::{AppError, AppResult};

pub async fn connect(config: &Config) -> AppResult<DatabaseConnection> {
    let url = match &config.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&config.data_dir)
                .map_err(|e| AppError::internal(format!("cannot create data dir {}: {e}", config.data_dir.display())))?;
            // sqlx opens SQLite in WAL mode with foreign keys on and a 5 s busy timeout.
            format!("sqlite://{}?mode=rwc", config.sqlite_path().display())
        }
    };
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(config.database_max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Database::connect(options).await.map_err(AppError::internal)
}
