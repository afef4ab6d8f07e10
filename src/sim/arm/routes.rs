//! The ARM endpoint's axum router: token endpoints, auth/api-version/throttle guard, scale-set and
//! VM reads, batch delete as a long-running operation, and operation status.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::faults::ArmFaults;
use super::json;
use super::token::{self, Tokens};
use crate::sim::request_log::{self, LogLayerState, RequestLog};
use crate::sim::world::{World, k8s_time};

/// api-version stated in operation URLs (the one azure_mgmt_compute 0.21 sends by default).
const API_VERSION: &str = "2024-07-01";

/// One batch delete.
#[derive(Debug, Clone)]
struct Operation {
    status: &'static str,
    start: String,
    end: Option<String>,
}

/// Everything the ARM endpoint answers from.
#[derive(Debug, Clone)]
pub struct ArmState {
    pub world: Arc<World>,
    pub faults: ArmFaults,
    pub tokens: Tokens,
    pub log: RequestLog,
    /// `http://127.0.0.1:<port>`, for absolute operation URLs.
    pub base_url: String,
    operations: Arc<Mutex<HashMap<String, Operation>>>,
}

impl ArmState {
    pub fn new(world: Arc<World>, faults: ArmFaults, tokens: Tokens, log: RequestLog, base_url: String) -> Self {
        ArmState { world, faults, tokens, log, base_url, operations: Arc::default() }
    }

    fn ops(&self) -> std::sync::MutexGuard<'_, HashMap<String, Operation>> {
        self.operations.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn arm_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json::error(code, message))).into_response()
}

/// The ARM router, request-log middleware (endpoint `arm`) included.
pub fn router(state: ArmState) -> Router {
    let log = LogLayerState { endpoint: "arm", log: state.log.clone() };
    let rg = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets";
    let arm = Router::new()
        .route(rg, get(list_scale_sets))
        .route(&format!("{rg}/{{vmss}}"), get(get_scale_set))
        .route(&format!("{rg}/{{vmss}}/virtualMachines"), get(list_vms))
        .route(&format!("{rg}/{{vmss}}/virtualMachines/{{id}}"), get(get_vm))
        .route(&format!("{rg}/{{vmss}}/delete"), post(delete_instances))
        .route("/subscriptions/{sub}/providers/Microsoft.Compute/locations/{loc}/operations/{op}", get(get_operation))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard));
    Router::new()
        .route("/metadata/identity/oauth2/token", get(imds_token))
        .route("/{tenant}/oauth2/v2.0/token", post(entra_token))
        .merge(arm)
        .layer(middleware::from_fn_with_state(log, request_log::record))
        .with_state(state)
}

async fn not_found() -> Response {
    arm_error(
        StatusCode::NOT_FOUND,
        "InvalidResourceType",
        "The resource type could not be found in the namespace 'Microsoft.Compute'.",
    )
}

/// Bearer token, then api-version, then injected throttling: the order ARM applies them.
async fn guard(State(state): State<ArmState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path.starts_with("/metadata/") || path.contains("/oauth2/") {
        return next.run(req).await;
    }
    let sent = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match sent.and_then(|s| s.strip_prefix("Bearer ")) {
        None => {
            return arm_error(
                StatusCode::UNAUTHORIZED,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            );
        }
        Some(t) if !state.tokens.is_valid(t.trim()) => {
            return arm_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "The access token is invalid.");
        }
        Some(_) => {}
    }
    let has_version =
        req.uri().query().is_some_and(|q| q.split('&').any(|kv| kv.starts_with("api-version=") && kv.len() > 12));
    if !has_version {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    }
    if let Some(secs) = state.faults.take_throttle() {
        let mut resp = arm_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "The request is being throttled as the limit has been reached for operation type - Read_30Min.",
        );
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp.headers_mut().insert(
            "x-ms-ratelimit-remaining-resource",
            HeaderValue::from_static("Microsoft.Compute/GetVMScaleSet30Min;0"),
        );
        return resp;
    }
    next.run(req).await
}

async fn imds_token(
    State(state): State<ArmState>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if headers.get("Metadata").and_then(|v| v.to_str().ok()) != Some("true") {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"error": "invalid_request", "error_description": "Required metadata header not specified"}),
            ),
        )
            .into_response();
    }
    let Some(resource) = q.get("resource") else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_request", "error_description": "Required query variable 'resource' is missing"}))).into_response();
    };
    if !q.contains_key("api-version") {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_request", "error_description": "Required query variable 'api-version' is missing"}))).into_response();
    }
    let t = state.tokens.issue();
    axum::Json(token::imds_body(&t, resource, q.get("client_id").map(String::as_str))).into_response()
}

async fn entra_token(State(state): State<ArmState>, Path(_tenant): Path<String>, body: String) -> Response {
    let fields = token::form_fields(&body);
    let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
    if get("grant_type") != Some("client_credentials") || get("client_id").is_none() {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "unsupported_grant_type",
            "error_description": "AADSTS70003: The app requested an unsupported grant type; only client_credentials is simulated."}))).into_response();
    }
    if get("client_secret").is_none() && get("client_assertion").is_none() {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_client",
            "error_description": "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type."}))).into_response();
    }
    axum::Json(token::entra_body(&state.tokens.issue())).into_response()
}

fn check_scope(state: &ArmState, sub: &str, rg: &str) -> Result<(), Box<Response>> {
    let info = &state.world.info;
    if !sub.eq_ignore_ascii_case(&info.subscription_id) {
        return Err(Box::new(arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            &format!("The subscription '{sub}' could not be found."),
        )));
    }
    if !rg.eq_ignore_ascii_case(&info.node_resource_group) {
        return Err(Box::new(arm_error(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            &format!("Resource group '{rg}' could not be found."),
        )));
    }
    Ok(())
}

fn vmss_not_found(rg: &str, vmss: &str) -> Response {
    arm_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        &format!(
            "The Resource 'Microsoft.Compute/virtualMachineScaleSets/{vmss}' under resource group '{rg}' was not found."
        ),
    )
}

async fn list_scale_sets(State(state): State<ArmState>, Path((sub, rg)): Path<(String, String)>) -> Response {
    if let Err(r) = check_scope(&state, &sub, &rg) {
        return *r;
    }
    let info = &state.world.info;
    let value: Vec<Value> = state.world.cloud().scale_sets.values().map(|s| json::scale_set(info, s)).collect();
    axum::Json(json!({"value": value})).into_response()
}

async fn get_scale_set(
    State(state): State<ArmState>,
    Path((sub, rg, vmss)): Path<(String, String, String)>,
) -> Response {
    if let Err(r) = check_scope(&state, &sub, &rg) {
        return *r;
    }
    let cloud = state.world.cloud();
    match cloud.scale_sets.get(&vmss) {
        Some(s) => axum::Json(json::scale_set(&state.world.info, s)).into_response(),
        None => vmss_not_found(&rg, &vmss),
    }
}

fn wants_instance_view(q: &BTreeMap<String, String>) -> bool {
    q.get("$expand").is_some_and(|e| e.eq_ignore_ascii_case("instanceView"))
}

/// VMs per list page; longer lists continue at an absolute `nextLink`, as ARM pages them.
const VM_PAGE: usize = 500;

async fn list_vms(
    State(state): State<ArmState>,
    Path((sub, rg, vmss)): Path<(String, String, String)>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if let Err(r) = check_scope(&state, &sub, &rg) {
        return *r;
    }
    let cloud = state.world.cloud();
    let Some(set) = cloud.scale_sets.get(&vmss) else { return vmss_not_found(&rg, &vmss) };
    let expand = wants_instance_view(&q);
    // The skip token is the last instance id of the previous page.
    let after: Option<u64> = q.get("$skiptoken").and_then(|s| s.parse().ok());
    let range = match after {
        Some(a) => set.vms.range((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)),
        None => set.vms.range(..),
    };
    let page: Vec<&crate::sim::world::Vm> = range.take(VM_PAGE + 1).map(|(_, vm)| vm).collect();
    let more = page.len() > VM_PAGE;
    let page = &page[..page.len().min(VM_PAGE)];
    let value: Vec<Value> = page.iter().map(|vm| json::vm(&state.world.info, set, vm, expand)).collect();
    let mut body = json!({"value": value});
    if let (true, Some(last)) = (more, page.last()) {
        let api = q.get("api-version").map_or(API_VERSION, String::as_str);
        let mut next = format!(
            "{}/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{vmss}/virtualMachines?api-version={api}&$skiptoken={}",
            state.base_url, last.instance_id
        );
        if expand {
            next.push_str("&$expand=instanceView");
        }
        body["nextLink"] = json!(next);
    }
    axum::Json(body).into_response()
}

async fn get_vm(
    State(state): State<ArmState>,
    Path((sub, rg, vmss, id)): Path<(String, String, String, String)>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if let Err(r) = check_scope(&state, &sub, &rg) {
        return *r;
    }
    let cloud = state.world.cloud();
    let Some(set) = cloud.scale_sets.get(&vmss) else { return vmss_not_found(&rg, &vmss) };
    match id.parse::<u64>().ok().and_then(|i| set.vms.get(&i)) {
        Some(vm) => axum::Json(json::vm(&state.world.info, set, vm, wants_instance_view(&q))).into_response(),
        None => arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("The entity was not found in this Azure location. Instance '{id}' of scale set '{vmss}'."),
        ),
    }
}

async fn delete_instances(
    State(state): State<ArmState>,
    Path((sub, rg, vmss)): Path<(String, String, String)>,
    body: String,
) -> Response {
    if let Err(r) = check_scope(&state, &sub, &rg) {
        return *r;
    }
    let parsed: Option<Vec<u64>> = serde_json::from_str::<Value>(&body).ok().and_then(|v| {
        v["instanceIds"]
            .as_array()
            .map(|ids| ids.iter().filter_map(|i| i.as_str().and_then(|s| s.parse().ok())).collect())
    });
    let Some(ids) = parsed.filter(|ids| !ids.is_empty()) else {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "Required parameter 'instanceIds' is missing (null) or empty.",
        );
    };
    {
        let mut cloud = state.world.cloud();
        let Some(set) = cloud.scale_sets.get_mut(&vmss) else { return vmss_not_found(&rg, &vmss) };
        if let Some(bad) = ids.iter().find(|i| !set.vms.contains_key(i)) {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidParameter",
                &format!("The provided instanceId {bad} is not an active Virtual Machine Scale Set VM instanceId."),
            );
        }
        for id in &ids {
            if let Some(vm) = set.vms.get_mut(id) {
                vm.provisioning_state = "Deleting".into();
            }
        }
    }
    let op_id = uuid::Uuid::new_v4().to_string();
    let now = k8s_time(jiff::Timestamp::now().as_second());
    state.ops().insert(op_id.clone(), Operation { status: "InProgress", start: now, end: None });
    let duration = state
        .faults
        .delete_duration()
        .unwrap_or_else(|| Duration::from_secs_f64(state.world.scenario.timings.delete_operation_seconds.max(0.0)));
    let fail = state.faults.take_failed_delete();
    let bg = state.clone();
    let op = op_id.clone();
    tokio::spawn(async move {
        // The operation's length is the scenario's (or an injected) delay.
        tokio::time::sleep(duration).await;
        finish_delete(&bg, &vmss, &ids, &op, fail);
    });
    let loc = &state.world.info.region;
    let op_url = format!(
        "{}/subscriptions/{}/providers/Microsoft.Compute/locations/{loc}/operations/{op_id}?api-version={API_VERSION}",
        state.base_url, state.world.info.subscription_id
    );
    let mut resp = StatusCode::ACCEPTED.into_response();
    let h = resp.headers_mut();
    let retry = state.world.scenario.timings.delete_retry_after_seconds.to_string();
    for (name, value) in [
        ("azure-asyncoperation", op_url.clone()),
        ("location", format!("{op_url}&monitor=true")),
        ("retry-after", retry),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    resp
}

fn finish_delete(state: &ArmState, vmss: &str, ids: &[u64], op: &str, fail: bool) {
    let end = k8s_time(jiff::Timestamp::now().as_second());
    if fail {
        let mut cloud = state.world.cloud();
        if let Some(set) = cloud.scale_sets.get_mut(vmss) {
            for id in ids {
                if let Some(vm) = set.vms.get_mut(id) {
                    vm.provisioning_state = "Failed".into();
                }
            }
        }
    } else {
        for name in state.world.remove_vms(vmss, ids) {
            state.world.remove_node_of_deleted_vm(&name);
        }
    }
    if let Some(o) = state.ops().get_mut(op) {
        o.status = if fail { "Failed" } else { "Succeeded" };
        o.end = Some(end);
    }
}

async fn get_operation(
    State(state): State<ArmState>,
    Path((_sub, _loc, op)): Path<(String, String, String)>,
) -> Response {
    let Some(o) = state.ops().get(&op).cloned() else {
        return arm_error(StatusCode::NOT_FOUND, "NotFound", &format!("Operation '{op}' was not found."));
    };
    let mut body = json!({"name": op, "status": o.status, "startTime": o.start});
    if let Some(end) = o.end {
        body["endTime"] = json!(end);
    }
    if o.status == "Failed" {
        body["error"] = json!({"code": "InternalOperationError", "message": "The delete of one or more instances failed; the VMs remain."});
    }
    let mut resp = axum::Json(body).into_response();
    if o.status == "InProgress" {
        if let Ok(v) = HeaderValue::from_str(&state.world.scenario.timings.delete_retry_after_seconds.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    resp
}
