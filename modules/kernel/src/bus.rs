//! Live delivery between server instances. Publishers hand a payload to a topic; every
//! subscriber of that topic on every instance receives it. Delivery is best-effort: the durable
//! copy is in the database, and a `Gap` tells a subscriber to re-read it (lag or reconnect).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use redis::aio::ConnectionManager;
use redis::{PushInfo, PushKind};
use tokio::sync::{OnceCell, broadcast, mpsc};

use crate::error::{AppError, AppResult};

/// How many undelivered events one local subscriber may fall behind before it sees a `Gap`.
const SUBSCRIBER_BUFFER: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusEvent {
    Message(Payload),
    /// Events may have been missed; re-read durable state before going on.
    Gap,
}

/// A published payload as every local subscriber of its topic receives it: one allocation shared
/// by all of them, with room for its decoded form, so a thousand followers of a conversation
/// decode a message once, not a thousand times.
#[derive(Clone)]
pub struct Payload(Arc<PayloadInner>);

struct PayloadInner {
    bytes: Bytes,
    decoded: std::sync::OnceLock<Arc<dyn std::any::Any + Send + Sync>>,
}

impl Payload {
    pub fn new(bytes: Bytes) -> Self {
        Self(Arc::new(PayloadInner { bytes, decoded: std::sync::OnceLock::new() }))
    }

    pub fn bytes(&self) -> &Bytes {
        &self.0.bytes
    }

    /// The payload decoded by `decode`, decoded by the first subscriber that asks and shared with
    /// the rest. Subscribers of one topic decode it as one type; a reader asking for another type
    /// decodes its own copy.
    pub fn decoded<T: Send + Sync + 'static>(&self, decode: impl Fn(&[u8]) -> T) -> Arc<T> {
        let shared =
            self.0.decoded.get_or_init(|| Arc::new(decode(&self.0.bytes)) as Arc<dyn std::any::Any + Send + Sync>);
        match Arc::clone(shared).downcast::<T>() {
            Ok(t) => t,
            Err(_) => Arc::new(decode(&self.0.bytes)),
        }
    }
}

impl std::ops::Deref for Payload {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0.bytes
    }
}

impl From<Bytes> for Payload {
    fn from(bytes: Bytes) -> Self {
        Self::new(bytes)
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.0.bytes == other.0.bytes
    }
}

impl Eq for Payload {}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Payload({:?})", self.0.bytes)
    }
}

#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    async fn publish(&self, topic: &str, payload: Bytes) -> AppResult<()>;
    /// Returns once the subscription is live: anything published after this returns is received.
    async fn subscribe(&self, topic: &str) -> AppResult<BusSubscription>;
    async fn ping(&self) -> AppResult<()>;
}

pub struct BusSubscription {
    receiver: broadcast::Receiver<BusEvent>,
    _membership: Membership,
}

impl BusSubscription {
    /// The next event, or `None` when the bus shut down.
    pub async fn recv(&mut self) -> Option<BusEvent> {
        match self.receiver.recv().await {
            Ok(event) => Some(event),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(BusEvent::Gap),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    pub fn into_stream(self) -> impl Stream<Item = BusEvent> + Send + 'static {
        futures::stream::unfold(self, |mut sub| async move { sub.recv().await.map(|e| (e, sub)) })
    }
}

struct Topic {
    sender: broadcast::Sender<BusEvent>,
    subscribers: usize,
    /// Set once the remote subscription (if any) is confirmed.
    ready: Arc<OnceCell<()>>,
}

/// This instance's topics and their local subscribers; shared by both bus implementations.
#[derive(Default)]
struct LocalTopics {
    topics: Mutex<HashMap<String, Topic>>,
}

impl LocalTopics {
    fn join(
        self: &Arc<Self>,
        topic: &str,
        on_empty: Option<mpsc::UnboundedSender<String>>,
    ) -> (BusSubscription, Arc<OnceCell<()>>) {
        let mut topics = self.topics.lock().expect("bus lock");
        let entry = topics.entry(topic.to_owned()).or_insert_with(|| Topic {
            sender: broadcast::channel(SUBSCRIBER_BUFFER).0,
            subscribers: 0,
            ready: Arc::new(OnceCell::new()),
        });
        entry.subscribers += 1;
        let subscription = BusSubscription {
            receiver: entry.sender.subscribe(),
            _membership: Membership { topics: Arc::clone(self), topic: topic.to_owned(), on_empty },
        };
        (subscription, Arc::clone(&entry.ready))
    }

    fn deliver(&self, topic: &str, event: BusEvent) {
        if let Some(t) = self.topics.lock().expect("bus lock").get(topic) {
            let _ = t.sender.send(event);
        }
    }

    fn deliver_all(&self, event: BusEvent) {
        for t in self.topics.lock().expect("bus lock").values() {
            let _ = t.sender.send(event.clone());
        }
    }

    fn has(&self, topic: &str) -> bool {
        self.topics.lock().expect("bus lock").contains_key(topic)
    }
}

/// Leaves the topic when the subscription is dropped; the last one out removes it.
struct Membership {
    topics: Arc<LocalTopics>,
    topic: String,
    on_empty: Option<mpsc::UnboundedSender<String>>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        let mut topics = self.topics.topics.lock().expect("bus lock");
        if let Some(t) = topics.get_mut(&self.topic) {
            t.subscribers -= 1;
            if t.subscribers == 0 {
                topics.remove(&self.topic);
                if let Some(tx) = &self.on_empty {
                    let _ = tx.send(self.topic.clone());
                }
            }
        }
    }
}

/// The embedded default: one process, broadcast channels.
#[derive(Default)]
pub struct MemoryBus {
    topics: Arc<LocalTopics>,
}

impl MemoryBus {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl EventBus for MemoryBus {
    async fn publish(&self, topic: &str, payload: Bytes) -> AppResult<()> {
        self.topics.deliver(topic, BusEvent::Message(payload.into()));
        Ok(())
    }

    async fn subscribe(&self, topic: &str) -> AppResult<BusSubscription> {
        Ok(self.topics.join(topic, None).0)
    }

    async fn ping(&self) -> AppResult<()> {
        Ok(())
    }
}

/// Redis pub/sub over the instance's one connection: each topic is subscribed once per instance
/// and fanned out locally; the subscription is dropped when its last local subscriber leaves.
pub struct RedisBus {
    manager: ConnectionManager,
    prefix: String,
    topics: Arc<LocalTopics>,
    /// SUBSCRIBE and UNSUBSCRIBE are issued one at a time so they cannot overtake each other.
    commands: Arc<tokio::sync::Mutex<()>>,
    emptied: mpsc::UnboundedSender<String>,
    breaker: crate::redis_conn::Breaker,
}

impl RedisBus {
    pub fn new(
        manager: ConnectionManager,
        pushes: mpsc::UnboundedReceiver<PushInfo>,
        prefix: impl Into<String>,
    ) -> Self {
        let prefix = format!("{}bus:", prefix.into());
        let topics = Arc::new(LocalTopics::default());
        let commands = Arc::new(tokio::sync::Mutex::new(()));
        let (emptied, emptied_rx) = mpsc::unbounded_channel();
        tokio::spawn(dispatch_pushes(pushes, Arc::clone(&topics), prefix.clone()));
        tokio::spawn(unsubscribe_emptied(
            emptied_rx,
            manager.clone(),
            Arc::clone(&topics),
            Arc::clone(&commands),
            prefix.clone(),
        ));
        // Events published while Redis could not be reached were lost: once it answers again,
        // every subscriber here is told to re-read durable state, as after a disconnection.
        let gap = Arc::clone(&topics);
        let breaker =
            crate::redis_conn::Breaker::new(manager.clone()).on_recovery(move || gap.deliver_all(BusEvent::Gap));
        Self { breaker, manager, prefix, topics, commands, emptied }
    }
}

async fn dispatch_pushes(mut pushes: mpsc::UnboundedReceiver<PushInfo>, topics: Arc<LocalTopics>, prefix: String) {
    while let Some(push) = pushes.recv().await {
        match push.kind {
            PushKind::Message => {
                let mut data = push.data.into_iter();
                let (Some(channel), Some(payload)) = (data.next(), data.next()) else { continue };
                let (Ok(channel), Ok(payload)) =
                    (redis::from_redis_value::<String>(channel), redis::from_redis_value::<Vec<u8>>(payload))
                else {
                    continue;
                };
                if let Some(topic) = channel.strip_prefix(&prefix) {
                    topics.deliver(topic, BusEvent::Message(Bytes::from(payload).into()));
                }
            }
            PushKind::Disconnection => {
                tracing::warn!("redis connection lost; subscribers told to re-read durable state");
                topics.deliver_all(BusEvent::Gap);
            }
            _ => {}
        }
    }
}

async fn unsubscribe_emptied(
    mut emptied: mpsc::UnboundedReceiver<String>,
    mut manager: ConnectionManager,
    topics: Arc<LocalTopics>,
    commands: Arc<tokio::sync::Mutex<()>>,
    prefix: String,
) {
    while let Some(topic) = emptied.recv().await {
        let _order = commands.lock().await;
        if topics.has(&topic) {
            continue; // someone subscribed again meanwhile
        }
        if let Err(e) = manager.unsubscribe(format!("{prefix}{topic}")).await {
            tracing::warn!(error = %e, topic, "redis unsubscribe failed");
        }
    }
}

#[async_trait]
impl EventBus for RedisBus {
    async fn publish(&self, topic: &str, payload: Bytes) -> AppResult<()> {
        let mut manager = self.manager.clone();
        let mut publish = redis::cmd("PUBLISH");
        publish.arg(format!("{}{topic}", self.prefix)).arg(payload.as_ref());
        let _: i64 = self.breaker.call(publish.query_async(&mut manager)).await?;
        Ok(())
    }

    async fn subscribe(&self, topic: &str) -> AppResult<BusSubscription> {
        let (subscription, ready) = self.topics.join(topic, Some(self.emptied.clone()));
        ready
            .get_or_try_init(|| async {
                let _order = self.commands.lock().await;
                self.manager.clone().subscribe(format!("{}{topic}", self.prefix)).await.map_err(AppError::internal)
            })
            .await?;
        Ok(subscription)
    }

    async fn ping(&self) -> AppResult<()> {
        let mut manager = self.manager.clone();
        let _: String = self.breaker.call(redis::cmd("PING").query_async(&mut manager)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn every_subscriber_of_a_topic_shares_one_decoding_of_a_payload() {
        let bus = MemoryBus::new();
        let mut subscribers = Vec::new();
        for _ in 0..3 {
            subscribers.push(bus.subscribe("t").await.unwrap());
        }
        bus.publish("t", Bytes::from_static(b"42")).await.unwrap();
        let decodings = AtomicUsize::new(0);
        for sub in &mut subscribers {
            let Some(BusEvent::Message(payload)) = sub.recv().await else { panic!("a message") };
            let n = payload.decoded(|b| {
                decodings.fetch_add(1, Ordering::Relaxed);
                std::str::from_utf8(b).unwrap().parse::<i64>().unwrap()
            });
            assert_eq!(*n, 42);
        }
        assert_eq!(decodings.load(Ordering::Relaxed), 1, "decoded once for all three");
        // A reader asking for another type decodes its own copy.
        let Some(BusEvent::Message(again)) = ({
            bus.publish("t", Bytes::from_static(b"7")).await.unwrap();
            subscribers[0].recv().await
        }) else {
            panic!("a message")
        };
        assert_eq!(*again.decoded(|b| b.len()), 1);
        assert_eq!(*again.decoded(|b| String::from_utf8_lossy(b).into_owned()), "7");
    }
}
