//! Spot eviction classification and counting: pure functions over lean Events and node facts, and the tracker
//! that counts each evicted node once however often its events repeat or are re-listed.

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;

use crate::cluster::lean::{LeanEvent, NodeInfo, TAINT_AUTOSCALER_DELETE, TAINT_SHUTDOWN};
use crate::report::model::{EvictionEvent, EvictionMonitoring};

/// What one signal means for the eviction count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A spot eviction of the node the event is about.
    Eviction,
    /// Looks like node loss, but something else did it (the reason says what).
    Excluded(&'static str),
    /// Needs the node's labels and the node is not known yet: ask again when it is.
    NeedsNode,
    /// Nothing to do with evictions.
    Irrelevant,
}

fn is_preempt(ev: &LeanEvent) -> bool {
    let reason = ev.reason.as_deref().unwrap_or("");
    let message = ev.message.as_deref().unwrap_or("");
    matches!(reason, "PreemptScheduled" | "VMEventScheduled") && message.contains("Preempt")
}

/// Classifies a core/v1 Event, given what is known about the node it is about.
pub fn classify_event(ev: &LeanEvent, node: Option<&NodeInfo>) -> Verdict {
    if ev.involved_object.kind.as_deref() != Some("Node") {
        return Verdict::Irrelevant;
    }
    let reason = ev.reason.as_deref().unwrap_or("");
    let message = ev.message.as_deref().unwrap_or("");
    let component = ev.component();
    if component == "aks-auto-repair" || reason.starts_with("NodeReboot") || reason.starts_with("NodeReimage") {
        return Verdict::Excluded("AKS auto-repair");
    }
    let node_loss = reason == "DeletingNode" || reason == "RemovingNode";
    if reason == "PreemptScheduled" && message.contains("IMDS query failed") {
        return Verdict::Excluded("IMDS query failed is not a preemption");
    }
    if !is_preempt(ev) && !node_loss {
        return Verdict::Irrelevant;
    }
    let Some(node) = node else { return Verdict::NeedsNode };
    if node.has_taint(TAINT_AUTOSCALER_DELETE) || component == "cluster-autoscaler" {
        return Verdict::Excluded("cluster-autoscaler scale-down");
    }
    if node.upgrading {
        return Verdict::Excluded("node upgrade");
    }
    if !node.spot {
        return Verdict::Excluded("not a spot node");
    }
    Verdict::Eviction
}

/// A spot node that gained the shutdown taint was deallocated by Azure (eviction policy `Deallocate`).
pub fn classify_node_change(before: Option<&NodeInfo>, after: &NodeInfo) -> Verdict {
    let had = before.is_some_and(|b| b.has_taint(TAINT_SHUTDOWN));
    if had || !after.has_taint(TAINT_SHUTDOWN) {
        return Verdict::Irrelevant;
    }
    if !after.spot {
        return Verdict::Excluded("not a spot node");
    }
    if after.has_taint(TAINT_AUTOSCALER_DELETE) {
        return Verdict::Excluded("cluster-autoscaler scale-down");
    }
    Verdict::Eviction
}

/// Evictions per hour over a window; zero for an empty window rather than infinity.
pub fn rate_per_hour(count: u64, window_seconds: f64) -> f64 {
    if window_seconds <= 0.0 { 0.0 } else { count as f64 * 3600.0 / window_seconds }
}

/// Counts evictions seen after `started`, once per node, and the periods the watch was blind.
#[derive(Debug, Clone)]
pub struct EvictionTracker {
    started: Timestamp,
    events: Vec<EvictionEvent>,
    seen: HashSet<String>,
    gaps: Vec<String>,
    open_gap: Option<(Timestamp, String)>,
}

impl EvictionTracker {
    pub fn new(started: Timestamp) -> Self {
        EvictionTracker { started, events: Vec::new(), seen: HashSet::new(), gaps: Vec::new(), open_gap: None }
    }

    pub fn started(&self) -> Timestamp {
        self.started
    }

    /// Records an eviction of `node` unless it was counted already; returns the new event when it counts.
    pub fn record(
        &mut self,
        node: &NodeInfo,
        extra_ids: &[String],
        at: Timestamp,
        reason: &str,
        message: &str,
    ) -> Option<EvictionEvent> {
        // core/v1 Event times have whole-second resolution: an event in the start's own second may be after it.
        let started_second = Timestamp::from_second(self.started.as_second()).unwrap_or(self.started);
        if at < started_second {
            return None;
        }
        let mut ids = node.identities();
        ids.extend(extra_ids.iter().cloned());
        if ids.iter().any(|id| self.seen.contains(id)) {
            // Same node again (a later signal, a repeat, or the re-list after 410): remember its other names.
            self.seen.extend(ids);
            return None;
        }
        self.seen.extend(ids);
        let event = EvictionEvent {
            timestamp: at,
            node: node.name.clone(),
            pool: node.pool.clone(),
            zone: node.zone.clone(),
            reason: reason.to_owned(),
            message: message.to_owned(),
        };
        self.events.push(event.clone());
        Some(event)
    }

    /// Classifies an Event and records it if it is a new eviction (returned). `now` stands in for an event
    /// with no time.
    pub fn observe_event(
        &mut self,
        ev: &LeanEvent,
        node: Option<&NodeInfo>,
        now: Timestamp,
    ) -> (Verdict, Option<EvictionEvent>) {
        let verdict = classify_event(ev, node);
        let mut counted = None;
        if verdict == Verdict::Eviction {
            let fallback;
            let node = match node {
                Some(n) => n,
                None => {
                    fallback = NodeInfo {
                        name: ev.involved_object.name.clone().unwrap_or_default(),
                        uid: ev.involved_object.uid.clone(),
                        ..NodeInfo::default()
                    };
                    &fallback
                }
            };
            let extra: Vec<String> = ev.involved_object.uid.iter().map(|u| format!("uid:{u}")).collect();
            let reason = ev.reason.as_deref().unwrap_or("");
            counted = self.record(node, &extra, ev.when().unwrap_or(now), reason, ev.message.as_deref().unwrap_or(""));
        }
        (verdict, counted)
    }

    /// Like `observe_event` for a node whose details will never arrive: Preempt still counts, node loss does not.
    pub fn observe_event_unknown_node(&mut self, ev: &LeanEvent, now: Timestamp) -> Option<EvictionEvent> {
        if is_preempt(ev) && classify_event(ev, None) == Verdict::NeedsNode {
            let node = NodeInfo {
                name: ev.involved_object.name.clone().unwrap_or_default(),
                uid: ev.involved_object.uid.clone(),
                spot: true,
                ..NodeInfo::default()
            };
            return self.observe_event(ev, Some(&node), now).1;
        }
        None
    }

    /// Marks the watch blind from `now` (kept open until `watch_ok`); repeated errors extend the same gap.
    pub fn watch_error(&mut self, now: Timestamp, what: &str) {
        if self.open_gap.is_none() {
            self.open_gap = Some((now, what.to_owned()));
        }
    }

    /// The watch sees again: closes the open gap, if any.
    pub fn watch_ok(&mut self, now: Timestamp) {
        if let Some((from, what)) = self.open_gap.take() {
            self.gaps.push(gap_sentence(from, Some(now), &what));
        }
    }

    pub fn has_open_gap(&self) -> bool {
        self.open_gap.is_some()
    }

    /// The report section as of `now`.
    pub fn summary(&self, now: Timestamp) -> EvictionMonitoring {
        let watched_seconds = (now.as_millisecond() - self.started.as_millisecond()).max(0) as f64 / 1000.0;
        let mut per_pool = BTreeMap::new();
        for e in &self.events {
            *per_pool.entry(e.pool.clone().unwrap_or_else(|| "unknown".into())).or_insert(0u64) += 1;
        }
        let mut gaps = self.gaps.clone();
        if let Some((from, what)) = &self.open_gap {
            gaps.push(gap_sentence(*from, None, what));
        }
        let mut events = self.events.clone();
        events.sort_by_key(|e| e.timestamp);
        EvictionMonitoring {
            total_evictions: events.len() as u64,
            eviction_rate_per_hour: rate_per_hour(events.len() as u64, watched_seconds),
            watched_seconds,
            events,
            per_pool,
            gaps,
        }
    }
}

fn gap_sentence(from: Timestamp, to: Option<Timestamp>, what: &str) -> String {
    match to {
        Some(to) => {
            let secs = (to.as_millisecond() - from.as_millisecond()).max(0) as f64 / 1000.0;
            format!(
                "watch lost the API server from {from} to {to} ({secs:.1} s): {what}; events still stored were \
                 recovered by the re-list"
            )
        }
        None => format!("watch lost the API server from {from} until it stopped: {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn spot(name: &str, pool: &str) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            uid: Some(format!("uid-{name}")),
            provider_id: Some(format!("azure:///x/{name}")),
            pool: Some(pool.into()),
            zone: Some("eastus-1".into()),
            spot: true,
            ready: true,
            ..NodeInfo::default()
        }
    }

    fn event(node: &str, reason: &str, message: &str, at: &str) -> LeanEvent {
        serde_json::from_value(serde_json::json!({
            "involvedObject": {"kind": "Node", "name": node, "uid": format!("uid-{node}")},
            "reason": reason, "message": message, "source": {"component": "node-problem-detector"},
            "lastTimestamp": at,
        }))
        .expect("event")
    }

    #[test]
    fn classifies_signals_from_the_domain_notes() {
        let n = spot("a", "spot1");
        let at = "2026-01-01T00:00:00Z";
        assert_eq!(classify_event(&event("a", "PreemptScheduled", "Preempt: 30s", at), Some(&n)), Verdict::Eviction);
        assert_eq!(classify_event(&event("a", "VMEventScheduled", "Preempt", at), Some(&n)), Verdict::Eviction);
        assert!(matches!(
            classify_event(&event("a", "PreemptScheduled", "IMDS query failed", at), Some(&n)),
            Verdict::Excluded(_)
        ));
        assert_eq!(classify_event(&event("a", "DeletingNode", "does not exist", at), Some(&n)), Verdict::Eviction);
        assert_eq!(classify_event(&event("a", "RemovingNode", "Removing", at), Some(&n)), Verdict::Eviction);
        assert_eq!(classify_event(&event("a", "DeletingNode", "x", at), None), Verdict::NeedsNode);
        assert_eq!(classify_event(&event("a", "NodeNotReady", "x", at), Some(&n)), Verdict::Irrelevant);
        let regular = NodeInfo { spot: false, ..spot("r", "sys") };
        assert!(matches!(classify_event(&event("r", "DeletingNode", "x", at), Some(&regular)), Verdict::Excluded(_)));
        let scaled = NodeInfo { taint_keys: vec![TAINT_AUTOSCALER_DELETE.into()], ..spot("s", "spot1") };
        assert!(matches!(classify_event(&event("s", "DeletingNode", "x", at), Some(&scaled)), Verdict::Excluded(_)));
        let upgrading = NodeInfo { upgrading: true, ..spot("u", "spot1") };
        assert!(matches!(classify_event(&event("u", "RemovingNode", "x", at), Some(&upgrading)), Verdict::Excluded(_)));
        let mut repair = event("a", "NodeRebootStart", "reboot", at);
        repair.source.component = Some("aks-auto-repair".into());
        assert!(matches!(classify_event(&repair, Some(&n)), Verdict::Excluded(_)));
        let mut pod_event = event("a", "DeletingNode", "x", at);
        pod_event.involved_object.kind = Some("Pod".into());
        assert_eq!(classify_event(&pod_event, Some(&n)), Verdict::Irrelevant);
    }

    #[test]
    fn shutdown_taint_counts_only_when_it_appears_on_spot() {
        let before = spot("a", "p");
        let after = NodeInfo { taint_keys: vec![TAINT_SHUTDOWN.into()], ..before.clone() };
        assert_eq!(classify_node_change(Some(&before), &after), Verdict::Eviction);
        assert_eq!(classify_node_change(Some(&after), &after), Verdict::Irrelevant);
        assert_eq!(classify_node_change(Some(&before), &before), Verdict::Irrelevant);
        let regular = NodeInfo { spot: false, ..after.clone() };
        assert!(matches!(classify_node_change(None, &regular), Verdict::Excluded(_)));
    }

    #[test]
    fn counts_each_node_once_and_ignores_history() {
        let start = ts("2026-01-01T00:00:00Z");
        let mut t = EvictionTracker::new(start);
        let a = spot("a", "spot1");
        let b = spot("b", "spot2");
        let now = ts("2026-01-01T00:30:00Z");
        t.observe_event(&event("a", "PreemptScheduled", "Preempt", "2026-01-01T00:01:00Z"), Some(&a), now);
        t.observe_event(&event("a", "PreemptScheduled", "Preempt", "2026-01-01T00:01:10Z"), Some(&a), now);
        t.observe_event(&event("a", "DeletingNode", "gone", "2026-01-01T00:02:00Z"), Some(&a), now);
        t.observe_event(&event("a", "RemovingNode", "gone", "2026-01-01T00:02:01Z"), Some(&a), now);
        // History: happened before the watch started.
        t.observe_event(&event("b", "PreemptScheduled", "Preempt", "2025-12-31T23:59:00Z"), Some(&b), now);
        assert_eq!(t.summary(now).total_evictions, 1);
        t.observe_event(&event("b", "DeletingNode", "gone", "2026-01-01T00:10:00Z"), Some(&b), now);
        let s = t.summary(ts("2026-01-01T00:30:00Z"));
        assert_eq!(s.total_evictions, 2);
        assert_eq!(s.per_pool.get("spot1"), Some(&1));
        assert_eq!(s.per_pool.get("spot2"), Some(&1));
        assert!((s.eviction_rate_per_hour - 4.0).abs() < 1e-9);
        assert!((s.watched_seconds - 1800.0).abs() < 1e-9);
        assert_eq!(s.events[0].node, "a");
        assert_eq!(s.events[0].reason, "PreemptScheduled");
    }

    #[test]
    fn event_in_the_start_second_counts() {
        let mut t = EvictionTracker::new(ts("2026-01-01T00:00:00.700Z"));
        let now = ts("2026-01-01T00:10:00Z");
        let (_, counted) = t.observe_event(
            &event("a", "PreemptScheduled", "Preempt", "2026-01-01T00:00:00Z"),
            Some(&spot("a", "p")),
            now,
        );
        assert!(counted.is_some());
        let (_, counted) = t.observe_event(
            &event("b", "PreemptScheduled", "Preempt", "2025-12-31T23:59:59Z"),
            Some(&spot("b", "p")),
            now,
        );
        assert!(counted.is_none());
    }

    #[test]
    fn same_node_under_other_identity_is_not_counted_twice() {
        let mut t = EvictionTracker::new(ts("2026-01-01T00:00:00Z"));
        let now = ts("2026-01-01T01:00:00Z");
        // Known only by event uid first (node details arrived later via pending re-classification).
        t.observe_event_unknown_node(&event("a", "PreemptScheduled", "Preempt", "2026-01-01T00:01:00Z"), now);
        t.observe_event(&event("a", "DeletingNode", "x", "2026-01-01T00:02:00Z"), Some(&spot("a", "p")), now);
        assert_eq!(t.summary(now).total_evictions, 1);
        // Node-loss events about unknown nodes never count: a manual delete looks the same.
        t.observe_event_unknown_node(&event("z", "DeletingNode", "x", "2026-01-01T00:02:00Z"), now);
        assert_eq!(t.summary(now).total_evictions, 1);
    }

    #[test]
    fn gaps_open_once_and_close() {
        let mut t = EvictionTracker::new(ts("2026-01-01T00:00:00Z"));
        t.watch_error(ts("2026-01-01T00:01:00Z"), "connection refused");
        t.watch_error(ts("2026-01-01T00:01:05Z"), "connection refused");
        assert!(t.has_open_gap());
        t.watch_ok(ts("2026-01-01T00:01:30Z"));
        t.watch_ok(ts("2026-01-01T00:01:31Z"));
        let s = t.summary(ts("2026-01-01T00:02:00Z"));
        assert_eq!(s.gaps.len(), 1);
        assert!(s.gaps[0].contains("30.0 s"), "{}", s.gaps[0]);
        t.watch_error(ts("2026-01-01T00:03:00Z"), "503");
        assert!(t.summary(ts("2026-01-01T00:04:00Z")).gaps[1].contains("until it stopped"));
    }

    #[test]
    fn rate_maths() {
        assert_eq!(rate_per_hour(3, 0.0), 0.0);
        assert!((rate_per_hour(3, 9000.0) - 1.2).abs() < 1e-9);
        assert!((rate_per_hour(1, 60.0) - 60.0).abs() < 1e-9);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn count_never_exceeds_distinct_nodes(ops in proptest::collection::vec((0u8..5, 0u8..4, 0i64..120), 0..60)) {
                let start = ts("2026-01-01T00:00:00Z");
                let mut t = EvictionTracker::new(start);
                let reasons = ["PreemptScheduled", "DeletingNode", "RemovingNode", "NodeNotReady"];
                let now = ts("2026-01-01T03:00:00Z");
                let mut expected = std::collections::BTreeSet::new();
                for (node, reason, minute) in ops {
                    let name = format!("n{node}");
                    let at = start.checked_add(jiff::SignedDuration::from_mins(minute - 30)).expect("time");
                    let ev = event(&name, reasons[reason as usize], "Preempt", &at.to_string());
                    if reason < 3 && minute >= 30 {
                        expected.insert(name.clone());
                    }
                    t.observe_event(&ev, Some(&spot(&name, "p")), now);
                }
                prop_assert_eq!(t.summary(now).total_evictions, expected.len() as u64);
            }
        }
    }
}
