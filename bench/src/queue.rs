//! `xqt-bench queue`: how fast the job runner drains a backlog. A backlog is what a saturated chat
//! leaves (one push job per message) or what one operator action queues (a major policy change
//! queues a notice per person): N due jobs, queued in one commit, then the runner (`jobs::spawn`,
//! the configured concurrency) started on them; drained jobs per second until none is queued or
//! running. The jobs are chat pushes of messages that no longer exist, so each does the runner's
//! own work (claim, the handler's one read, finish) and nothing else.

use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use xqt_kernel::AppContext;
use xqt_kernel::jobs::{JobState, job};

fn sizes() -> Vec<usize> {
    std::env::var("XQT_BENCH_QUEUE_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000])
}

/// The backlog's jobs in `states`. (Not the runner's own schedules: one it claims just before it is
/// stopped stays leased until its lease runs out, and the next row would wait for it.)
async fn backlog_in(ctx: &AppContext, states: &[JobState]) -> u64 {
    job::Entity::find()
        .filter(job::Column::Kind.eq(xqt_chat::jobs::PUSH))
        .filter(job::Column::State.is_in(states.iter().copied()))
        .count(&ctx.db)
        .await
        .expect("count the backlog's jobs")
}

const UNFINISHED: [JobState; 2] = [JobState::Queued, JobState::Running];

/// Queues `n` due pushes of messages that do not exist, in one transaction.
async fn backlog(ctx: &AppContext, n: usize) {
    let txn = xqt_kernel::db::begin(&ctx.db).await.expect("begin");
    let due = ctx.clock.now() - chrono::Duration::seconds(1);
    for _ in 0..n {
        let payload = json!({ "message": uuid::Uuid::new_v4(), "recalled": false });
        xqt_kernel::jobs::enqueue_on(&txn, ctx, xqt_chat::jobs::PUSH, payload, due, None).await.expect("enqueue");
    }
    txn.commit().await.expect("commit the backlog");
}

pub async fn drain() {
    println!("| backend | backlog (jobs) | drained in s | jobs/s | failed |");
    println!("|---|---|---|---|---|");
    xqt_tests::on_each_backend(async |b| {
        let ctx = b.context().await;
        for n in sizes() {
            assert_eq!(backlog_in(&ctx, &UNFINISHED).await, 0, "the runner left work behind");
            backlog(&ctx, n).await;
            let started = Instant::now();
            let runner = xqt_kernel::jobs::spawn(ctx.clone());
            while backlog_in(&ctx, &UNFINISHED).await > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let secs = started.elapsed().as_secs_f64();
            runner.abort();
            let _ = runner.await;
            let failed = backlog_in(&ctx, &[JobState::Failed]).await;
            println!("| {} | {n} | {secs:.2} | {:.0} | {failed} |", b.name, n as f64 / secs);
        }
    })
    .await;
}
