//! The API server's axum router: request log, auth and fault layers around discovery and resource handlers.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::faults::KubeFaults;
use super::status::ApiError;
use super::{discovery, handlers};
use crate::sim::request_log::{self, LogLayerState, RequestLog};
use crate::sim::store::Store;

/// Everything the API server answers from.
#[derive(Debug, Clone)]
pub struct KubeApiState {
    pub store: Arc<Store>,
    /// The bearer token every request must carry.
    pub token: String,
    pub faults: KubeFaults,
    pub log: RequestLog,
}

/// The Kubernetes API router, request-log middleware (endpoint `kube`) included.
pub fn router(state: KubeApiState) -> Router {
    let log = LogLayerState { endpoint: "kube", log: state.log.clone() };
    Router::new()
        .route("/version", get(discovery::version))
        .route("/version/", get(discovery::version))
        .route("/healthz", get(discovery::healthz))
        .route("/livez", get(discovery::healthz))
        .route("/readyz", get(discovery::healthz))
        .route("/api", get(discovery::api_versions))
        .route("/api/", get(discovery::api_versions))
        .route("/api/v1", get(discovery::core_resources))
        .route("/api/v1/", get(discovery::core_resources))
        .route("/apis", get(discovery::api_groups))
        .route("/apis/", get(discovery::api_groups))
        .route("/apis/{group}", get(discovery::api_group))
        .route("/apis/{group}/{version}", get(discovery::group_resources))
        .fallback(handlers::dispatch)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(middleware::from_fn_with_state(log, request_log::record))
        .with_state(state)
}

/// Paths the real server answers without credentials.
fn is_public(path: &str) -> bool {
    matches!(path, "/version" | "/version/" | "/healthz" | "/livez" | "/readyz")
}

/// Faults first (a down server cannot authenticate anyone), then the bearer token.
async fn guard(State(state): State<KubeApiState>, req: Request, next: Next) -> Response {
    let latency = state.faults.latency();
    if !latency.is_zero() {
        // Injected latency is bounded by whatever the test set; nothing to time out here.
        tokio::time::sleep(latency).await;
    }
    if state.faults.is_down() {
        return ApiError::Unavailable.into_response();
    }
    if !is_public(req.uri().path()) {
        let ok = match req.headers().get(header::AUTHORIZATION) {
            None => state.faults.anonymous(),
            Some(v) => v.to_str().ok().and_then(|s| s.strip_prefix("Bearer ")).is_some_and(|t| t.trim() == state.token),
        };
        if !ok {
            return ApiError::Unauthorized.into_response();
        }
    }
    next.run(req).await
}
