//! A TCP fault proxy for the fault tests: a loopback port that forwards to a real service
//! (Redis, PostgreSQL) until told to misbehave — delay every chunk, drop the path (a partition:
//! nothing arrives either way until it heals, as TCP holds what it cannot deliver), or go down
//! (every connection reset, new ones reset as they arrive). Every socket is set to linger 0, so
//! closing one is a reset the client sees at once, as when a server dies.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Bytes pass as they come.
    None,
    /// Each chunk waits this long before it is passed on.
    Delay(Duration),
    /// A partition: connections stay open and nothing passes either way until the fault is
    /// lifted; then what was sent meanwhile arrives (TCP loses no bytes, it retransmits).
    Drop,
    /// Every connection is reset and new ones are reset as they arrive.
    Down,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    fault: watch::Sender<Fault>,
    /// Faults injected: connections reset or refused, chunks delayed or dropped.
    injected: Arc<AtomicU64>,
    accept: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards each connection to `target` (`host:port`).
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let (fault, watching) = watch::channel(Fault::None);
        let injected = Arc::new(AtomicU64::new(0));
        let target = target.to_owned();
        let counted = injected.clone();
        let accept = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                let _ = client.set_zero_linger();
                if *watching.borrow() == Fault::Down {
                    counted.fetch_add(1, Ordering::Relaxed);
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target).await else { continue };
                let _ = server.set_zero_linger();
                let (watching, counted) = (watching.clone(), counted.clone());
                connections.spawn(splice(client, server, watching, counted));
            }
        });
        Self { addr, fault, injected, accept }
    }

    /// `scheme://…host:port/rest` of a real service's URL, pointed at this proxy instead.
    pub fn url_for(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let credentials = authority.rsplit_once('@').map(|(c, _)| format!("{c}@")).unwrap_or_default();
        let path = if path.is_empty() { String::new() } else { format!("/{path}") };
        format!("{scheme}://{credentials}{}{path}", self.addr)
    }

    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }

    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Both directions of one connection, until either side closes or the proxy goes down.
async fn splice(client: TcpStream, server: TcpStream, fault: watch::Receiver<Fault>, injected: Arc<AtomicU64>) {
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::select! {
        _ = pump(client_read, server_write, fault.clone(), injected.clone()) => {}
        _ = pump(server_read, client_write, fault.clone(), injected.clone()) => {}
        _ = went_down(fault) => { injected.fetch_add(1, Ordering::Relaxed); }
    }
    // Dropping both halves with linger 0 resets the connection.
}

async fn went_down(mut fault: watch::Receiver<Fault>) {
    while *fault.borrow_and_update() != Fault::Down {
        if fault.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    fault: watch::Receiver<Fault>,
    injected: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut fault = fault.clone();
        let now = *fault.borrow_and_update();
        match now {
            Fault::None => {}
            Fault::Delay(d) => {
                injected.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(d).await;
            }
            Fault::Drop => {
                injected.fetch_add(1, Ordering::Relaxed);
                // Held, not read further, until the partition heals (or the proxy goes down).
                while *fault.borrow_and_update() == Fault::Drop {
                    if fault.changed().await.is_err() {
                        return;
                    }
                }
                if *fault.borrow() == Fault::Down {
                    return;
                }
            }
            Fault::Down => return,
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
