//! The module contract: the registry collects every hook, and the notifications module's
//! hooks (export, erase, retention) work against real storage.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;
use xqt_kernel::module::{
    Blocker, CancellationBlockers, Erasure, Expire, LegalBasis, PersonalData, Purpose, RetentionAction, RetentionRule,
    Scope,
};
use xqt_kernel::{AppContext, AppResult, Module, Modules};
use xqt_notifications::inbox::{self, NewNotification};
use xqt_tests::on_each_backend;

#[derive(Default)]
struct Calls {
    exported: AtomicUsize,
    erased: AtomicUsize,
    blockers: AtomicUsize,
    expired: AtomicUsize,
}

struct Probe(Arc<Calls>);

struct Loader(&'static str);

#[async_trait]
impl PersonalData for Probe {
    async fn export(&self, _: &AppContext, user: Uuid) -> AppResult<serde_json::Value> {
        self.0.exported.fetch_add(1, Ordering::SeqCst);
        Ok(json!({ "user": user }))
    }
    async fn erase(&self, _: &AppContext, _: Uuid, erasure: &Erasure) -> AppResult<u64> {
        self.0.erased.fetch_add(1, Ordering::SeqCst);
        Ok(u64::from(erasure.covers("probe_data")))
    }
}

#[async_trait]
impl CancellationBlockers for Probe {
    async fn blockers(&self, _: &AppContext, _: Uuid) -> AppResult<Vec<Blocker>> {
        self.0.blockers.fetch_add(1, Ordering::SeqCst);
        Ok(vec![Blocker { code: "open_dispute".into(), description: "an open dispute".into(), due_on: None }])
    }
}

#[async_trait]
impl Expire for Probe {
    async fn expire(&self, _: &AppContext, _: DateTime<Utc>) -> AppResult<u64> {
        self.0.expired.fetch_add(1, Ordering::SeqCst);
        Ok(7)
    }
}

struct ProbeModule(Arc<Calls>);

struct LoaderQuery;

#[async_graphql::Object]
impl LoaderQuery {
    async fn loader(&self, ctx: &async_graphql::Context<'_>) -> Option<&'static str> {
        ctx.data_opt::<xqt_kernel::module::Loaders>().and_then(|l| l.get::<Loader>()).map(|l| l.0)
    }
}

impl Module for ProbeModule {
    fn name(&self) -> &'static str {
        "probe"
    }
    fn purposes(&self) -> Vec<Purpose> {
        vec![Purpose {
            id: "probe_location",
            description: "test",
            categories: vec!["probe_data"],
            sensitive: true,
            legal_basis: LegalBasis::Consent,
            separate_consent: true,
            retention_days: Some(30),
        }]
    }
    fn scopes(&self) -> Vec<Scope> {
        vec![Scope { id: "probe:read", description: "test" }]
    }
    fn add_loaders(&self, _: &AppContext, data: &mut async_graphql::Data) {
        data.insert(Loader("probe loader"));
    }
    fn personal_data(&self) -> Option<Arc<dyn PersonalData>> {
        Some(Arc::new(Probe(self.0.clone())))
    }
    fn cancellation_blockers(&self) -> Option<Arc<dyn CancellationBlockers>> {
        Some(Arc::new(Probe(self.0.clone())))
    }
    fn retention_rules(&self, _config: &xqt_kernel::config::Config) -> Vec<RetentionRule> {
        vec![RetentionRule {
            name: "probe_rows",
            category: "probe_data",
            keep_for: Duration::days(30),
            action: RetentionAction::Coarsen,
            apply: Arc::new(Probe(self.0.clone())),
        }]
    }
}

#[tokio::test]
async fn the_registry_collects_and_calls_every_hook() {
    on_each_backend(async |b| {
        let calls = Arc::new(Calls::default());
        let mut modules = xqt_schema::modules();
        modules.push(Arc::new(ProbeModule(calls.clone())));
        let registry = Modules::new(modules).unwrap();
        let ctx = AppContext::connect(b.config(), registry, Arc::new(b.clock.clone())).await.unwrap();
        xqt::migrate(&ctx).await.unwrap();
        let m = &ctx.modules;

        assert_eq!(m.names(), ["notifications", "accounts", "privacy", "chat", "cooperation", "attendance", "probe"]);
        assert_eq!(m.purpose("probe_location").map(|p| p.legal_basis), Some(LegalBasis::Consent));
        assert_eq!(m.purpose("service_notifications").map(|p| p.legal_basis), Some(LegalBasis::Contract));
        assert!(m.purpose("unregistered").is_none());
        let scopes: Vec<&str> = m.scopes().iter().map(|(_, s)| s.id).collect();
        assert_eq!(
            scopes,
            [
                "notifications:send",
                "accounts:organizations.read",
                "privacy:people.read",
                "privacy:statistics.read",
                "cooperation:read",
                "cooperation:write",
                "probe:read"
            ]
        );

        // What a module adds to the loaders is what a resolver of a schema holding them can read.
        let schema =
            async_graphql::Schema::build(LoaderQuery, async_graphql::EmptyMutation, async_graphql::EmptySubscription)
                .data(m.loaders(&ctx))
                .finish();
        let resp = schema.execute("{ loader }").await;
        assert_eq!(resp.data.into_json().unwrap(), json!({ "loader": "probe loader" }));
        let without =
            async_graphql::Schema::new(LoaderQuery, async_graphql::EmptyMutation, async_graphql::EmptySubscription);
        let resp = without.execute("{ loader }").await;
        assert_eq!(resp.data.into_json().unwrap(), json!({ "loader": null }));

        let user = Uuid::now_v7();
        let export = m.export(&ctx, user).await.unwrap();
        assert_eq!(export["probe"], json!({ "user": user }));
        assert_eq!(export["notifications"], json!({ "notifications": [], "pushes": [], "pushDevices": [] }));
        assert_eq!(
            export["chat"],
            json!({ "conversations": [], "membershipChanges": [], "messages": [], "attachments": [], "calls": [] })
        );
        let erased = m.erase(&ctx, user, &Erasure::Categories(vec!["probe_data".into()])).await.unwrap();
        assert_eq!(erased.get("probe"), Some(&1));
        assert_eq!(erased.get("notifications"), Some(&0), "notification content was not asked for");

        let blockers = m.cancellation_blockers(&ctx, user).await.unwrap();
        assert_eq!(
            blockers,
            vec![(
                "probe",
                Blocker { code: "open_dispute".into(), description: "an open dispute".into(), due_on: None }
            )]
        );
        let outcomes = m.run_retention(&ctx, ctx.clock.now()).await.unwrap();
        assert_eq!(
            outcomes.iter().map(|o| (o.module, o.rule)).collect::<Vec<_>>(),
            [
                ("notifications", "read_notifications"),
                ("notifications", "push_outbox"),
                ("accounts", "webhook_deliveries"),
                ("accounts", "security_log"),
                ("accounts", "sms_outbox"),
                ("privacy", "analytics_events"),
                ("privacy", "sharing_records"),
                ("chat", "unsent_attachments"),
                ("cooperation", "agreements_past_legal_hold"),
                ("attendance", "check_in_coordinates"),
                ("probe", "probe_rows")
            ]
        );
        assert_eq!(outcomes.last().map(|o| (o.rule, o.affected)), Some(("probe_rows", 7)));
        assert_eq!(
            (
                calls.exported.load(Ordering::SeqCst),
                calls.erased.load(Ordering::SeqCst),
                calls.blockers.load(Ordering::SeqCst),
                calls.expired.load(Ordering::SeqCst)
            ),
            (1, 1, 1, 1)
        );
    })
    .await;
}

#[test]
fn the_registry_refuses_inconsistent_declarations() {
    let calls = Arc::new(Calls::default());
    let twice: Vec<Arc<dyn Module>> = vec![Arc::new(ProbeModule(calls.clone())), Arc::new(ProbeModule(calls.clone()))];
    assert!(Modules::new(twice).err().expect("refused").0.contains("registered twice"));

    struct BadScope;
    impl Module for BadScope {
        fn name(&self) -> &'static str {
            "bad"
        }
        fn scopes(&self) -> Vec<Scope> {
            vec![Scope { id: "probe:read", description: "another module's namespace" }]
        }
    }
    assert!(Modules::new(vec![Arc::new(BadScope)]).err().expect("refused").0.contains("must start with `bad:`"));

    struct Bundled;
    impl Module for Bundled {
        fn name(&self) -> &'static str {
            "bundled"
        }
        fn purposes(&self) -> Vec<Purpose> {
            vec![Purpose {
                id: "x",
                description: "separate consent on a contract basis is a contradiction",
                categories: vec!["c"],
                sensitive: false,
                legal_basis: LegalBasis::Contract,
                separate_consent: true,
                retention_days: None,
            }]
        }
    }
    assert!(Modules::new(vec![Arc::new(Bundled)]).err().expect("refused").0.contains("separate consent"));

    // Two modules serving files under one `/links/<name>/` would shadow each other.
    struct Links(&'static str);
    #[async_trait::async_trait]
    impl xqt_kernel::links::LinkedFiles for Links {
        fn name(&self) -> &'static str {
            "reports"
        }
        async fn open(&self, _: &AppContext, _: &str) -> xqt_kernel::AppResult<xqt_kernel::uploads::Download> {
            unreachable!("never served")
        }
    }
    impl Module for Links {
        fn name(&self) -> &'static str {
            self.0
        }
        fn linked_files(&self) -> Vec<Arc<dyn xqt_kernel::links::LinkedFiles>> {
            vec![Arc::new(Links(self.0))]
        }
    }
    let shadowing: Vec<Arc<dyn Module>> = vec![Arc::new(Links("one")), Arc::new(Links("two"))];
    assert!(Modules::new(shadowing).err().expect("refused").0.contains("linked files `reports` declared twice"));

    // One module provides the privacy hooks; a second is refused.
    let twice: Vec<Arc<dyn Module>> = vec![Arc::new(xqt_privacy::Privacy), Arc::new(SecondPrivacy)];
    assert!(Modules::new(twice).err().expect("refused").0.contains("privacy hooks a second time"));
}

struct SecondPrivacy;
impl Module for SecondPrivacy {
    fn name(&self) -> &'static str {
        "second_privacy"
    }
    fn privacy_hooks(&self) -> Option<xqt_kernel::privacy::PrivacyHooks> {
        xqt_privacy::Privacy.privacy_hooks()
    }
}

#[tokio::test]
async fn without_a_privacy_module_consent_and_audit_fail_closed() {
    on_each_backend(async |b| {
        let registry = Modules::new(vec![Arc::new(ProbeModule(Arc::new(Calls::default())))]).unwrap();
        let ctx = AppContext::connect(b.config(), registry, Arc::new(b.clock.clone())).await.unwrap();
        let hooks = ctx.modules.privacy();
        let err = hooks.consent.require(&ctx, Uuid::now_v7(), "probe_location", None).await.unwrap_err();
        assert_eq!(err.code(), xqt_kernel::ErrorCode::Internal);
        let entry = xqt_kernel::privacy::AuditEntry {
            subject: None,
            action: xqt_kernel::privacy::AuditAction::Read,
            resource: "x".into(),
            fields: vec![],
            reason: None,
            allowed: true,
        };
        assert!(hooks.audit.record(&ctx, &xqt_kernel::Viewer::Anonymous, entry).await.is_err(), "no audit, no read");
    })
    .await;
}

#[tokio::test]
async fn notifications_export_erase_and_expire_through_the_contract() {
    on_each_backend(async |b| {
        let ctx = b.context().await;
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let note = |user, title: &str| NewNotification {
            user_id: user,
            kind: xqt_notifications::NotificationKind::Notice,
            title: title.into(),
            body: "正文".into(),
        };
        let old = inbox::notify(&ctx, note(alice, "old")).await.unwrap();
        inbox::mark_read(&ctx, alice, Some(old.id)).await.unwrap();
        inbox::notify(&ctx, note(alice, "unread")).await.unwrap();
        inbox::notify(&ctx, note(bob, "bob's")).await.unwrap();

        let export = ctx.modules.export(&ctx, alice).await.unwrap();
        let titles: Vec<&str> = export["notifications"]["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles, ["old", "unread"]);

        // 181 days on, the read one is past its retention; the unread one and bob's stay.
        b.clock.advance(Duration::days(181));
        let outcomes = ctx.modules.run_retention(&ctx, ctx.clock.now()).await.unwrap();
        assert_eq!(outcomes[0].affected, 1);
        assert_eq!(
            inbox::all_for(&ctx, alice).await.unwrap().iter().map(|n| n.title.as_str()).collect::<Vec<_>>(),
            ["unread"]
        );

        let erased = ctx.modules.erase(&ctx, alice, &Erasure::Everything).await.unwrap();
        assert_eq!(erased["notifications"], 1);
        assert!(inbox::all_for(&ctx, alice).await.unwrap().is_empty());
        assert_eq!(inbox::all_for(&ctx, bob).await.unwrap().len(), 1, "erasing alice leaves bob alone");
    })
    .await;
}
