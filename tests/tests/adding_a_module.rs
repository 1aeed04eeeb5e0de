//! README's "Adding a module", proven: a module written only here contributes a config section,
//! an upload purpose (with downloads), a processing purpose, a job, a DataLoader and root fields,
//! and the API assembled with it (one more line in `assemble!`) serves all of them — no other
//! file knows it exists. It has no tables, so no migrations.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use figment::Figment;
use figment::providers::{Format, Toml};
use serde_json::{Value, json};
use xqt_kernel::config::{Config, ConfigSection};
use xqt_tests::on_each_backend;

/// The example module, as a crate of its own would hold it (`example::Example`,
/// `example::graphql::{Query, Mutation, Subscription}`).
mod example {
    use std::collections::HashMap;
    use std::sync::Arc;

    use async_trait::async_trait;
    use serde::{Deserialize, Serialize};
    use serde_json::{Value, json};
    use uuid::Uuid;
    use xqt_kernel::config::{ConfigSection, SectionSpec};
    use xqt_kernel::jobs::JobHandler;
    use xqt_kernel::module::{LegalBasis, Purpose};
    use xqt_kernel::uploads::{Content, Download, Downloads, Params, Upload, UploadHandler, UploadPurpose};
    use xqt_kernel::{AppContext, AppResult, Module, Viewer, ids};

    pub const JOB: &str = "example.count";

    /// `[example]`: what the module greets people with.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct ExampleConfig {
        pub greeting: String,
    }

    impl Default for ExampleConfig {
        fn default() -> Self {
            Self { greeting: "你好".into() }
        }
    }

    impl ConfigSection for ExampleConfig {
        const NAME: &'static str = "example";
        fn validate(&self) -> Result<(), String> {
            if self.greeting.trim().is_empty() { Err("greeting must not be empty".into()) } else { Ok(()) }
        }
    }

    pub struct Example;

    impl Module for Example {
        fn name(&self) -> &'static str {
            "example"
        }
        fn config(&self) -> Option<SectionSpec> {
            Some(SectionSpec::of::<ExampleConfig>())
        }
        fn purposes(&self) -> Vec<Purpose> {
            vec![Purpose {
                id: "example_notes",
                description: "Short notes a person keeps for themselves",
                categories: vec!["example_note"],
                sensitive: false,
                legal_basis: LegalBasis::Contract,
                separate_consent: false,
                retention_days: None,
            }]
        }
        fn upload_purposes(&self) -> Vec<UploadPurpose> {
            vec![UploadPurpose {
                id: "example_note",
                description: "a plain-text note",
                max_bytes: 64,
                content: Content::Sniffed(&["text/plain; charset=utf-8"]),
                handler: Arc::new(Notes),
            }]
        }
        fn downloads(&self) -> Option<Arc<dyn Downloads>> {
            Some(Arc::new(Notes))
        }
        fn job_handlers(&self) -> Vec<Arc<dyn JobHandler>> {
            vec![Arc::new(Count)]
        }
        fn add_loaders(&self, _ctx: &AppContext, data: &mut async_graphql::Data) {
            data.insert(async_graphql::dataloader::DataLoader::new(graphql::Shout, xqt_kernel::spawn));
        }
    }

    /// Who owns each stored note (a real module keeps this in its own table).
    static OWNERS: std::sync::LazyLock<std::sync::Mutex<HashMap<Uuid, Uuid>>> =
        std::sync::LazyLock::new(Default::default);

    pub struct Notes;

    #[async_trait]
    impl UploadHandler for Notes {
        async fn allow(&self, _ctx: &AppContext, viewer: &Viewer, _params: &Params) -> AppResult<()> {
            viewer.require_person().map(|_| ())
        }
        async fn store(&self, ctx: &AppContext, viewer: &Viewer, _: &Params, upload: Upload) -> AppResult<Value> {
            let (owner, id) = (viewer.require_person()?, ids::new_id());
            ctx.files.put(&format!("example/{id}"), upload.bytes).await?;
            OWNERS.lock().unwrap().insert(id, owner);
            Ok(json!({ "id": id, "contentType": upload.content_type, "url": format!("/files/{id}") }))
        }
    }

    #[async_trait]
    impl Downloads for Notes {
        async fn open(&self, ctx: &AppContext, viewer: &Viewer, id: Uuid) -> AppResult<Option<Download>> {
            let Some(owner) = OWNERS.lock().unwrap().get(&id).copied() else { return Ok(None) };
            if viewer.require_person()? != owner {
                return Err(xqt_kernel::AppError::not_found("file"));
            }
            let bytes = ctx.files.get(&format!("example/{id}")).await?;
            Ok(Some(Download { content_type: "text/plain; charset=utf-8".into(), bytes, as_attachment: false }))
        }
    }

    pub struct Count;

    #[async_trait]
    impl JobHandler for Count {
        fn kind(&self) -> &'static str {
            JOB
        }
        async fn run(&self, _ctx: &AppContext, payload: &Value) -> AppResult<()> {
            super::COUNTED.fetch_add(payload["by"].as_u64().unwrap_or(0) as usize, super::Ordering::SeqCst);
            Ok(())
        }
    }

    pub mod graphql {
        use std::collections::HashMap;

        use async_graphql::dataloader::Loader;
        use async_graphql::{Context, Object, Subscription};
        use futures::Stream;

        use super::ExampleConfig;

        /// Upper-cases names in one batch per request.
        pub struct Shout;

        impl Loader<String> for Shout {
            type Value = String;
            type Error = async_graphql::Error;
            async fn load(&self, keys: &[String]) -> Result<HashMap<String, String>, Self::Error> {
                Ok(keys.iter().map(|k| (k.clone(), k.to_uppercase())).collect())
            }
        }

        // Roots are named after the module: every module's are merged into one `Query`.
        pub type Query = ExampleQuery;
        pub type Mutation = ExampleMutation;
        pub type Subscription = ExampleSubscription;

        #[derive(Default)]
        pub struct ExampleQuery;

        #[Object]
        impl ExampleQuery {
            /// The configured greeting for a name, through the module's loader.
            async fn example_greeting(&self, ctx: &Context<'_>, name: String) -> async_graphql::Result<String> {
                let (app, viewer) = xqt_kernel::from_graphql(ctx);
                viewer.require_person()?;
                let loud = xqt_kernel::module::loader::<Shout>(ctx).load_one(name).await?.unwrap_or_default();
                Ok(format!("{}，{loud}", app.config.section::<ExampleConfig>().greeting))
            }
        }

        #[derive(Default)]
        pub struct ExampleMutation;

        #[Object]
        impl ExampleMutation {
            /// Queues the module's job.
            async fn example_count(&self, ctx: &Context<'_>, by: u32) -> async_graphql::Result<bool> {
                let (app, viewer) = xqt_kernel::from_graphql(ctx);
                viewer.require_person()?;
                let queued =
                    xqt_kernel::jobs::enqueue(app, super::JOB, serde_json::json!({ "by": by }), app.clock.now(), None)
                        .await?;
                Ok(queued.is_some())
            }
        }

        #[derive(Default)]
        pub struct ExampleSubscription;

        #[Subscription]
        impl ExampleSubscription {
            async fn example_ticks(&self) -> impl Stream<Item = i32> {
                futures::stream::iter([1, 2, 3])
            }
        }
    }
}

static COUNTED: AtomicUsize = AtomicUsize::new(0);

/// The platform's API with the example added: the one line an author writes.
mod with_example {
    use super::example;
    xqt_schema::assemble!(
        xqt_notifications::Notifications,
        xqt_accounts::Accounts,
        xqt_privacy::Privacy,
        xqt_chat::Chat,
        example::Example
    );
}

#[tokio::test]
async fn a_module_added_with_one_line_contributes_config_uploads_purposes_jobs_loaders_and_root_fields() {
    on_each_backend(async |b| {
        // Config: its section is read with everything else, checked, and unknown without it.
        let source = || Figment::from(Toml::string("[example]\ngreeting = \"早上好\"\n"));
        let sections = xqt_kernel::module::config_sections(&with_example::modules());
        let loaded = Config::from_figment(source(), &sections).expect("the example's section loads");
        assert_eq!(loaded.section::<example::ExampleConfig>().greeting, "早上好");
        let platform = xqt_kernel::module::config_sections(&xqt_schema::modules());
        assert!(Config::from_figment(source(), &platform).is_err(), "without the module, [example] is unknown");
        let empty = Figment::from(Toml::string("[example]\ngreeting = \" \"\n"));
        assert!(Config::from_figment(empty, &sections).unwrap_err().to_string().contains("example.greeting"));
        assert_eq!(<example::ExampleConfig as ConfigSection>::NAME, "example");

        let mut config = b.config();
        config.sections = loaded.sections.clone();
        let srv = b.start_assembled(config, with_example::modules(), |ctx| Arc::new(with_example::build(ctx))).await;
        let person = srv.person().await;

        // A root field, served through its loader and reading its config.
        let a = srv.ok("{ exampleGreeting(name: \"xiaoming\") }", json!({}), Some(&person.token)).await;
        assert_eq!(a["exampleGreeting"], "早上好，XIAOMING");
        // Its purpose is registered like every other.
        let purposes = srv.ok("{ purposes { id module legalBasis } }", json!({}), None).await;
        let mine: Vec<&Value> =
            purposes["purposes"].as_array().unwrap().iter().filter(|p| p["module"] == "example").collect();
        assert_eq!(mine, [&json!({ "id": "example_notes", "module": "example", "legalBasis": "CONTRACT" })]);
        // Its job runs in the platform's runner.
        let before = COUNTED.load(Ordering::SeqCst);
        srv.ok("mutation { exampleCount(by: 3) }", json!({}), Some(&person.token)).await;
        while xqt_kernel::jobs::run_once(&srv.ctx, "test").await.unwrap().is_some() {}
        assert_eq!(COUNTED.load(Ordering::SeqCst) - before, 3);

        // Its upload purpose, through the one upload path: content checked, limit kept, owner only.
        let post = |body: Vec<u8>, token: &str| {
            srv.http.post(srv.url("/files?purpose=example_note")).bearer_auth(token).body(body).send()
        };
        let r = post("实习周记：第一周".as_bytes().to_vec(), &person.token).await.unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let note: Value = r.json().await.unwrap();
        assert_eq!(note["contentType"], "text/plain; charset=utf-8");
        let r = post(b"%PDF-1.7".iter().chain(&[0u8]).copied().collect(), &person.token).await.unwrap();
        assert_eq!(r.status().as_u16(), 400, "not text");
        let r = post(vec![b'a'; 65], &person.token).await.unwrap();
        assert_eq!(r.status().as_u16(), 413, "over the purpose's limit");
        let url = srv.url(note["url"].as_str().unwrap());
        let got = srv.http.get(&url).bearer_auth(&person.token).send().await.unwrap();
        assert_eq!(got.status().as_u16(), 200);
        assert_eq!(got.text().await.unwrap(), "实习周记：第一周");
        let stranger = srv.person().await;
        assert_eq!(srv.http.get(&url).bearer_auth(&stranger.token).send().await.unwrap().status().as_u16(), 404);
    })
    .await;
}
