//! `aks-spot-test monitor`: the eviction watch on its own, a line per eviction as it happens and a rate summary
//! every interval, until Ctrl-C or `--duration`; then a final summary and exit 0.

use std::time::Duration;

use crate::cli::Settings;
use crate::cli::args::{MonitorArgs, OutputArg};
use crate::cluster::start_eviction_watch;
use crate::error::Error;
use crate::exit::ExitCode;
use crate::orchestrate::connect::connect_checked;
use crate::report::model::{EvictionEvent, EvictionMonitoring};

pub(crate) async fn run(settings: &Settings, args: &MonitorArgs) -> Result<ExitCode, Error> {
    let config = &settings.config;
    let (conn, _) = connect_checked(settings).await?;
    let mut watch = start_eviction_watch(conn.watch_client()?).await?;
    let mut live = watch.take_live();
    let json = args.output == OutputArg::Json;
    let every =
        Duration::from_secs(args.interval.unwrap_or(config.monitoring.eviction_rate.poll_interval_seconds).max(1));
    if !json {
        eprintln!("watching spot evictions on {} ({}); Ctrl-C stops", conn.cluster_name, conn.server);
    }
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    // Runs until Ctrl-C, or for --duration seconds when given.
    let deadline = async {
        match args.duration {
            Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            () = &mut deadline => break,
            Some(ev) = async { match live.as_mut() { Some(rx) => rx.recv().await, None => None } } => {
                println!("{}", eviction_line(&ev, json));
            }
            _ = ticker.tick() => println!("{}", summary_line("summary", &watch.current(), json)),
        }
    }
    let summary = watch.stop().await;
    println!("{}", summary_line("final", &summary, json));
    Ok(ExitCode::Success)
}

fn eviction_line(ev: &EvictionEvent, json: bool) -> String {
    if json {
        let mut v = serde_json::to_value(ev).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("type".into(), "eviction".into());
        }
        return v.to_string();
    }
    format!(
        "{}  EVICTED  {}  pool={} zone={}  {}: {}",
        ev.timestamp,
        ev.node,
        ev.pool.as_deref().unwrap_or("?"),
        ev.zone.as_deref().unwrap_or("?"),
        ev.reason,
        ev.message
    )
}

fn summary_line(kind: &str, m: &EvictionMonitoring, json: bool) -> String {
    if json {
        let mut v = serde_json::to_value(m).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("type".into(), kind.into());
            if kind != "final" {
                obj.remove("events");
            }
        }
        return v.to_string();
    }
    let pools: Vec<String> = m.per_pool.iter().map(|(p, n)| format!("{p}: {n}")).collect();
    let mut line = format!(
        "{kind}: {} eviction(s) in {:.0} s = {:.2}/hour{}",
        m.total_evictions,
        m.watched_seconds,
        m.eviction_rate_per_hour,
        if pools.is_empty() { String::new() } else { format!(" ({})", pools.join(", ")) }
    );
    if !m.gaps.is_empty() {
        line.push_str(&format!("; {} gap(s): {}", m.gaps.len(), m.gaps.join("; ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_in_both_formats() {
        let ev = EvictionEvent {
            timestamp: "2026-01-01T00:00:00Z".parse().expect("ts"),
            node: "n1".into(),
            pool: Some("spot1".into()),
            zone: None,
            reason: "PreemptScheduled".into(),
            message: "Preempt".into(),
        };
        assert_eq!(
            eviction_line(&ev, false),
            "2026-01-01T00:00:00Z  EVICTED  n1  pool=spot1 zone=?  PreemptScheduled: Preempt"
        );
        let v: serde_json::Value = serde_json::from_str(&eviction_line(&ev, true)).expect("json");
        assert_eq!(v["type"], "eviction");
        assert_eq!(v["node"], "n1");
        let mut m = EvictionMonitoring {
            total_evictions: 1,
            eviction_rate_per_hour: 6.0,
            watched_seconds: 600.0,
            events: vec![ev],
            ..EvictionMonitoring::default()
        };
        m.per_pool.insert("spot1".into(), 1);
        assert_eq!(summary_line("summary", &m, false), "summary: 1 eviction(s) in 600 s = 6.00/hour (spot1: 1)");
        let v: serde_json::Value = serde_json::from_str(&summary_line("summary", &m, true)).expect("json");
        assert_eq!(v["type"], "summary");
        assert!(v.get("events").is_none());
        let v: serde_json::Value = serde_json::from_str(&summary_line("final", &m, true)).expect("json");
        assert_eq!(v["events"].as_array().map(Vec::len), Some(1));
    }
}
