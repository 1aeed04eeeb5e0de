//! The job runner: durable, safe with several instances, retrying with backoff, and surviving a
//! worker that dies mid-job without running a job twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Duration;
use serde_json::json;
use xqt_kernel::jobs::{self, JobHandler, JobState, Schedule};
use xqt_kernel::{AppContext, AppError, AppResult, Module, Modules};
use xqt_tests::{Backend, on_each_backend};

/// Counts runs per job payload `n`; fails while `fail` says so.
#[derive(Default)]
struct Probe {
    runs: Mutex<HashMap<i64, u32>>,
}

#[async_trait]
impl JobHandler for Probe {
    fn kind(&self) -> &'static str {
        "probe.count"
    }
    async fn run(&self, _: &AppContext, payload: &serde_json::Value) -> AppResult<()> {
        let n = payload["n"].as_i64().unwrap_or(-1);
        let runs = {
            let mut map = self.runs.lock().unwrap();
            let c = map.entry(n).or_default();
            *c += 1;
            *c
        };
        tokio::task::yield_now().await;
        if i64::from(runs) <= payload["fail"].as_i64().unwrap_or(0) {
            return Err(AppError::internal("probe failure"));
        }
        Ok(())
    }
}

struct ProbeModule(Arc<Probe>);

impl Module for ProbeModule {
    fn name(&self) -> &'static str {
        "probe"
    }
    fn job_handlers(&self) -> Vec<Arc<dyn JobHandler>> {
        vec![self.0.clone()]
    }
    fn schedules(&self, _: &xqt_kernel::config::Config) -> Vec<Schedule> {
        vec![Schedule { kind: "probe.count", every: Duration::hours(1) }]
    }
}

async fn instance(b: &Backend, probe: &Arc<Probe>, max_attempts: i32) -> AppContext {
    let mut modules = xqt_schema::modules();
    modules.push(Arc::new(ProbeModule(probe.clone())));
    let mut config = b.config();
    config.jobs.max_attempts = max_attempts;
    let ctx = AppContext::connect(config, Modules::new(modules).unwrap(), Arc::new(b.clock.clone())).await.unwrap();
    xqt::migrate(&ctx).await.unwrap();
    ctx
}

#[tokio::test]
async fn a_job_whose_worker_died_runs_once_after_its_lease_and_never_again() {
    on_each_backend(async |b| {
        let probe = Arc::new(Probe::default());
        let ctx = instance(b, &probe, 5).await;
        let id = jobs::enqueue(&ctx, "probe.count", json!({ "n": 1 }), ctx.clock.now(), None).await.unwrap().unwrap();

        // A worker takes the job and dies before finishing it.
        let taken = jobs::claim(&ctx, "doomed").await.unwrap().expect("claimed");
        assert_eq!((taken.id, taken.attempts, taken.state), (id, 1, JobState::Running));
        assert_eq!(jobs::run_once(&ctx, "survivor").await.unwrap(), None, "leased: nobody else runs it");

        // After a restart the lease runs out and the job runs, once.
        b.clock.advance(Duration::seconds(ctx.config.jobs.lease_secs + 1));
        let ran = jobs::run_once(&ctx, "survivor").await.unwrap().expect("taken over");
        assert_eq!((ran.id, ran.ok), (id, true));
        assert_eq!(jobs::run_once(&ctx, "survivor").await.unwrap(), None);
        b.clock.advance(Duration::hours(2));
        assert_eq!(jobs::run_once(&ctx, "survivor").await.unwrap(), None, "a finished job never runs again");
        assert_eq!(probe.runs.lock().unwrap().get(&1), Some(&1));
        let done = jobs::in_state(&ctx, JobState::Done).await.unwrap();
        assert_eq!((done.len(), done[0].attempts, done[0].worker.as_deref()), (1, 2, Some("survivor")));
    })
    .await;
}

#[tokio::test]
async fn a_claim_takes_lapsed_leases_first_then_the_oldest_due_jobs_up_to_its_count() {
    on_each_backend(async |b| {
        let probe = Arc::new(Probe::default());
        let ctx = instance(b, &probe, 5).await;
        let at = |secs: i64| ctx.clock.now() + Duration::seconds(secs);
        let enqueue = |n: i64, run_at| {
            let ctx = ctx.clone();
            async move { jobs::enqueue(&ctx, "probe.count", json!({ "n": n }), run_at, None).await.unwrap().unwrap() }
        };
        let lapsed = enqueue(0, at(-10)).await;
        assert_eq!(jobs::claim(&ctx, "doomed").await.unwrap().map(|j| j.id), Some(lapsed));
        // Due jobs queued after it, in no order of their due times, some of them older than it.
        let (third, first, second) = (enqueue(3, at(-5)).await, enqueue(1, at(-60)).await, enqueue(2, at(-30)).await);
        let later = enqueue(9, at(3600)).await;
        b.clock.advance(Duration::seconds(ctx.config.jobs.lease_secs + 1));

        let one = jobs::claim_many(&ctx, "w", 1).await.unwrap();
        assert_eq!(one.iter().map(|j| (j.id, j.attempts)).collect::<Vec<_>>(), [(lapsed, 2)], "its worker died");
        let rest = jobs::claim_many(&ctx, "w", 10).await.unwrap();
        assert_eq!(rest.iter().map(|j| j.id).collect::<Vec<_>>(), [first, second, third], "oldest first");
        assert!(rest.iter().all(|j| j.state == JobState::Running && j.worker.as_deref() == Some("w")), "{rest:?}");
        assert!(jobs::claim_many(&ctx, "x", 10).await.unwrap().is_empty(), "leased, and the last not due: {later}");
    })
    .await;
}

#[tokio::test]
async fn two_instances_share_the_queue_and_each_job_runs_once() {
    on_each_backend(async |b| {
        let probe = Arc::new(Probe::default());
        let (one, two) = (instance(b, &probe, 5).await, instance(b, &probe, 5).await);
        for n in 0..40 {
            jobs::enqueue(&one, "probe.count", json!({ "n": n }), one.clock.now(), None).await.unwrap();
        }
        let drain = |ctx: AppContext, worker: &'static str| async move {
            let mut count = 0;
            while jobs::run_once(&ctx, worker).await.unwrap().is_some() {
                count += 1;
            }
            count
        };
        let (a, c) = tokio::join!(tokio::spawn(drain(one.clone(), "one")), tokio::spawn(drain(two.clone(), "two")));
        assert_eq!(a.unwrap() + c.unwrap(), 40);
        let runs = probe.runs.lock().unwrap().clone();
        assert_eq!(runs.len(), 40);
        assert!(runs.values().all(|&r| r == 1), "no job ran twice: {runs:?}");
        assert_eq!(jobs::in_state(&one, JobState::Done).await.unwrap().len(), 40);

        // The runners themselves, each claiming as many jobs at once as it has free slots.
        for n in 40..240 {
            jobs::enqueue(&two, "probe.count", json!({ "n": n }), two.clock.now(), None).await.unwrap();
        }
        let runners = [jobs::spawn(one.clone()), jobs::spawn(two.clone())];
        let ours = || {
            probe
                .runs
                .lock()
                .unwrap()
                .iter()
                .filter(|(n, _)| **n >= 0)
                .map(|(n, r)| (*n, *r))
                .collect::<HashMap<_, _>>()
        };
        for _ in 0..1500 {
            if ours().len() == 240 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // Time for a second run, if any job were claimed twice.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        runners.iter().for_each(|r| r.abort());
        // (`n` = -1: the probe's hourly schedule, which the runners queue themselves.)
        let runs = ours();
        assert_eq!(runs.len(), 240, "both runners drained the queue");
        assert!(runs.values().all(|&r| r == 1), "no job ran twice: {runs:?}");
    })
    .await;
}

#[tokio::test]
async fn failures_retry_with_backoff_and_give_up_at_the_limit() {
    on_each_backend(async |b| {
        let probe = Arc::new(Probe::default());
        let ctx = instance(b, &probe, 2).await;
        jobs::enqueue(&ctx, "probe.count", json!({ "n": 1, "fail": 1 }), ctx.clock.now(), None).await.unwrap();
        jobs::enqueue(&ctx, "probe.count", json!({ "n": 2, "fail": 5 }), ctx.clock.now(), None).await.unwrap();
        let first: Vec<bool> = [jobs::run_once(&ctx, "w").await, jobs::run_once(&ctx, "w").await]
            .into_iter()
            .map(|r| r.unwrap().unwrap().ok)
            .collect();
        assert_eq!(first, [false, false]);
        assert_eq!(jobs::run_once(&ctx, "w").await.unwrap(), None, "waiting out the backoff");
        let queued = jobs::in_state(&ctx, JobState::Queued).await.unwrap();
        let retry_at = ctx.clock.now() + jobs::backoff(1);
        assert!(
            queued.iter().all(|j| (j.run_at - retry_at).num_milliseconds() == 0 && j.last_error.is_some()),
            "{queued:?}"
        );
        b.clock.advance(Duration::seconds(31));
        assert!(jobs::run_once(&ctx, "w").await.unwrap().is_some());
        assert!(jobs::run_once(&ctx, "w").await.unwrap().is_some());
        assert_eq!(jobs::in_state(&ctx, JobState::Done).await.unwrap().len(), 1, "the one that failed once succeeded");
        let failed = jobs::in_state(&ctx, JobState::Failed).await.unwrap();
        assert_eq!((failed.len(), failed[0].attempts), (1, 2), "the other gave up after two tries");
    })
    .await;
}

#[tokio::test]
async fn a_schedule_is_queued_once_per_period_across_instances() {
    on_each_backend(async |b| {
        let probe = Arc::new(Probe::default());
        let (one, two) = (instance(b, &probe, 5).await, instance(b, &probe, 5).await);
        for ctx in [&one, &two, &one] {
            jobs::schedule_due(ctx).await.unwrap();
        }
        let probes = |ctx: &AppContext| {
            let ctx = ctx.clone();
            async move {
                jobs::in_state(&ctx, JobState::Queued)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|j| j.kind == "probe.count")
                    .count()
            }
        };
        assert_eq!(probes(&one).await, 1);
        b.clock.advance(Duration::hours(1));
        jobs::schedule_due(&two).await.unwrap();
        assert_eq!(probes(&one).await, 2, "the next period's run");
        let twice = jobs::enqueue(&one, "probe.count", json!({}), one.clock.now(), Some("k".into())).await.unwrap();
        let again = jobs::enqueue(&two, "probe.count", json!({}), two.clock.now(), Some("k".into())).await.unwrap();
        assert!(twice.is_some() && again.is_none());
    })
    .await;
}

#[tokio::test]
async fn the_server_runs_jobs_by_itself_when_enabled() {
    on_each_backend(async |b| {
        let srv = b
            .start_with(|c| {
                c.jobs.enabled = true;
                c.jobs.poll_interval_ms = 20;
            })
            .await;
        // The privacy module's schedules are queued and run without anyone asking.
        for _ in 0..250 {
            let done = jobs::in_state(&srv.ctx, JobState::Done).await.unwrap();
            if done.iter().any(|j| j.kind == "privacy.retention") && done.iter().any(|j| j.kind == "privacy.erasure") {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the runner did not run the scheduled jobs");
    })
    .await;
}

#[tokio::test]
async fn finished_jobs_are_purged_after_their_keeping_period_and_queued_ones_never() {
    on_each_backend(async |b| {
        let probe = Arc::new(Probe::default());
        let ctx = instance(b, &probe, 1).await;
        let now = ctx.clock.now();
        jobs::enqueue(&ctx, "probe.count", json!({ "n": 1 }), now, None).await.unwrap();
        jobs::enqueue(&ctx, "probe.count", json!({ "n": 2, "fail": 9 }), now, None).await.unwrap();
        let later =
            jobs::enqueue(&ctx, "probe.count", json!({ "n": 3 }), now + Duration::days(90), None).await.unwrap();
        while jobs::run_once(&ctx, "w").await.unwrap().is_some() {}
        let count = |state: JobState| {
            let ctx = ctx.clone();
            async move { jobs::in_state(&ctx, state).await.unwrap().len() }
        };
        assert_eq!((count(JobState::Done).await, count(JobState::Failed).await), (1, 1));
        b.clock.advance(Duration::hours(23));
        jobs::schedule_due(&ctx).await.unwrap();
        assert_eq!((count(JobState::Done).await, count(JobState::Failed).await), (1, 1), "kept a day");
        b.clock.advance(Duration::hours(2));
        jobs::schedule_due(&ctx).await.unwrap();
        assert_eq!((count(JobState::Done).await, count(JobState::Failed).await), (0, 1), "done ones go after a day");
        b.clock.advance(Duration::days(30));
        jobs::schedule_due(&ctx).await.unwrap();
        assert_eq!(count(JobState::Failed).await, 0, "failed ones after thirty");
        let queued = jobs::in_state(&ctx, JobState::Queued).await.unwrap();
        assert!(queued.iter().any(|j| Some(j.id) == later), "a job not yet due is never purged");
    })
    .await;
}

/// Waits until `width` of its jobs run at the same moment.
struct Gate(tokio::sync::Barrier);

#[async_trait]
impl JobHandler for Gate {
    fn kind(&self) -> &'static str {
        "gate.wait"
    }
    async fn run(&self, _: &AppContext, _: &serde_json::Value) -> AppResult<()> {
        self.0.wait().await;
        Ok(())
    }
}

struct GateModule(Arc<Gate>);

impl Module for GateModule {
    fn name(&self) -> &'static str {
        "gate"
    }
    fn job_handlers(&self) -> Vec<Arc<dyn JobHandler>> {
        vec![self.0.clone()]
    }
}

#[tokio::test]
async fn the_runner_works_several_jobs_at_once() {
    on_each_backend(async |b| {
        // Four jobs that can only finish together: a runner taking one at a time never ends them.
        const WIDTH: usize = 4;
        let gate = Arc::new(Gate(tokio::sync::Barrier::new(WIDTH)));
        let mut modules = xqt_schema::modules();
        modules.push(Arc::new(GateModule(gate)));
        let mut config = b.config();
        config.jobs.concurrency = WIDTH;
        config.jobs.poll_interval_ms = 50;
        let ctx = AppContext::connect(config, Modules::new(modules).unwrap(), Arc::new(b.clock.clone())).await.unwrap();
        xqt::migrate(&ctx).await.unwrap();
        let mut ids = Vec::new();
        for n in 0..WIDTH {
            ids.push(
                jobs::enqueue(&ctx, "gate.wait", json!({ "n": n }), ctx.clock.now(), None).await.unwrap().unwrap(),
            );
        }
        let runner = jobs::spawn(ctx.clone());
        let all_done = async {
            loop {
                let done = jobs::in_state(&ctx, JobState::Done).await.unwrap();
                if ids.iter().all(|id| done.iter().any(|j| j.id == *id)) {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        };
        let finished = tokio::time::timeout(std::time::Duration::from_secs(60), all_done).await;
        runner.abort();
        assert!(finished.is_ok(), "the {WIDTH} jobs never ran together: the runner takes one at a time");
    })
    .await;
}
