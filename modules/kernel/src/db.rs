//! The database: the embedded SQLite file by default, PostgreSQL when `database_url` says so.

use std::time::Duration;

use sea_orm::sea_query::{Alias, Expr, InsertStatement, Query};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ActiveModelTrait, ConnectOptions, Database, DatabaseConnection, EntityTrait, Iterable};

use crate::config::Config;
use crate::error::{AppError, AppResult};

/// A pooled connection idle at least this long is pinged before it is handed out.
pub const IDLE_BEFORE_PING_SECS: u64 = 30;

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
        // A connection in use moments ago is handed out as it is; one idle for a while is pinged
        // first (the server may have closed it). Pinging every checkout cost a round trip per
        // statement group: about eight per chat message.
        .test_before_acquire_if_idle_for(Duration::from_secs(IDLE_BEFORE_PING_SECS))
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

/// Starts a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (`BEGIN IMMEDIATE`), so a writer that finds another one waits its turn under the busy timeout;
/// a deferred transaction that read first and then needs to write cannot wait (SQLite answers
/// `SQLITE_BUSY` at once, which reached clients as `INTERNAL` under concurrent writes, the job
/// runner's among them). PostgreSQL begins as usual.
pub async fn begin(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::TransactionTrait;
    match db.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            let options = sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..Default::default()
            };
            db.begin_with_options(options).await
        }
        _ => db.begin().await,
    }
}

/// `row` as an `INSERT … SELECT … FROM <from>`: one row for each row of `from` (a CTE of the
/// same statement), so the insert happens, or not, with the work that CTE did. A column for
/// which `computed` returns an expression (one of `from`'s outputs, say) takes that expression;
/// every other set column takes its value; unset columns are left to their defaults.
pub fn insert_from<A: ActiveModelTrait>(
    row: &A,
    from: &str,
    computed: impl Fn(<A::Entity as EntityTrait>::Column) -> Option<Expr>,
) -> InsertStatement {
    let mut columns = Vec::new();
    let mut values = Query::select();
    for column in <A::Entity as EntityTrait>::Column::iter() {
        let value = computed(column).or_else(|| row.get(column).into_value().map(Expr::val));
        if let Some(v) = value {
            columns.push(column);
            values.expr(v);
        }
    }
    values.from(Alias::new(from));
    let mut insert = Query::insert();
    insert
        .into_table(A::Entity::default())
        .columns(columns)
        .select_from(values)
        .expect("one value for each column, by construction");
    insert
}
