//! Counters modules export beside the server's own: one registry per process, rendered by
//! `/metrics` after the HTTP and WebSocket metrics. A module declares each counter once, in a
//! `static` (`LazyLock`), and counts into it wherever the event happens.

use std::sync::LazyLock;

pub use prometheus::IntCounterVec;
use prometheus::{Opts, Registry};

static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

/// The modules' metrics.
pub fn registry() -> &'static Registry {
    &REGISTRY
}

/// A counter with labels, registered in the modules' registry. Panics on a name used twice (a
/// programming error found by the first test that touches it).
pub fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let counter = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric");
    REGISTRY.register(Box::new(counter.clone())).expect("each metric is registered once");
    counter
}
