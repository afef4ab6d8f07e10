//! Resource verbs: get, list, watch, create, update, patch, delete, status and eviction.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};

use super::router::KubeApiState;
use super::status::ApiError;

/// Answers every resource path (the router's fallback).
pub async fn dispatch(
    State(_state): State<KubeApiState>,
    _method: Method,
    _uri: Uri,
    _headers: HeaderMap,
    _body: Bytes,
) -> Response {
    ApiError::UnknownPath.into_response()
}
