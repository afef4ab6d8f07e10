//! The eviction watch: a background task watching core/v1 Events about Nodes and the Nodes themselves, feeding
//! the classifier and tracker in `eviction`, until its `CancellationToken` is cancelled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, Node};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as WatchEvent, watcher};
use kube::{Api, Client};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cluster::error::ClusterError;
use crate::cluster::eviction::{EvictionTracker, Verdict, classify_node_change};
use crate::cluster::lean::{LeanEvent, LeanNode, NodeInfo};
use crate::cluster::snapshot::list_nodes;
use crate::report::model::{EvictionEvent, EvictionMonitoring};

/// How often a blind watch checks whether the API server is back, and how long each check may take.
const PROBE_EVERY: Duration = Duration::from_secs(2);
/// Events about nodes not known yet are held this many at most (the node watch normally catches up at once).
const MAX_PENDING: usize = 10_000;

/// A running eviction watch. Stop it with `stop` to get the report section.
#[derive(Debug)]
pub struct EvictionWatch {
    cancel: CancellationToken,
    task: JoinHandle<()>,
    tracker: Arc<Mutex<EvictionTracker>>,
    live: Option<mpsc::UnboundedReceiver<EvictionEvent>>,
}

impl EvictionWatch {
    /// Evictions counted so far; the window ends now.
    pub fn current(&self) -> EvictionMonitoring {
        lock(&self.tracker).summary(Timestamp::now())
    }

    /// Each newly counted eviction as it happens (for `monitor`); `None` after the first call.
    pub fn take_live(&mut self) -> Option<mpsc::UnboundedReceiver<EvictionEvent>> {
        self.live.take()
    }

    /// Stops the watch and returns what it saw over the whole window.
    pub async fn stop(self) -> EvictionMonitoring {
        self.cancel.cancel();
        if let Err(e) = self.task.await {
            tracing::warn!("eviction watch task ended abnormally: {e}");
        }
        lock(&self.tracker).summary(Timestamp::now())
    }
}

fn lock(t: &Mutex<EvictionTracker>) -> std::sync::MutexGuard<'_, EvictionTracker> {
    // A panic while holding the lock leaves counts that are still the best we have.
    t.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts watching. Nodes are listed first so the first events can be attributed; only evictions after this
/// call count. Fails only when that first node list fails.
pub async fn start_eviction_watch(client: Client) -> Result<EvictionWatch, ClusterError> {
    let started = Timestamp::now();
    let nodes: HashMap<String, NodeInfo> =
        list_nodes(&client).await?.into_iter().map(|n| (n.name.clone(), n)).collect();
    let tracker = Arc::new(Mutex::new(EvictionTracker::new(started)));
    let (tx, rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(run(client, Arc::clone(&tracker), tx, cancel.clone(), nodes));
    Ok(EvictionWatch { cancel, task, tracker, live: Some(rx) })
}

fn is_gone(e: &watcher::Error) -> bool {
    match e {
        watcher::Error::WatchError(s) => s.code == 410,
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => s.code == 410,
        _ => false,
    }
}

struct State {
    tracker: Arc<Mutex<EvictionTracker>>,
    tx: mpsc::UnboundedSender<EvictionEvent>,
    nodes: HashMap<String, NodeInfo>,
    pending: Vec<LeanEvent>,
    /// Which of the two streams (nodes, events) is failing right now.
    failing: [bool; 2],
}

impl State {
    fn send(&self, counted: Option<EvictionEvent>) {
        if let Some(e) = counted {
            // Nobody listening (run rather than monitor) is fine.
            let _ = self.tx.send(e);
        }
    }

    fn healthy(&mut self, stream: usize) {
        self.failing[stream] = false;
        if !self.failing.iter().any(|f| *f) {
            lock(&self.tracker).watch_ok(Timestamp::now());
        }
    }

    fn failed(&mut self, stream: usize, err: &watcher::Error) {
        if is_gone(err) {
            // 410 Gone is a resync, not blindness: the watcher re-lists and the tracker dedupes the replay.
            tracing::debug!("eviction watch resyncing after 410 Gone");
            return;
        }
        tracing::warn!("eviction watch: {err}");
        self.failing[stream] = true;
        lock(&self.tracker).watch_error(Timestamp::now(), &err.to_string());
    }

    fn on_node(&mut self, node: &Node, deleted: bool) {
        let lean: LeanNode = match serde_json::to_value(node).and_then(serde_json::from_value) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("eviction watch: unreadable node: {e}");
                return;
            }
        };
        let info = NodeInfo::from(&lean);
        if !deleted && classify_node_change(self.nodes.get(&info.name), &info) == Verdict::Eviction {
            let counted = lock(&self.tracker).record(
                &info,
                &[],
                Timestamp::now(),
                "NodeShutdown",
                "spot node tainted node.cloudprovider.kubernetes.io/shutdown: VM deallocated",
            );
            self.send(counted);
        }
        let name = info.name.clone();
        // Deleted nodes stay known: their DeletingNode/RemovingNode events often arrive after the delete.
        self.nodes.insert(name.clone(), info);
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|e| e.involved_object.name.as_deref() == Some(name.as_str()));
        self.pending = waiting;
        for ev in ready {
            self.on_event(ev);
        }
    }

    fn on_event(&mut self, ev: LeanEvent) {
        let node = ev.involved_object.name.as_deref().and_then(|n| self.nodes.get(n));
        let (verdict, counted) = lock(&self.tracker).observe_event(&ev, node, Timestamp::now());
        self.send(counted);
        if verdict == Verdict::NeedsNode && self.pending.len() < MAX_PENDING {
            self.pending.push(ev);
        }
    }
}

async fn run(
    client: Client,
    tracker: Arc<Mutex<EvictionTracker>>,
    tx: mpsc::UnboundedSender<EvictionEvent>,
    cancel: CancellationToken,
    nodes: HashMap<String, NodeInfo>,
) {
    let mut state = State { tracker, tx, nodes, pending: Vec::new(), failing: [false; 2] };
    let node_stream = watcher(Api::<Node>::all(client.clone()), watcher::Config::default()).default_backoff();
    // The selector keeps pod events (the vast majority on a busy cluster) off the wire; the classifier
    // checks the kind again for servers that ignore it.
    let event_stream =
        watcher(Api::<Event>::all(client.clone()), watcher::Config::default().fields("involvedObject.kind=Node"))
            .default_backoff();
    futures::pin_mut!(node_stream);
    futures::pin_mut!(event_stream);
    let mut probe = tokio::time::interval(PROBE_EVERY);
    probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            Some(item) = node_stream.next() => match item {
                Ok(ev) => {
                    state.healthy(0);
                    match ev {
                        WatchEvent::Apply(n) | WatchEvent::InitApply(n) => state.on_node(&n, false),
                        WatchEvent::Delete(n) => state.on_node(&n, true),
                        WatchEvent::Init | WatchEvent::InitDone => {}
                    }
                }
                Err(e) => state.failed(0, &e),
            },
            Some(item) = event_stream.next() => match item {
                Ok(ev) => {
                    state.healthy(1);
                    if let WatchEvent::Apply(e) | WatchEvent::InitApply(e) = ev {
                        match serde_json::to_value(&e).and_then(serde_json::from_value::<LeanEvent>) {
                            Ok(lean) => state.on_event(lean),
                            Err(err) => tracing::warn!("eviction watch: unreadable event: {err}"),
                        }
                    }
                }
                Err(e) => state.failed(1, &e),
            },
            _ = probe.tick(), if state.failing.iter().any(|f| *f) => {
                // A watch that resumes from its resourceVersion yields nothing until something changes, so the
                // gap would stay open; the server answering a version request is the sign of life instead.
                if let Ok(Ok(_)) = tokio::time::timeout(PROBE_EVERY, client.apiserver_version()).await {
                    state.failing = [false; 2];
                    lock(&state.tracker).watch_ok(Timestamp::now());
                }
            }
            else => break,
        }
    }
    let now = Timestamp::now();
    let mut tracker = lock(&state.tracker);
    for ev in &state.pending {
        tracker.observe_event_unknown_node(ev, now);
    }
}
