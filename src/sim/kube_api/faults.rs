//! Fault injection for the simulated API server: dropped watches, 410 Gone, a down server, latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

#[derive(Debug)]
struct Inner {
    down: AtomicBool,
    anonymous: AtomicBool,
    gone_next_watches: AtomicU64,
    fail_next_lists: AtomicU64,
    latency_ms: AtomicU64,
    /// Bumped by `drop_watches`; every open watch stream ends when it changes.
    drop_generation: watch::Sender<u64>,
}

/// Cheap-clone handle on the API server's faults; clones share state.
#[derive(Debug, Clone)]
pub struct KubeFaults {
    inner: Arc<Inner>,
}

impl Default for KubeFaults {
    fn default() -> Self {
        let (tx, _) = watch::channel(0);
        KubeFaults {
            inner: Arc::new(Inner {
                down: AtomicBool::new(false),
                anonymous: AtomicBool::new(false),
                gone_next_watches: AtomicU64::new(0),
                fail_next_lists: AtomicU64::new(0),
                latency_ms: AtomicU64::new(0),
                drop_generation: tx,
            }),
        }
    }
}

/// Takes one from a counter if it is above zero.
pub(crate) fn take_one(counter: &AtomicU64) -> bool {
    counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
}

impl KubeFaults {
    /// Closes every open watch stream now: clients see EOF and re-watch.
    pub fn drop_watches(&self) {
        self.inner.drop_generation.send_modify(|g| *g += 1);
    }

    /// The next `n` watch requests carrying a resourceVersion get 410 Gone (as an ERROR event).
    pub fn gone_next_watches(&self, n: u64) {
        self.inner.gone_next_watches.store(n, Ordering::SeqCst);
    }

    /// While down, every request answers 503.
    pub fn set_down(&self, down: bool) {
        self.inner.down.store(down, Ordering::SeqCst);
    }

    pub fn is_down(&self) -> bool {
        self.inner.down.load(Ordering::SeqCst)
    }

    /// Serve requests that carry no `Authorization` header (a wrong token is still 401).
    ///
    /// kubectl (client-go) applies a kubeconfig's credentials only over TLS, so against a plain
    /// `http://` server it sends no token at all; this is how it gets in.
    pub fn set_anonymous(&self, allowed: bool) {
        self.inner.anonymous.store(allowed, Ordering::SeqCst);
    }

    pub fn anonymous(&self) -> bool {
        self.inner.anonymous.load(Ordering::SeqCst)
    }

    /// The next `n` list requests answer 500 InternalError.
    pub fn fail_next_lists(&self, n: u64) {
        self.inner.fail_next_lists.store(n, Ordering::SeqCst);
    }

    /// Adds `latency` before every answer.
    pub fn set_latency(&self, latency: Duration) {
        self.inner.latency_ms.store(u64::try_from(latency.as_millis()).unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.inner.latency_ms.load(Ordering::SeqCst))
    }

    pub fn take_gone_watch(&self) -> bool {
        take_one(&self.inner.gone_next_watches)
    }

    pub fn take_failed_list(&self) -> bool {
        take_one(&self.inner.fail_next_lists)
    }

    /// A receiver that changes when `drop_watches` is called.
    pub fn drop_signal(&self) -> watch::Receiver<u64> {
        self.inner.drop_generation.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gone_counter_runs_out() {
        let f = KubeFaults::default();
        f.gone_next_watches(2);
        let g = f.clone();
        assert!(g.take_gone_watch());
        assert!(f.take_gone_watch());
        assert!(!f.take_gone_watch());
    }

    #[tokio::test]
    async fn drop_signal_changes() {
        let f = KubeFaults::default();
        let mut rx = f.drop_signal();
        f.drop_watches();
        assert!(rx.changed().await.is_ok());
    }
}
