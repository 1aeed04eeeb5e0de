//! An S3-compatible server for tests, in the test's own process: s3s (the S3 protocol, with
//! AWS Signature Version 4 checked against one access key) over s3s-fs (each bucket a folder).
//! A request signed with another secret is refused `SignatureDoesNotMatch`, as S3 refuses it.

use std::net::SocketAddr;
use std::path::PathBuf;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use xqt_kernel::config::{Config, FileStoreKind};

pub const ACCESS_KEY: &str = "XQTTESTACCESSKEY0001";
pub const SECRET_KEY: &str = "xqt-test-secret-key-0123456789abcdef";
pub const BUCKET: &str = "xqt-files";

pub struct S3Server {
    pub addr: SocketAddr,
    /// Where the objects are: `<root>/<bucket>/<key>`.
    pub root: PathBuf,
    _dir: tempfile::TempDir,
}

impl S3Server {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join(BUCKET)).expect("the bucket");
        let fs = s3s_fs::FileSystem::new(&root).expect("an s3s file system");
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let addr = listener.local_addr().expect("its address");
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(socket), service).await;
                });
            }
        });
        Self { addr, root, _dir: dir }
    }

    /// Points `[files]` at this server's bucket.
    pub fn configure(&self, config: &mut Config) {
        config.files.store = FileStoreKind::S3;
        config.files.s3_bucket = Some(BUCKET.into());
        config.files.s3_endpoint = Some(format!("http://{}", self.addr));
        config.files.s3_access_key_id = Some(ACCESS_KEY.into());
        config.files.s3_secret_access_key = Some(SECRET_KEY.into());
    }

    /// Every object key in the bucket.
    pub fn objects(&self) -> Vec<String> {
        let bucket = self.root.join(BUCKET);
        let mut keys = Vec::new();
        let mut stack = vec![bucket.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(key) = path.strip_prefix(&bucket) {
                    let key = key.to_string_lossy().into_owned();
                    // s3s-fs keeps its own bookkeeping beside the objects.
                    if !key.starts_with(".") && !key.contains("/.") {
                        keys.push(key);
                    }
                }
            }
        }
        keys
    }
}
