//! The Compute side of remediation: list AKS-managed scale sets in the node resource group, list their VMs with
//! instance view, and delete instances in one batch per scale set, polling the long-running operation.
//!
//! Exactly one retry layer: azure_core's own retry is off, a per-retry policy turns 408/429/5xx into an error that
//! carries `Retry-After`, and `with_retry` retries those on the design's 2 s / 4 s / 8 s schedule, attempts capped.
//!
//! Input format: ARM JSON (api-version 2024-07-01), through `azure_mgmt_compute` models; operation status
//! `{"status": "InProgress" | "Succeeded" | "Failed" | "Canceled", "error": {...}}`.

use std::sync::Arc;
use std::time::Duration;

use azure_core::auth::TokenCredential;
use azure_core::error::{Error as CoreError, ErrorKind};
use azure_core::headers::{HeaderName, Headers};
use azure_core::lro::location::{FinalState, get_location};
use azure_core::{ClientOptions, Context, HttpClient, Method, Policy, PolicyResult, Request, RetryOptions, Url};
use futures::TryStreamExt;
use jiff::Timestamp;

use crate::azure::credential::ARM_SCOPE;
use crate::azure::error::AzureError;

/// Scale-set tag AKS puts on every scale set it manages; only those are in scope.
pub const POOL_TAG: &str = "aks-managed-poolName";
/// The design's retry schedule for throttled or failing ARM calls.
pub const RETRY_DELAYS: [Duration; 3] = [Duration::from_secs(2), Duration::from_secs(4), Duration::from_secs(8)];
/// A Retry-After longer than this is clamped: a run waits minutes at most, never hours.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// An AKS-managed scale set.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleSetInfo {
    pub name: String,
    pub pool: String,
}

/// A scale-set VM as remediation sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VmInfo {
    pub scale_set: String,
    pub pool: String,
    pub instance_id: String,
    /// ARM resource id, lower-cased (matches a node's providerID without `azure://`).
    pub resource_key: String,
    pub provisioning_state: Option<String>,
    /// `running`, `deallocated`, `stopped`, ... from `PowerState/<x>`.
    pub power_state: Option<String>,
    pub time_created: Option<Timestamp>,
}

/// The error a 408/429/5xx answer becomes, so the retry layer can read its Retry-After.
#[derive(Debug, thiserror::Error)]
#[error("ARM answered {status}")]
pub struct Retryable {
    pub status: u16,
    pub retry_after: Option<Duration>,
}

/// Turns retryable answers into `Retryable` errors (azure_core errors do not carry headers).
#[derive(Debug)]
struct RetryablePolicy;

#[async_trait::async_trait]
impl Policy for RetryablePolicy {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        let Some((first, rest)) = next.split_first() else {
            return Err(CoreError::message(ErrorKind::Other, "retryable policy is the last in the pipeline"));
        };
        let response = first.send(ctx, request, rest).await?;
        match retryable(u16::from(response.status()), response.headers()) {
            Some(r) => Err(CoreError::full(
                ErrorKind::HttpResponse { status: response.status(), error_code: None },
                r,
                "retryable ARM answer",
            )),
            None => Ok(response),
        }
    }
}

fn retryable(status: u16, headers: &Headers) -> Option<Retryable> {
    if status == 408 || status == 429 || (500..600).contains(&status) {
        let retry_after = headers
            .get_optional_str(&HeaderName::from_static("retry-after"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Some(Retryable { status, retry_after })
    } else {
        None
    }
}

/// The `Retryable` somewhere in an error's source chain.
fn find_retryable<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a Retryable> {
    let mut cur: Option<&'a (dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<Retryable>() {
            return Some(r);
        }
        cur = e.source();
    }
    None
}

/// The 2 s / 4 s / 8 s schedule, then stop.
#[derive(Debug)]
struct Schedule {
    delays: Vec<Duration>,
    next: usize,
}

impl backoff::backoff::Backoff for Schedule {
    fn next_backoff(&mut self) -> Option<Duration> {
        let d = self.delays.get(self.next).copied();
        self.next += 1;
        d
    }
    fn reset(&mut self) {
        self.next = 0;
    }
}

/// Compute client for one ARM endpoint.
#[derive(Clone)]
pub struct ComputeClient {
    client: azure_mgmt_compute::Client,
    cred: Arc<dyn TokenCredential>,
    http: Arc<dyn HttpClient>,
    delays: Vec<Duration>,
}

impl std::fmt::Debug for ComputeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComputeClient").field("delays", &self.delays).finish_non_exhaustive()
    }
}

impl ComputeClient {
    /// A client for `endpoint` (the public cloud's or the simulator's); the scope is set explicitly because a
    /// changed endpoint would otherwise change it too.
    pub fn new(endpoint: &str, cred: Arc<dyn TokenCredential>) -> Result<Self, AzureError> {
        let url = Url::parse(endpoint)
            .map_err(|e| AzureError::ArmEndpoint { endpoint: endpoint.to_owned(), reason: e.to_string() })?;
        let mut options = ClientOptions::default().retry(RetryOptions::none());
        options.per_retry_policies_mut().push(Arc::new(RetryablePolicy));
        let client = azure_mgmt_compute::Client::new(url, cred.clone(), vec![ARM_SCOPE.to_owned()], options);
        Ok(ComputeClient { client, cred, http: azure_core::new_http_client(), delays: RETRY_DELAYS.to_vec() })
    }

    /// Replaces the retry schedule (tests use short ones).
    pub fn with_delays(mut self, delays: Vec<Duration>) -> Self {
        self.delays = delays;
        self
    }

    /// Runs `op`, retrying retryable answers on the schedule; Retry-After wins over the schedule's delay but still
    /// counts as an attempt, so a server that throttles forever ends the retries.
    async fn with_retry<T, F, Fut>(&self, what: &str, op: F) -> Result<T, AzureError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = azure_core::Result<T>>,
    {
        let attempts = std::sync::atomic::AtomicUsize::new(0);
        let max = self.delays.len();
        let policy = Schedule { delays: self.delays.clone(), next: 0 };
        backoff::future::retry(policy, || async {
            let n = attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            match op().await {
                Ok(v) => Ok(v),
                Err(e) => match find_retryable(&e).map(|r| r.retry_after) {
                    Some(_) if n >= max => Err(backoff::Error::permanent(e)),
                    Some(Some(after)) => {
                        tracing::debug!("{what}: throttled, retrying after {after:?}");
                        Err(backoff::Error::retry_after(e, after.min(MAX_RETRY_AFTER)))
                    }
                    Some(None) => Err(backoff::Error::transient(e)),
                    None => Err(backoff::Error::permanent(e)),
                },
            }
        })
        .await
        .map_err(|source| {
            let tries = attempts.load(std::sync::atomic::Ordering::SeqCst);
            AzureError::Compute { op: format!("{what} (after {tries} attempts)"), source }
        })
    }

    /// Scale sets tagged `aks-managed-poolName` in `resource_group`.
    pub async fn list_scale_sets(
        &self,
        subscription: &str,
        resource_group: &str,
    ) -> Result<Vec<ScaleSetInfo>, AzureError> {
        let what = format!("list scale sets in {resource_group}");
        let pages: Vec<azure_mgmt_compute::models::VirtualMachineScaleSetListResult> = self
            .with_retry(&what, || {
                self.client
                    .virtual_machine_scale_sets_client()
                    .list(resource_group, subscription)
                    .into_stream()
                    .try_collect()
            })
            .await?;
        Ok(pages
            .into_iter()
            .flat_map(|p| p.value)
            .filter_map(|s| {
                let pool = s.resource.tags.as_ref()?.get(POOL_TAG)?.as_str()?.to_owned();
                Some(ScaleSetInfo { name: s.resource.name?, pool })
            })
            .collect())
    }

    /// The VMs of `set`, with instance view.
    pub async fn list_vms(
        &self,
        subscription: &str,
        resource_group: &str,
        set: &ScaleSetInfo,
    ) -> Result<Vec<VmInfo>, AzureError> {
        let what = format!("list VMs of scale set {}", set.name);
        let pages: Vec<azure_mgmt_compute::models::VirtualMachineScaleSetVmListResult> = self
            .with_retry(&what, || {
                self.client
                    .virtual_machine_scale_set_v_ms_client()
                    .list(resource_group, &set.name, subscription)
                    .expand("instanceView")
                    .into_stream()
                    .try_collect()
            })
            .await?;
        Ok(pages.into_iter().flat_map(|p| p.value).map(|vm| vm_info(set, vm)).collect())
    }

    /// Deletes `instance_ids` of `scale_set` in one batch and polls the operation until it ends or `timeout`
    /// passes. Ok only when the operation Succeeded.
    pub async fn delete_instances(
        &self,
        subscription: &str,
        resource_group: &str,
        scale_set: &str,
        instance_ids: &[String],
        timeout: Duration,
    ) -> Result<(), AzureError> {
        let what = format!("delete instances {instance_ids:?} of scale set {scale_set}");
        let ids = azure_mgmt_compute::models::VirtualMachineScaleSetVmInstanceRequiredIDs::new(instance_ids.to_vec());
        let response = self
            .with_retry(&what, || {
                self.client
                    .virtual_machine_scale_sets_client()
                    .delete_instances(resource_group, scale_set, ids.clone(), subscription)
                    .send()
            })
            .await?;
        let raw = response.as_raw_response();
        if u16::from(raw.status()) == 200 {
            return Ok(());
        }
        let url = get_location(raw.headers(), FinalState::AzureAsyncOperation)
            .ok()
            .flatten()
            .or_else(|| get_location(raw.headers(), FinalState::Location).ok().flatten())
            .ok_or_else(|| AzureError::Operation {
                op: what.clone(),
                status: "no operation URL in the answer".into(),
            })?;
        let first_wait = retry_after(raw.headers()).unwrap_or(Duration::from_secs(1));
        // The whole poll, first wait included, is bounded by `timeout`.
        match tokio::time::timeout(timeout, self.poll(&what, url, first_wait)).await {
            Ok(r) => r,
            Err(_) => Err(AzureError::Timeout { op: what, seconds: timeout.as_secs() }),
        }
    }

    async fn poll(&self, what: &str, url: Url, mut wait: Duration) -> Result<(), AzureError> {
        loop {
            tokio::time::sleep(wait.min(MAX_RETRY_AFTER)).await;
            let (status, after) = self.with_retry(what, || self.get_status(url.clone())).await?;
            match status.as_str() {
                "Succeeded" => return Ok(()),
                "InProgress" | "Running" | "Accepted" => wait = after.unwrap_or(Duration::from_secs(1)),
                other => return Err(AzureError::Operation { op: what.to_owned(), status: other.to_owned() }),
            }
        }
    }

    /// GETs an operation status URL with a bearer token; the answer's `status` and Retry-After.
    async fn get_status(&self, url: Url) -> azure_core::Result<(String, Option<Duration>)> {
        let token = self.cred.get_token(&[ARM_SCOPE]).await?;
        let mut request = Request::new(url, Method::Get);
        request.insert_header("authorization", format!("Bearer {}", token.token.secret()));
        let response = self.http.execute_request(&request).await?;
        let (status, headers, body) = response.deconstruct();
        if let Some(r) = retryable(u16::from(status), &headers) {
            return Err(CoreError::full(ErrorKind::HttpResponse { status, error_code: None }, r, "retryable"));
        }
        let body = body.collect().await?;
        if !status.is_success() {
            return Err(CoreError::with_message(ErrorKind::HttpResponse { status, error_code: None }, || {
                format!("operation status answered {status}: {}", String::from_utf8_lossy(&body))
            }));
        }
        let value: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| CoreError::full(ErrorKind::DataConversion, e, "operation status is not JSON"))?;
        let state = value.get("status").and_then(|s| s.as_str()).unwrap_or("Unknown").to_owned();
        let state = match value.pointer("/error/message").and_then(|m| m.as_str()) {
            Some(msg) if state != "Succeeded" => format!("{state}: {msg}"),
            _ => state,
        };
        Ok((state, retry_after(&headers)))
    }
}

fn retry_after(headers: &Headers) -> Option<Duration> {
    headers
        .get_optional_str(&HeaderName::from_static("retry-after"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn vm_info(set: &ScaleSetInfo, vm: azure_mgmt_compute::models::VirtualMachineScaleSetVm) -> VmInfo {
    let props = vm.properties.unwrap_or_default();
    let power_state = props.instance_view.as_ref().and_then(|iv| {
        iv.statuses.iter().find_map(|s| s.code.as_deref()?.strip_prefix("PowerState/").map(str::to_owned))
    });
    VmInfo {
        scale_set: set.name.clone(),
        pool: set.pool.clone(),
        instance_id: vm.instance_id.unwrap_or_default(),
        resource_key: vm.resource.id.unwrap_or_default().to_ascii_lowercase(),
        provisioning_state: props.provisioning_state,
        power_state,
        time_created: props.time_created.and_then(|t| Timestamp::from_second(t.unix_timestamp()).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use backoff::backoff::Backoff;

    #[test]
    fn schedule_is_two_four_eight_then_stops() {
        let mut s = Schedule { delays: RETRY_DELAYS.to_vec(), next: 0 };
        let got: Vec<_> = std::iter::from_fn(|| s.next_backoff()).collect();
        assert_eq!(got, RETRY_DELAYS.to_vec());
    }

    #[test]
    fn retryable_reads_retry_after_and_ignores_client_errors() {
        let mut h = Headers::new();
        h.insert("retry-after", "7");
        assert_eq!(retryable(429, &h).and_then(|r| r.retry_after), Some(Duration::from_secs(7)));
        assert!(retryable(503, &Headers::new()).is_some_and(|r| r.retry_after.is_none()));
        assert!(retryable(404, &h).is_none());
        let err = CoreError::full(ErrorKind::Other, Retryable { status: 429, retry_after: None }, "x");
        assert!(find_retryable(&err).is_some());
    }

    fn client() -> ComputeClient {
        let cred =
            crate::azure::credential::ImdsCredential::with_endpoint("http://127.0.0.1:1/token", None).expect("cred");
        ComputeClient::new("http://127.0.0.1:1", Arc::new(cred)).expect("client")
    }

    fn throttled(after: Option<u64>) -> CoreError {
        CoreError::full(ErrorKind::Other, Retryable { status: 429, retry_after: after.map(Duration::from_secs) }, "429")
    }

    #[tokio::test(start_paused = true)]
    async fn retries_on_the_schedule_then_gives_up() {
        let c = client();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let start = tokio::time::Instant::now();
        let r: Result<(), _> = c
            .with_retry("op", || {
                calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async { Err(throttled(None)) }
            })
            .await;
        assert!(matches!(r, Err(AzureError::Compute { ref op, .. }) if op.contains("4 attempts")), "{r:?}");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 4);
        assert_eq!(start.elapsed(), Duration::from_secs(2 + 4 + 8));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_wins_and_success_stops_retrying() {
        let c = client();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let start = tokio::time::Instant::now();
        let r = c
            .with_retry("op", || {
                let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async move { if n < 2 { Err(throttled(Some(30))) } else { Ok(n) } }
            })
            .await;
        assert_eq!(r.expect("third call succeeds"), 2);
        assert_eq!(start.elapsed(), Duration::from_secs(60));
        let r: Result<(), _> = c.with_retry("op", || async { Err(CoreError::message(ErrorKind::Other, "404")) }).await;
        assert!(r.is_err());
    }
}
