//! Fault injection for the ARM endpoint: 429 storms with Retry-After, slow and failing deletes.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Default)]
struct Inner {
    throttle_remaining: AtomicU32,
    retry_after_secs: AtomicU64,
    fail_deletes: AtomicU32,
    delete_duration: Mutex<Option<Duration>>,
}

/// Cheap-clone handle on the ARM endpoint's faults; clones share state.
#[derive(Debug, Clone, Default)]
pub struct ArmFaults {
    inner: Arc<Inner>,
}

impl ArmFaults {
    /// The next `count` ARM requests (token endpoints excluded) answer 429 with `Retry-After`.
    pub fn throttle(&self, count: u32, retry_after: Duration) {
        self.inner.retry_after_secs.store(retry_after.as_secs().max(1), Ordering::SeqCst);
        self.inner.throttle_remaining.store(count, Ordering::SeqCst);
    }

    /// Takes one throttled answer if any remain; returns its Retry-After seconds.
    pub fn take_throttle(&self) -> Option<u64> {
        self.inner
            .throttle_remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .ok()
            .map(|_| self.inner.retry_after_secs.load(Ordering::SeqCst))
    }

    /// How long batch deletes stay InProgress (`None`: the scenario's timing).
    pub fn set_delete_duration(&self, d: Option<Duration>) {
        *self.inner.delete_duration.lock().unwrap_or_else(|e| e.into_inner()) = d;
    }

    pub fn delete_duration(&self) -> Option<Duration> {
        *self.inner.delete_duration.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next `count` batch deletes end `Failed` and leave their VMs in place.
    pub fn fail_next_deletes(&self, count: u32) {
        self.inner.fail_deletes.store(count, Ordering::SeqCst);
    }

    pub fn take_failed_delete(&self) -> bool {
        self.inner.fail_deletes.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }
}
