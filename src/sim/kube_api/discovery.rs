//! Discovery documents (legacy JSON): /version, /api, /api/v1, /apis and the group/version resource lists.

use axum::Json;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::status::ApiError;

pub async fn version() -> Json<Value> {
    Json(json!({}))
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn api_versions() -> Json<Value> {
    Json(json!({}))
}

pub async fn core_resources() -> Json<Value> {
    Json(json!({}))
}

pub async fn api_groups() -> Json<Value> {
    Json(json!({}))
}

pub async fn api_group(Path(_group): Path<String>) -> Response {
    ApiError::UnknownPath.into_response()
}

pub async fn group_resources(Path((_group, _version)): Path<(String, String)>) -> Response {
    ApiError::UnknownPath.into_response()
}
