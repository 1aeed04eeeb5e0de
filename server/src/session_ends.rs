//! Which of this instance's sockets must close because their session ended. The instance follows
//! the one `SESSIONS_ENDED_TOPIC` on the bus (on every instance, through Redis) and wakes the
//! watches of that session; a gap in the bus (Redis lost, a reconnection) wakes every watch, and
//! each socket then asks whether its session is still active. A socket holds a watch, a few
//! dozen bytes, instead of a bus subscription with its own ring buffer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use uuid::Uuid;
use xqt_kernel::auth::SESSIONS_ENDED_TOPIC;
use xqt_kernel::bus::{BusEvent, EventBus};

#[derive(Default)]
struct Watches {
    by_session: HashMap<Uuid, watch::Sender<u64>>,
    /// Whether the topic is followed now; a watch is handed out only then.
    live: bool,
}

#[derive(Clone, Default)]
pub struct SessionEnds {
    watches: Arc<Mutex<Watches>>,
}

/// A socket's watch on its session: `changed()` resolves when the session may have ended.
pub struct SessionWatch {
    rx: watch::Receiver<u64>,
    session: Uuid,
    watches: Arc<Mutex<Watches>>,
}

impl SessionWatch {
    /// Resolves when the session's end was announced, or an announcement may have been missed.
    pub async fn changed(&mut self) {
        if self.rx.changed().await.is_err() {
            futures::future::pending::<()>().await;
        }
    }
}

impl Drop for SessionWatch {
    fn drop(&mut self) {
        let mut w = self.watches.lock().expect("session watches");
        // This watch's receiver is still counted here: it was the last one when the count is 1.
        if w.by_session.get(&self.session).is_some_and(|tx| tx.receiver_count() <= 1) {
            w.by_session.remove(&self.session);
        }
    }
}

impl SessionEnds {
    /// Follows the topic for as long as the process runs, subscribing again after a failure;
    /// returns once the first subscription is live (or has failed, to be retried).
    pub async fn start(bus: Arc<dyn EventBus>) -> Self {
        let ends = Self::default();
        let watches = Arc::clone(&ends.watches);
        let mut first = Some(bus.subscribe(SESSIONS_ENDED_TOPIC).await);
        if matches!(first, Some(Ok(_))) {
            watches.lock().expect("session watches").live = true;
        }
        tokio::spawn(async move {
            loop {
                let attempt = match first.take() {
                    Some(attempt) => attempt,
                    None => bus.subscribe(SESSIONS_ENDED_TOPIC).await,
                };
                let mut sub = match attempt {
                    Ok(sub) => sub,
                    Err(e) => {
                        tracing::warn!(error = ?e, "cannot follow ended sessions; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                // Whatever ended while nobody listened: every socket checks its session.
                wake_all(&watches, true);
                while let Some(event) = sub.recv().await {
                    match event {
                        BusEvent::Gap => wake_all(&watches, true),
                        BusEvent::Message(payload) => {
                            let Some(session) = std::str::from_utf8(&payload).ok().and_then(|s| s.parse().ok()) else {
                                continue;
                            };
                            if let Some(tx) = watches.lock().expect("session watches").by_session.get(&session) {
                                tx.send_modify(|n| *n += 1);
                            }
                        }
                    }
                }
                wake_all(&watches, false);
            }
        });
        ends
    }

    /// A watch on `session`, or `None` while ended sessions cannot be followed (the bus is down):
    /// the socket is then refused as one whose session cannot be checked.
    pub fn watch(&self, session: Uuid) -> Option<SessionWatch> {
        let mut w = self.watches.lock().expect("session watches");
        if !w.live {
            return None;
        }
        let rx = w.by_session.entry(session).or_insert_with(|| watch::channel(0).0).subscribe();
        Some(SessionWatch { rx, session, watches: Arc::clone(&self.watches) })
    }
}

fn wake_all(watches: &Mutex<Watches>, live: bool) {
    let mut w = watches.lock().expect("session watches");
    w.live = live;
    for tx in w.by_session.values() {
        tx.send_modify(|n| *n += 1);
    }
}
