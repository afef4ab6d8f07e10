//! The run lock: a `coordination.k8s.io` Lease held and renewed while `run` or `remediate` works, so two runs
//! never remediate the same cluster at once; a crashed holder's lease expires and is taken over.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::PostParams;
use kube::{Api, Client};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cluster::error::ClusterError;
use crate::config::schema::RunLockConfig;

/// What an existing Lease means for someone who wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseDecision {
    /// Nobody holds it, it expired, or it is already ours: take it (replace with the resourceVersion read).
    Take,
    /// Someone else holds it until `expires`.
    Held { holder: String, expires: Timestamp },
}

/// Decides from the Lease's spec alone; a lease with no renew/acquire time or duration counts as expired.
pub fn decide(spec: Option<&LeaseSpec>, me: &str, now: Timestamp) -> LeaseDecision {
    let Some(spec) = spec else { return LeaseDecision::Take };
    let holder = match spec.holder_identity.as_deref() {
        Some(h) if !h.is_empty() && h != me => h,
        _ => return LeaseDecision::Take,
    };
    let last = spec.renew_time.as_ref().or(spec.acquire_time.as_ref()).map(|t| t.0);
    let (Some(last), Some(secs)) = (last, spec.lease_duration_seconds) else { return LeaseDecision::Take };
    let expires = last.checked_add(SignedDuration::from_secs(i64::from(secs))).unwrap_or(last);
    if expires > now { LeaseDecision::Held { holder: holder.to_owned(), expires } } else { LeaseDecision::Take }
}

/// A holder identity that tells an operator which machine and process holds the lock.
pub fn holder_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_owned()))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    format!("aks-spot-test@{host}/pid-{}/{}", std::process::id(), uuid::Uuid::new_v4().simple())
}

fn our_spec(me: &str, seconds: i32, now: Timestamp, previous: Option<&LeaseSpec>) -> LeaseSpec {
    let transitions = previous.and_then(|p| p.lease_transitions).unwrap_or(0);
    let changed_hands = previous.and_then(|p| p.holder_identity.as_deref()).is_some_and(|h| !h.is_empty() && h != me);
    LeaseSpec {
        holder_identity: Some(me.to_owned()),
        lease_duration_seconds: Some(seconds),
        acquire_time: Some(MicroTime(now)),
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(if changed_hands { transitions + 1 } else { transitions }),
        ..LeaseSpec::default()
    }
}

/// A held run lock; a background task renews it every third of its duration until `release`.
#[derive(Debug)]
pub struct RunLock {
    api: Api<Lease>,
    lease: String,
    name: String,
    holder: String,
    cancel: CancellationToken,
    renew: JoinHandle<()>,
    lost: Arc<AtomicBool>,
}

impl RunLock {
    /// Takes the lease `config.namespace/config.name` for `holder`, or fails with `LockHeld` naming who has it.
    pub async fn acquire(client: Client, config: &RunLockConfig, holder: &str) -> Result<RunLock, ClusterError> {
        let api: Api<Lease> = Api::namespaced(client, &config.namespace);
        let lease = format!("{}/{}", config.namespace, config.name);
        let seconds = i32::try_from(config.lease_seconds.max(1)).unwrap_or(i32::MAX);
        let lock_err = |action, source| ClusterError::Lock { action, lease: lease.clone(), source };
        let mut last_conflict = None;
        // Each conflict means someone else wrote in between: read again and decide again, a few times at most.
        for _ in 0..3 {
            let now = Timestamp::now();
            let written = match api.get_opt(&config.name).await.map_err(|e| lock_err("read", e))? {
                None => {
                    let fresh = Lease {
                        metadata: ObjectMeta { name: Some(config.name.clone()), ..ObjectMeta::default() },
                        spec: Some(our_spec(holder, seconds, now, None)),
                    };
                    api.create(&PostParams::default(), &fresh).await
                }
                Some(mut existing) => match decide(existing.spec.as_ref(), holder, now) {
                    LeaseDecision::Held { holder, expires } => {
                        return Err(ClusterError::LockHeld { holder, lease, expires: expires.to_string() });
                    }
                    LeaseDecision::Take => {
                        existing.spec = Some(our_spec(holder, seconds, now, existing.spec.as_ref()));
                        // metadata.resourceVersion is the one read: a concurrent taker makes this 409.
                        api.replace(&config.name, &PostParams::default(), &existing).await
                    }
                },
            };
            match written {
                Ok(_) => {
                    let cancel = CancellationToken::new();
                    let lost = Arc::new(AtomicBool::new(false));
                    let period = Duration::from_secs((config.lease_seconds / 3).max(1));
                    let renew = tokio::spawn(renew_loop(
                        api.clone(),
                        config.name.clone(),
                        holder.to_owned(),
                        period,
                        cancel.clone(),
                        Arc::clone(&lost),
                    ));
                    return Ok(RunLock {
                        api,
                        lease,
                        name: config.name.clone(),
                        holder: holder.to_owned(),
                        cancel,
                        renew,
                        lost,
                    });
                }
                Err(kube::Error::Api(s)) if s.code == 409 => last_conflict = Some(kube::Error::Api(s)),
                Err(e) => return Err(lock_err("write", e)),
            }
        }
        match last_conflict {
            Some(e) => Err(lock_err("acquire", e)),
            None => Err(ClusterError::LockHeld { holder: "unknown".into(), lease, expires: "unknown".into() }),
        }
    }

    /// Who we are in the lease.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// True once a renewal found someone else holding the lease (we were too slow to renew).
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Stops renewing and clears the holder so the next run need not wait for expiry. The lease object stays
    /// (least privilege: leases get/create/update, no delete).
    pub async fn release(self) -> Result<(), ClusterError> {
        self.cancel.cancel();
        if let Err(e) = self.renew.await {
            tracing::warn!("run lock renew task ended abnormally: {e}");
        }
        let lock_err = |source| ClusterError::Lock { action: "release", lease: self.lease.clone(), source };
        let Some(mut lease) = self.api.get_opt(&self.name).await.map_err(lock_err)? else { return Ok(()) };
        if lease.spec.as_ref().and_then(|s| s.holder_identity.as_deref()) != Some(self.holder.as_str()) {
            return Ok(());
        }
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.renew_time = None;
        }
        self.api.replace(&self.name, &PostParams::default(), &lease).await.map_err(lock_err)?;
        Ok(())
    }
}

async fn renew_loop(
    api: Api<Lease>,
    name: String,
    holder: String,
    period: Duration,
    cancel: CancellationToken,
    lost: Arc<AtomicBool>,
) {
    loop {
        // Renew every third of the lease: two renewals may fail before anyone else may take it.
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(period) => {}
        }
        let mut lease = match api.get_opt(&name).await {
            Ok(Some(l)) => l,
            Ok(None) => {
                tracing::warn!("run lock {name} disappeared; another run may start");
                lost.store(true, Ordering::SeqCst);
                return;
            }
            Err(e) => {
                tracing::warn!("failed to read run lock {name} for renewal: {e}");
                continue;
            }
        };
        let Some(spec) = lease.spec.as_mut() else { continue };
        if spec.holder_identity.as_deref() != Some(holder.as_str()) {
            tracing::warn!(
                "run lock {name} was taken over by {}; another run may be working on this cluster",
                spec.holder_identity.as_deref().unwrap_or("nobody")
            );
            lost.store(true, Ordering::SeqCst);
            return;
        }
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        if let Err(e) = api.replace(&name, &PostParams::default(), &lease).await {
            tracing::warn!("failed to renew run lock {name}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("ts")
    }

    fn spec(holder: Option<&str>, renew: Option<&str>, secs: Option<i32>) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_owned),
            renew_time: renew.map(|r| MicroTime(ts(r))),
            lease_duration_seconds: secs,
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn lease_state_machine() {
        let now = ts("2026-01-01T00:01:00Z");
        assert_eq!(decide(None, "me", now), LeaseDecision::Take);
        assert_eq!(decide(Some(&spec(None, None, Some(60))), "me", now), LeaseDecision::Take);
        assert_eq!(decide(Some(&spec(Some(""), None, Some(60))), "me", now), LeaseDecision::Take);
        // Held by someone else, renewed 30 s ago with 60 s duration.
        assert_eq!(
            decide(Some(&spec(Some("other"), Some("2026-01-01T00:00:30Z"), Some(60))), "me", now),
            LeaseDecision::Held { holder: "other".into(), expires: ts("2026-01-01T00:01:30Z") }
        );
        // Expired exactly now: taken over.
        assert_eq!(
            decide(Some(&spec(Some("other"), Some("2026-01-01T00:00:00Z"), Some(60))), "me", now),
            LeaseDecision::Take
        );
        // Ours already (a retry after a lost response).
        assert_eq!(
            decide(Some(&spec(Some("me"), Some("2026-01-01T00:00:59Z"), Some(60))), "me", now),
            LeaseDecision::Take
        );
        // No time or no duration: nothing proves it is alive.
        assert_eq!(decide(Some(&spec(Some("other"), None, Some(60))), "me", now), LeaseDecision::Take);
        assert_eq!(
            decide(Some(&spec(Some("other"), Some("2026-01-01T00:00:59Z"), None)), "me", now),
            LeaseDecision::Take
        );
    }

    #[test]
    fn transitions_count_changes_of_hands() {
        let now = ts("2026-01-01T00:00:00Z");
        let mut prev = spec(Some("other"), None, Some(60));
        prev.lease_transitions = Some(2);
        assert_eq!(our_spec("me", 60, now, Some(&prev)).lease_transitions, Some(3));
        prev.holder_identity = None;
        assert_eq!(our_spec("me", 60, now, Some(&prev)).lease_transitions, Some(2));
        assert!(holder_identity().starts_with("aks-spot-test@"));
    }
}
