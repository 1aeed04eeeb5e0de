//! The one backfill-then-live stream driver (after `scan_then_live.rs` in Sui's GraphQL
//! service). A feed is anything stored in order and announced on a bus topic after it is
//! committed: a person's notifications, a conversation's changes. The driver subscribes first,
//! then reads what was stored after the client's position, then goes live; it re-reads the store
//! whenever the bus says events were lost or a live item overtook one still in flight. So every
//! stored item arrives once, in position order, with no gap — the rule lives here and nowhere
//! else.

use std::sync::Arc;

use async_trait::async_trait;
use futures::Stream;

use crate::bus::{BusEvent, EventBus, Payload};
use crate::error::AppResult;

/// Stored items read per query while catching up.
pub const BACKFILL_BATCH: u64 = 200;

/// Every re-read of the store after the stream went live, by why: `gap` (the bus lost events)
/// or `overtaken` (an item arrived before one still in flight). Each is a query per follower,
/// so a rate of them is the first thing to look at when live delivery slows down.
static RESCANS: std::sync::LazyLock<crate::metrics::IntCounterVec> = std::sync::LazyLock::new(|| {
    crate::metrics::counter_vec(
        "xqt_live_rescans_total",
        "Re-reads of a live feed's store after it went live, by reason (gap, overtaken)",
        &["reason"],
    )
});

/// One read of the store after a position.
pub struct Scan<I, P> {
    /// Items in position order.
    pub items: Vec<(P, I)>,
    /// The highest position read, items the reader may not see included (e.g. hidden messages):
    /// the follower moves past them too.
    pub reached: Option<P>,
    /// Whether the read hit its limit, so more may follow.
    pub more: bool,
}

impl<I, P: Clone> Scan<I, P> {
    /// A scan whose every row the reader sees: `reached` is the last item's position.
    pub fn of(items: Vec<(P, I)>, limit: u64) -> Self {
        let reached = items.last().map(|(p, _)| p.clone());
        let more = items.len() as u64 >= limit;
        Self { items, reached, more }
    }
}

/// What a bus payload holds for one follower.
pub enum Arrival<I, P> {
    /// A stored item at its position.
    Stored(P, I),
    /// Something never stored (someone typing): delivered as it comes, never re-read.
    Passing(I),
    /// Not for this follower, or undecodable (the feed logs why).
    Skip,
}

/// A stream's items: each with the position a client resumes from after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered<I, P> {
    pub position: P,
    pub item: I,
}

#[async_trait]
pub trait Feed: Send + Sync + 'static {
    type Item: Send + 'static;
    type Position: Ord + Clone + Send + Sync + 'static;

    /// Stored items strictly after `after`, in position order, at most `limit`.
    async fn scan(&self, after: &Self::Position, limit: u64) -> AppResult<Scan<Self::Item, Self::Position>>;

    /// A live payload from the feed's topic (`Payload::decoded` shares the decoding among the
    /// topic's followers on this instance).
    fn decode(&self, payload: &Payload) -> Arrival<Self::Item, Self::Position>;

    /// Whether an item at `at` directly follows `last`. A dense feed (1, 2, 3, …) answers
    /// `at == last + 1` and so detects an item that overtook another; a feed with holes in its
    /// positions answers `at > last`.
    fn is_next(&self, last: &Self::Position, at: &Self::Position) -> bool;

    /// Called when live events may have been lost, before the store is read again (e.g. to check
    /// the follower may still see the feed).
    async fn on_gap(&self) -> AppResult<()> {
        Ok(())
    }
}

/// The feed's items after `from`: stored ones first, then live ones, each once, in order.
pub fn scan_then_live<F: Feed>(
    bus: Arc<dyn EventBus>,
    topic: String,
    feed: F,
    from: F::Position,
) -> impl Stream<Item = AppResult<Delivered<F::Item, F::Position>>> + Send + 'static {
    async_stream::try_stream! {
        // Subscribed before the first read, so nothing committed in between is lost.
        let mut live = bus.subscribe(&topic).await?;
        let mut last = from;
        let mut catch_up = true;
        loop {
            while catch_up {
                let scan = feed.scan(&last, BACKFILL_BATCH).await?;
                catch_up = scan.more;
                for (position, item) in scan.items {
                    last = position.clone();
                    yield Delivered { position, item };
                }
                if let Some(reached) = scan.reached.filter(|r| *r > last) {
                    last = reached;
                }
            }
            match live.recv().await {
                None => break,
                Some(BusEvent::Gap) => {
                    RESCANS.with_label_values(&["gap"]).inc();
                    feed.on_gap().await?;
                    catch_up = true;
                }
                Some(BusEvent::Message(payload)) => match feed.decode(&payload) {
                    Arrival::Skip => {}
                    Arrival::Passing(item) => yield Delivered { position: last.clone(), item },
                    Arrival::Stored(at, _) if at <= last => {}
                    Arrival::Stored(at, item) if feed.is_next(&last, &at) => {
                        last = at.clone();
                        yield Delivered { position: at, item };
                    }
                    // It overtook one still in flight: read them in order from the store.
                    Arrival::Stored(..) => {
                        RESCANS.with_label_values(&["overtaken"]).inc();
                        catch_up = true;
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use bytes::Bytes;
    use futures::StreamExt;

    use super::*;
    use crate::bus::MemoryBus;

    /// A dense feed of numbers kept in memory; a payload `t:<text>` passes by unstored.
    #[derive(Clone, Default)]
    struct Numbers {
        stored: Arc<Mutex<Vec<i64>>>,
        scans: Arc<Mutex<u32>>,
    }

    #[async_trait]
    impl Feed for Numbers {
        type Item = String;
        type Position = i64;

        async fn scan(&self, after: &i64, limit: u64) -> AppResult<Scan<String, i64>> {
            *self.scans.lock().unwrap() += 1;
            let rows: Vec<(i64, String)> = self
                .stored
                .lock()
                .unwrap()
                .iter()
                .filter(|n| **n > *after)
                .take(limit as usize)
                .map(|n| (*n, format!("#{n}")))
                .collect();
            Ok(Scan::of(rows, limit))
        }

        fn decode(&self, payload: &Payload) -> Arrival<String, i64> {
            let text = std::str::from_utf8(payload).unwrap();
            match text.strip_prefix("t:") {
                Some(t) => Arrival::Passing(t.to_owned()),
                None => {
                    let n: i64 = text.parse().unwrap();
                    Arrival::Stored(n, format!("#{n}"))
                }
            }
        }

        fn is_next(&self, last: &i64, at: &i64) -> bool {
            *at == last + 1
        }
    }

    impl Numbers {
        fn store(&self, n: i64) {
            self.stored.lock().unwrap().push(n);
        }
    }

    async fn next(s: &mut (impl Stream<Item = AppResult<Delivered<String, i64>>> + Unpin)) -> (i64, String) {
        let d = tokio::time::timeout(std::time::Duration::from_secs(5), s.next())
            .await
            .expect("an item in time")
            .expect("the stream goes on")
            .expect("no error");
        (d.position, d.item)
    }

    #[tokio::test]
    async fn stored_first_then_live_each_once_in_order() {
        let bus: Arc<dyn EventBus> = Arc::new(MemoryBus::new());
        let feed = Numbers::default();
        for n in 1..=3 {
            feed.store(n);
        }
        let mut s = Box::pin(scan_then_live(bus.clone(), "t".into(), feed.clone(), 1));
        assert_eq!(next(&mut s).await, (2, "#2".into()));
        assert_eq!(next(&mut s).await, (3, "#3".into()));
        // Announced again live although already read: not repeated.
        bus.publish("t", Bytes::from_static(b"3")).await.unwrap();
        feed.store(4);
        bus.publish("t", Bytes::from_static(b"4")).await.unwrap();
        assert_eq!(next(&mut s).await, (4, "#4".into()));
        // Something passing by carries the position reached so far.
        bus.publish("t", Bytes::from_static(b"t:typing")).await.unwrap();
        assert_eq!(next(&mut s).await, (4, "typing".into()));
    }

    #[tokio::test]
    async fn an_item_that_overtook_another_is_read_in_order_from_the_store() {
        let bus: Arc<dyn EventBus> = Arc::new(MemoryBus::new());
        let feed = Numbers::default();
        feed.store(1);
        let mut s = Box::pin(scan_then_live(bus.clone(), "t".into(), feed.clone(), 0));
        // The first item proves the stream is subscribed (it subscribes before it reads).
        assert_eq!(next(&mut s).await, (1, "#1".into()));
        // 2 and 3 are committed; 3's announcement arrives first, 2's later.
        feed.store(2);
        feed.store(3);
        let overtaken = || RESCANS.with_label_values(&["overtaken"]).get();
        let (rescans, scans) = (overtaken(), *feed.scans.lock().unwrap());
        bus.publish("t", Bytes::from_static(b"3")).await.unwrap();
        assert_eq!(next(&mut s).await, (2, "#2".into()));
        assert_eq!(next(&mut s).await, (3, "#3".into()));
        assert_eq!(*feed.scans.lock().unwrap(), scans + 1, "the store was read once more");
        assert!(overtaken() > rescans, "and the re-read was counted for operators");
        bus.publish("t", Bytes::from_static(b"2")).await.unwrap();
        feed.store(4);
        bus.publish("t", Bytes::from_static(b"4")).await.unwrap();
        assert_eq!(next(&mut s).await, (4, "#4".into()), "2 is not delivered twice");
    }

    #[tokio::test]
    async fn reads_in_batches_until_the_store_is_exhausted() {
        let bus: Arc<dyn EventBus> = Arc::new(MemoryBus::new());
        let feed = Numbers::default();
        let total = BACKFILL_BATCH as i64 * 2 + 5;
        for n in 1..=total {
            feed.store(n);
        }
        let mut s = Box::pin(scan_then_live(bus, "t".into(), feed.clone(), 0));
        for n in 1..=total {
            assert_eq!(next(&mut s).await.0, n);
        }
        assert_eq!(*feed.scans.lock().unwrap(), 3);
    }
}
