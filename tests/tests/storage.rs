//! Cache, event bus and migrations: one contract, both implementations.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use xqt_kernel::bus::{BusEvent, EventBus, MemoryBus, RedisBus};
use xqt_kernel::cache::{Cache, MemoryCache, RedisCache};
use xqt_kernel::redis_conn;
use xqt_migrations::MigratorTrait;
use xqt_tests::on_each_backend;

/// The cache and the bus this backend's servers use (Redis ones on the external backend).
async fn parts(b: &xqt_tests::Backend) -> (Arc<dyn Cache>, Arc<dyn EventBus>) {
    let ctx = b.context().await;
    (ctx.cache.clone(), ctx.bus.clone())
}

#[tokio::test]
async fn cache_values_expire_and_counters_keep_their_first_expiry() {
    on_each_backend(async |b| {
        let (cache, _) = parts(b).await;
        assert_eq!(cache.get("k").await.unwrap(), None);
        cache.set("k", Bytes::from_static(b"v1"), Duration::from_millis(1500)).await.unwrap();
        assert_eq!(cache.get("k").await.unwrap(), Some(Bytes::from_static(b"v1")));
        let ttl = cache.ttl("k").await.unwrap().expect("has a ttl");
        assert!(ttl <= Duration::from_millis(1500) && ttl > Duration::ZERO);
        tokio::time::sleep(Duration::from_millis(1700)).await;
        assert_eq!(cache.get("k").await.unwrap(), None, "expired");
        assert_eq!(cache.ttl("k").await.unwrap(), None);

        assert!(cache.set_if_absent("once", Bytes::from_static(b"a"), Duration::from_secs(5)).await.unwrap());
        assert!(!cache.set_if_absent("once", Bytes::from_static(b"b"), Duration::from_secs(5)).await.unwrap());
        assert_eq!(cache.get("once").await.unwrap(), Some(Bytes::from_static(b"a")));
        assert!(cache.delete("once").await.unwrap());
        assert!(!cache.delete("once").await.unwrap());

        assert_eq!(cache.incr("hits", 1, Duration::from_millis(1500)).await.unwrap(), 1);
        assert_eq!(cache.incr("hits", 2, Duration::from_secs(60)).await.unwrap(), 3);
        // The window is the first increment's: it ends 1.5 s after it, not 60 s after the second.
        tokio::time::sleep(Duration::from_millis(1700)).await;
        assert_eq!(cache.incr("hits", 1, Duration::from_secs(60)).await.unwrap(), 1, "a new window");
    })
    .await;
}

#[tokio::test]
async fn concurrent_increments_are_not_lost() {
    on_each_backend(async |b| {
        let (cache, _) = parts(b).await;
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.incr("race", 1, Duration::from_secs(10)).await.unwrap() })
            })
            .collect();
        let mut seen: Vec<i64> = futures::future::join_all(tasks).await.into_iter().map(Result::unwrap).collect();
        seen.sort();
        assert_eq!(seen, (1..=50).collect::<Vec<_>>(), "each increment saw a distinct value");
    })
    .await;
}

#[tokio::test]
async fn bus_delivers_to_every_subscriber_of_a_topic_and_no_other() {
    on_each_backend(async |b| {
        let (_, bus) = parts(b).await;
        let mut a1 = bus.subscribe("a").await.unwrap();
        let mut a2 = bus.subscribe("a").await.unwrap();
        let mut other = bus.subscribe("b").await.unwrap();
        bus.publish("a", Bytes::from_static(b"one")).await.unwrap();
        bus.publish("a", Bytes::from_static(b"two")).await.unwrap();
        for sub in [&mut a1, &mut a2] {
            assert_eq!(sub.recv().await, Some(BusEvent::Message(Bytes::from_static(b"one").into())));
            assert_eq!(sub.recv().await, Some(BusEvent::Message(Bytes::from_static(b"two").into())));
        }
        let nothing = tokio::time::timeout(Duration::from_millis(200), other.recv()).await;
        assert!(nothing.is_err(), "topic b got nothing");
    })
    .await;
}

#[tokio::test]
async fn a_topic_is_resubscribed_after_its_last_subscriber_left() {
    on_each_backend(async |b| {
        let (_, bus) = parts(b).await;
        for round in 0..3u8 {
            let mut sub = bus.subscribe("churn").await.unwrap();
            bus.publish("churn", Bytes::from(vec![round])).await.unwrap();
            assert_eq!(sub.recv().await, Some(BusEvent::Message(Bytes::from(vec![round]).into())));
            drop(sub);
        }
    })
    .await;
}

#[tokio::test]
async fn a_slow_subscriber_is_told_it_missed_events() {
    let bus = MemoryBus::new();
    let mut slow = bus.subscribe("flood").await.unwrap();
    for i in 0..2000u32 {
        bus.publish("flood", Bytes::from(i.to_be_bytes().to_vec())).await.unwrap();
    }
    assert_eq!(slow.recv().await, Some(BusEvent::Gap), "a lagging subscriber learns it must re-read");
}

#[tokio::test]
#[ignore = "needs Redis: the embedded bus is exercised by the tests above"]
async fn redis_bus_delivers_across_instances_over_one_connection_each() {
    let url = std::env::var("XQT_TEST_REDIS_URL").expect(xqt_tests::NEEDS_SHARED);
    let prefix = format!("xqt_t_{}:", uuid::Uuid::new_v4().simple());
    let one = redis_conn::connect(&url).await.unwrap();
    let two = redis_conn::connect(&url).await.unwrap();
    let bus_one = RedisBus::new(one.manager, one.pushes, prefix.clone());
    let bus_two = RedisBus::new(two.manager, two.pushes, prefix.clone());
    let mut subs = Vec::new();
    for t in 0..20 {
        subs.push(bus_two.subscribe(&format!("topic{t}")).await.unwrap());
    }
    for t in 0..20 {
        bus_one.publish(&format!("topic{t}"), Bytes::from(format!("m{t}"))).await.unwrap();
    }
    for (t, sub) in subs.iter_mut().enumerate() {
        assert_eq!(sub.recv().await, Some(BusEvent::Message(Bytes::from(format!("m{t}")).into())));
    }
    // Twenty topics, one connection: this instance holds a single client in Redis.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let channels: Vec<String> =
        redis::cmd("PUBSUB").arg("CHANNELS").arg(format!("{prefix}*")).query_async(&mut admin).await.unwrap();
    assert_eq!(channels.len(), 20);
    let subscribers: Vec<redis::Value> =
        redis::cmd("PUBSUB").arg("NUMSUB").arg(format!("{prefix}bus:topic0")).query_async(&mut admin).await.unwrap();
    assert_eq!(
        redis::from_redis_value::<i64>(subscribers[1].clone()).unwrap(),
        1,
        "one subscription per instance, not per subscriber"
    );
}

#[tokio::test]
#[ignore = "needs Redis: it drops a Redis connection"]
async fn redis_bus_resubscribes_after_the_connection_drops() {
    let url = std::env::var("XQT_TEST_REDIS_URL").expect(xqt_tests::NEEDS_SHARED);
    let prefix = format!("xqt_t_{}:", uuid::Uuid::new_v4().simple());
    let conn = redis_conn::connect(&url).await.unwrap();
    let mut manager = conn.manager.clone();
    let name = format!("xqt-test-{}", uuid::Uuid::new_v4().simple());
    let _: () = redis::cmd("CLIENT").arg("SETNAME").arg(&name).query_async(&mut manager).await.unwrap();
    let bus = RedisBus::new(conn.manager, conn.pushes, prefix.clone());
    let mut sub = bus.subscribe("t").await.unwrap();

    let client = redis::Client::open(url.as_str()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let list: String = redis::cmd("CLIENT").arg("LIST").query_async(&mut admin).await.unwrap();
    let id = list
        .lines()
        .find(|l| l.contains(&format!("name={name} ")))
        .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
        .expect("our connection is listed")
        .to_owned();
    let _: i64 = redis::cmd("CLIENT").arg("KILL").arg("ID").arg(&id).query_async(&mut admin).await.unwrap();

    let event = tokio::time::timeout(Duration::from_secs(10), sub.recv()).await.expect("told of the drop");
    assert_eq!(event, Some(BusEvent::Gap), "subscribers learn they may have missed events");
    // Once reconnected and resubscribed, publishes arrive again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let publisher = client.get_multiplexed_async_connection().await.unwrap();
        let mut publisher = publisher;
        let _: i64 =
            redis::cmd("PUBLISH").arg(format!("{prefix}bus:t")).arg("after").query_async(&mut publisher).await.unwrap();
        match tokio::time::timeout(Duration::from_millis(300), sub.recv()).await {
            Ok(Some(BusEvent::Message(m))) => {
                assert_eq!(m.bytes(), &Bytes::from_static(b"after"));
                break;
            }
            Ok(Some(BusEvent::Gap)) | Err(_) => assert!(tokio::time::Instant::now() < deadline, "never resubscribed"),
            Ok(None) => panic!("bus closed"),
        }
    }
}

#[tokio::test]
async fn memory_and_redis_caches_share_the_contract_directly() {
    // The same calls through the concrete types, so neither can drift from the trait's meaning.
    let memory: Arc<dyn Cache> = Arc::new(MemoryCache::new(1000));
    let mut caches = vec![memory];
    if let Ok(url) = std::env::var("XQT_TEST_REDIS_URL") {
        let conn = redis_conn::connect(&url).await.unwrap();
        caches.push(Arc::new(RedisCache::new(conn.manager, format!("xqt_t_{}:", uuid::Uuid::new_v4().simple()))));
    }
    for cache in caches {
        cache.set("word", Bytes::from_static(b"not a number"), Duration::from_secs(5)).await.unwrap();
        assert!(cache.incr("word", 1, Duration::from_secs(5)).await.is_err(), "a non-counter cannot be incremented");
        assert_eq!(
            cache.get("word").await.unwrap(),
            Some(Bytes::from_static(b"not a number")),
            "and is left as it was"
        );
        cache.ping().await.unwrap();
        cache.delete("word").await.unwrap();
    }
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_roll_back() {
    on_each_backend(async |b| {
        let ctx = b.context().await;
        let backend = ctx.db.get_database_backend();
        let tables = async || -> Vec<String> {
            let sql = match backend {
                DatabaseBackend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
                _ => "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
            };
            let rows = ctx.db.query_all_raw(Statement::from_string(backend, sql)).await.unwrap();
            rows.iter().map(|r| r.try_get::<String>("", "name").unwrap()).collect()
        };
        assert!(tables().await.contains(&"notifications".to_owned()));
        xqt_migrations::Migrator::down(&ctx.db, None).await.unwrap();
        let left: Vec<String> = tables().await.into_iter().filter(|t| t != "seaql_migrations").collect();
        assert_eq!(left, Vec::<String>::new(), "every migration's down drops what its up made");
        xqt_migrations::Migrator::up(&ctx.db, None).await.unwrap();
        assert!(tables().await.contains(&"notifications".to_owned()));
        assert!(xqt_migrations::Migrator::get_pending_migrations(&ctx.db).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn the_embedded_database_is_a_wal_file_with_foreign_keys_on() {
    on_each_backend(async |b| {
        if b.is_external() {
            return;
        }
        let ctx = b.context().await;
        assert!(ctx.config.sqlite_path().exists(), "created on first start");
        let one = |sql: &'static str| {
            let db = ctx.db.clone();
            async move {
                let row =
                    db.query_one_raw(Statement::from_string(DatabaseBackend::Sqlite, sql)).await.unwrap().unwrap();
                row.try_get_by_index::<String>(0)
                    .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
                    .unwrap()
            }
        };
        assert_eq!(one("PRAGMA journal_mode").await, "wal");
        assert_eq!(one("PRAGMA foreign_keys").await, "1");
    })
    .await;
}
