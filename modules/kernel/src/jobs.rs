//! Durable background jobs: a table every instance claims work from. A claim is one UPDATE that
//! takes the oldest due jobs, as many as the runner has free slots (PostgreSQL: `FOR UPDATE SKIP
//! LOCKED`, so instances never take the same row; SQLite: one writer at a time) and leases them;
//! a job whose worker died is taken again once its lease runs out. Failures retry with
//! exponential backoff up to a limit. Handlers must be idempotent: a job interrupted mid-way runs
//! again from the start, a finished one never.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, InsertStatement, OnConflict};
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, Set, Statement};
use uuid::Uuid;

use crate::context::AppContext;
use crate::error::{AppError, AppResult};

pub mod job {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "jobs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub kind: String,
        pub payload: String,
        pub state: super::JobState,
        pub run_at: DateTimeUtc,
        pub attempts: i32,
        pub max_attempts: i32,
        pub lease_until: Option<DateTimeUtc>,
        pub worker: Option<String>,
        pub last_error: Option<String>,
        pub dedupe_key: Option<String>,
        pub created_at: DateTimeUtc,
        pub finished_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Work of one kind (`<module>.<what>`). Must be safe to run again after an interruption.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    async fn run(&self, ctx: &AppContext, payload: &serde_json::Value) -> AppResult<()>;
}

/// A job enqueued once per period (at most once per period across all instances).
#[derive(Debug, Clone)]
pub struct Schedule {
    pub kind: &'static str,
    pub every: Duration,
}

/// What one turn of the runner did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub id: Uuid,
    pub kind: String,
    pub ok: bool,
}

/// First retry after 30 s, doubling, at most an hour apart.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 8) - 1;
    Duration::seconds((30i64 << exp).min(3600))
}

/// Queues a job; with a dedupe key, a second job with the same key is not queued (`None`).
pub async fn enqueue(
    ctx: &AppContext,
    kind: &str,
    payload: serde_json::Value,
    run_at: DateTime<Utc>,
    dedupe_key: Option<String>,
) -> AppResult<Option<Uuid>> {
    enqueue_on(&ctx.db, ctx, kind, payload, run_at, dedupe_key).await
}

/// `enqueue` on `db`: inside a transaction, the job commits with the work that asked for it (a
/// chat message and its push are one commit). A duplicate dedupe key leaves the transaction
/// usable (`ON CONFLICT DO NOTHING`, not a failed statement).
pub async fn enqueue_on<C: sea_orm::ConnectionTrait>(
    db: &C,
    ctx: &AppContext,
    kind: &str,
    payload: serde_json::Value,
    run_at: DateTime<Utc>,
    dedupe_key: Option<String>,
) -> AppResult<Option<Uuid>> {
    let row = new_row(ctx, kind, payload, run_at, dedupe_key);
    let id = *row.id.as_ref();
    let inserted = job::Entity::insert(row).on_conflict(skip_duplicate()).exec_without_returning(db).await?;
    Ok((inserted > 0).then_some(id))
}

/// `enqueue_on`'s insert as one part of a larger statement (PostgreSQL: a data-modifying CTE),
/// so the job commits, or not, with the work it belongs to in a single round trip: one job for
/// each row of `per`, a CTE of the same statement (none when it has none). A duplicate dedupe
/// key is skipped, as in `enqueue_on`.
pub fn insert_per_row(
    ctx: &AppContext,
    kind: &str,
    payload: serde_json::Value,
    run_at: DateTime<Utc>,
    dedupe_key: Option<String>,
    per: &str,
) -> InsertStatement {
    let row = new_row(ctx, kind, payload, run_at, dedupe_key);
    crate::db::insert_from(&row, per, |_| None).on_conflict(skip_duplicate()).to_owned()
}

/// A job row as `enqueue_on` writes it.
fn new_row(
    ctx: &AppContext,
    kind: &str,
    payload: serde_json::Value,
    run_at: DateTime<Utc>,
    dedupe_key: Option<String>,
) -> job::ActiveModel {
    job::ActiveModel {
        id: Set(crate::ids::new_id()),
        kind: Set(kind.to_owned()),
        payload: Set(payload.to_string()),
        state: Set(JobState::Queued),
        run_at: Set(run_at),
        attempts: Set(0),
        max_attempts: Set(ctx.config.jobs.max_attempts),
        lease_until: Set(None),
        worker: Set(None),
        last_error: Set(None),
        dedupe_key: Set(dedupe_key),
        created_at: Set(ctx.clock.now()),
        finished_at: Set(None),
    }
}

fn skip_duplicate() -> OnConflict {
    OnConflict::column(job::Column::DedupeKey).do_nothing().to_owned()
}

/// Leases one job to `worker`: `claim_many` of one.
pub async fn claim(ctx: &AppContext, worker: &str) -> AppResult<Option<job::Model>> {
    Ok(claim_many(ctx, worker, 1).await?.pop())
}

/// Leases up to `n` jobs to `worker` in one statement: first those whose lease ran out (their
/// worker died), then the oldest due. Each half reads its own index range in order, so a claim
/// costs the same with a hundred thousand jobs queued as with one (the single `OR` it replaces
/// sorted every due job on every claim). PostgreSQL: `FOR UPDATE SKIP LOCKED`, so instances never
/// take the same row; SQLite: one writer at a time. Returned oldest first.
pub async fn claim_many(ctx: &AppContext, worker: &str, n: usize) -> AppResult<Vec<job::Model>> {
    let now = ctx.clock.now();
    let lease_until = now + Duration::seconds(ctx.config.jobs.lease_secs);
    let backend = ctx.db.get_database_backend();
    let (lock, p) = match backend {
        DbBackend::Postgres => (" FOR UPDATE SKIP LOCKED", ["$1", "$2", "$3", "$4"]),
        _ => ("", ["?1", "?2", "?3", "?4"]),
    };
    let sql = format!(
        "WITH expired AS (SELECT id FROM jobs WHERE state = 'running' AND lease_until < {now} \
         ORDER BY run_at, id LIMIT {n}{lock}), \
         due AS (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= {now} ORDER BY run_at, id LIMIT {n}{lock}) \
         UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = {}, worker = {} \
         WHERE id IN (SELECT id FROM expired UNION ALL SELECT id FROM due LIMIT {n}) RETURNING *",
        p[0],
        p[1],
        now = p[2],
        n = p[3],
    );
    let n = i64::try_from(n.max(1)).unwrap_or(i64::MAX);
    let stmt = Statement::from_sql_and_values(backend, sql, [lease_until.into(), worker.into(), now.into(), n.into()]);
    let mut claimed = job::Entity::find().from_raw_sql(stmt).all(&ctx.db).await?;
    claimed.sort_by_key(|j| (j.run_at, j.id));
    Ok(claimed)
}

/// Records how a leased job ended: done, queued again after a backoff, or failed for good.
async fn finish(ctx: &AppContext, job: &job::Model, worker: &str, outcome: &AppResult<()>) -> AppResult<()> {
    let now = ctx.clock.now();
    let mut update = job::Entity::update_many()
        .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(job::Column::Id.eq(job.id))
        .filter(job::Column::Worker.eq(worker))
        .filter(job::Column::State.eq(JobState::Running));
    update = match outcome {
        Ok(()) => update
            .col_expr(job::Column::State, Expr::value(JobState::Done))
            .col_expr(job::Column::FinishedAt, Expr::value(now)),
        Err(e) if job.attempts >= job.max_attempts => update
            .col_expr(job::Column::State, Expr::value(JobState::Failed))
            .col_expr(job::Column::FinishedAt, Expr::value(now))
            .col_expr(job::Column::LastError, Expr::value(e.message())),
        Err(e) => update
            .col_expr(job::Column::State, Expr::value(JobState::Queued))
            .col_expr(job::Column::RunAt, Expr::value(now + backoff(job.attempts)))
            .col_expr(job::Column::LastError, Expr::value(e.message())),
    };
    if update.exec(&ctx.db).await?.rows_affected == 0 {
        // The lease ran out and another worker took the job; its outcome is the one that counts.
        tracing::warn!(job = %job.id, kind = %job.kind, "job finished after its lease was taken over");
    }
    Ok(())
}

/// Claims and runs one job; `None` when nothing is due.
pub async fn run_once(ctx: &AppContext, worker: &str) -> AppResult<Option<Ran>> {
    let Some(job) = claim(ctx, worker).await? else { return Ok(None) };
    execute(ctx, worker, job).await.map(Some)
}

/// Runs a claimed job and records how it ended.
async fn execute(ctx: &AppContext, worker: &str, job: job::Model) -> AppResult<Ran> {
    let outcome = if job.attempts > job.max_attempts {
        Err(AppError::internal("attempts used up (the last one never finished)"))
    } else {
        match ctx.modules.job_handler(&job.kind) {
            None => Err(AppError::internal(format!("no handler for job kind `{}`", job.kind))),
            Some(handler) => {
                let payload = serde_json::from_str(&job.payload).unwrap_or(serde_json::Value::Null);
                let limit = std::time::Duration::from_secs(ctx.config.jobs.lease_secs.max(2) as u64 - 1);
                match tokio::time::timeout(limit, handler.run(ctx, &payload)).await {
                    Ok(result) => result,
                    Err(_) => Err(AppError::internal("the job outlived its lease")),
                }
            }
        }
    };
    let ok = outcome.is_ok();
    match &outcome {
        Ok(()) => tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, "job done"),
        Err(e) => {
            tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = e.message(), "job failed")
        }
    }
    finish(ctx, &job, worker, &outcome).await?;
    Ok(Ran { id: job.id, kind: job.kind, ok })
}

/// Queues this period's run of every schedule, once across all instances.
pub async fn schedule_due(ctx: &AppContext) -> AppResult<()> {
    let now = ctx.clock.now();
    // Once per clock hour across all instances: finished jobs go after their keeping period.
    let hour = now.timestamp().div_euclid(3600);
    let claim = bytes::Bytes::from_static(b"1");
    if ctx.cache.set_if_absent(&format!("jobs:purge@{hour}"), claim, std::time::Duration::from_secs(7200)).await? {
        let purged = purge_finished(ctx, now).await?;
        if purged > 0 {
            tracing::info!(purged, "finished jobs purged");
        }
    }
    for s in ctx.modules.schedules(&ctx.config) {
        let every = s.every.num_seconds().max(1);
        let slot = now.timestamp().div_euclid(every);
        let at = DateTime::<Utc>::from_timestamp(slot * every, 0).unwrap_or(now);
        enqueue(ctx, s.kind, serde_json::Value::Null, at, Some(format!("{}@{slot}", s.kind))).await?;
    }
    Ok(())
}

/// Done jobs are kept this long (for operators), failed ones `KEEP_FAILED_DAYS`, then deleted:
/// every message queues a push job and every schedule slot is a row, so they must not pile up.
pub const KEEP_DONE_DAYS: i64 = 1;
pub const KEEP_FAILED_DAYS: i64 = 30;

/// Deletes jobs that finished before their keeping period; returns how many.
pub async fn purge_finished(ctx: &AppContext, now: DateTime<Utc>) -> AppResult<u64> {
    let mut purged = 0;
    for (state, days) in [(JobState::Done, KEEP_DONE_DAYS), (JobState::Failed, KEEP_FAILED_DAYS)] {
        purged += job::Entity::delete_many()
            .filter(job::Column::State.eq(state))
            .filter(job::Column::FinishedAt.lt(now - Duration::days(days)))
            .exec(&ctx.db)
            .await?
            .rows_affected;
    }
    Ok(purged)
}

/// A name for this process in `jobs.worker`.
pub fn worker_name() -> String {
    format!("pid{}-{}", std::process::id(), &Uuid::new_v4().simple().to_string()[..8])
}

/// Wakes this process's runner now instead of at its next poll: for a job someone waits on (an
/// SMS code). Other instances' runners find it at their next poll.
pub fn wake() {
    WAKE.notify_one();
}

static WAKE: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Runs jobs until the returned handle is dropped or aborted: one loop claims due jobs and runs
/// up to `jobs.concurrency` of them at once (a push to a group waits on its provider, so one at a
/// time let the queue grow without bound under chat load).
pub fn spawn(ctx: AppContext) -> tokio::task::JoinHandle<()> {
    let worker: Arc<str> = worker_name().into();
    tokio::spawn(async move {
        let poll = std::time::Duration::from_millis(ctx.config.jobs.poll_interval_ms);
        let slots = Arc::new(tokio::sync::Semaphore::new(ctx.config.jobs.concurrency));
        let mut running = tokio::task::JoinSet::new();
        tracing::info!(worker = %worker, concurrency = ctx.config.jobs.concurrency, "job runner started");
        loop {
            if let Err(e) = schedule_due(&ctx).await {
                tracing::warn!(error = e.message(), "scheduling jobs failed");
            }
            loop {
                // Waits for one free slot, then claims as many jobs as there are free slots.
                let Ok(first) = Arc::clone(&slots).acquire_owned().await else { return };
                let mut free = vec![first];
                while let Ok(slot) = Arc::clone(&slots).try_acquire_owned() {
                    free.push(slot);
                }
                while running.try_join_next().is_some() {}
                let claimed = match claim_many(&ctx, &worker, free.len()).await {
                    Ok(claimed) => claimed,
                    Err(e) => {
                        tracing::warn!(error = e.message(), "job runner could not claim work");
                        break;
                    }
                };
                let drained = claimed.len() < free.len();
                for (job, slot) in claimed.into_iter().zip(free) {
                    let (ctx, worker) = (ctx.clone(), Arc::clone(&worker));
                    running.spawn(async move {
                        if let Err(e) = execute(&ctx, &worker, job).await {
                            tracing::warn!(error = e.message(), "job outcome not recorded");
                        }
                        drop(slot);
                    });
                }
                if drained {
                    break;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = WAKE.notified() => {}
            }
        }
    })
}

/// Jobs in a state, for operators and tests.
pub async fn in_state(ctx: &AppContext, state: JobState) -> AppResult<Vec<job::Model>> {
    Ok(job::Entity::find().filter(job::Column::State.eq(state)).all(&ctx.db).await?)
}

crate::closed_set! {
    /// Where a job is: waiting (or waiting again after a failure), leased to a worker, or over.
    pub enum JobState {
        Queued = "queued",
        Running = "running",
        Done = "done",
        /// Given up after `max_attempts`.
        Failed = "failed",
    }
}

/// The handlers of every module, by kind.
pub type Handlers = std::collections::HashMap<&'static str, Arc<dyn JobHandler>>;

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(super::backoff(1).num_seconds(), 30);
        assert_eq!(super::backoff(2).num_seconds(), 60);
        assert_eq!(super::backoff(5).num_seconds(), 480);
        assert_eq!(super::backoff(20).num_seconds(), 3600);
    }
}
