//! API errors as the real server sends them: metav1.Status JSON with `code`, `reason` and `details`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Status, StatusCause, StatusDetails};

use crate::sim::store::{ResourceKind, StoreError};

/// Everything the simulated API server can refuse, with what it refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ApiError {
    #[error("{plural} \"{name}\" not found")]
    NotFound { group: &'static str, plural: &'static str, name: String },
    #[error("{plural} \"{name}\" already exists")]
    AlreadyExists { group: &'static str, plural: &'static str, name: String },
    #[error(
        "Operation cannot be fulfilled on {plural} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
    )]
    Conflict { group: &'static str, plural: &'static str, name: String },
    #[error("too old resource version: {requested} ({oldest})")]
    Gone { requested: u64, oldest: u64 },
    #[error("Cannot evict pod as it would violate the pod's disruption budget.")]
    DisruptionBudget { pod: String, pdb: String, desired: i64, current: i64 },
    #[error("Unauthorized")]
    Unauthorized,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    #[error("the server could not find the requested resource")]
    UnknownPath,
    #[error("the server is currently unable to handle the request")]
    Unavailable,
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// Attaches the resource a store error was about.
    pub fn from_store(kind: ResourceKind, err: StoreError) -> Self {
        match err {
            StoreError::NotFound { name, .. } => {
                ApiError::NotFound { group: kind.group(), plural: kind.plural(), name }
            }
            StoreError::AlreadyExists { name, .. } => {
                ApiError::AlreadyExists { group: kind.group(), plural: kind.plural(), name }
            }
            StoreError::Conflict { name, .. } => {
                ApiError::Conflict { group: kind.group(), plural: kind.plural(), name }
            }
            StoreError::Gone { requested, oldest } => ApiError::Gone { requested, oldest },
            StoreError::Invalid(msg) => ApiError::BadRequest(msg),
        }
    }

    pub fn code(&self) -> StatusCode {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownPath => StatusCode::NOT_FOUND,
            ApiError::AlreadyExists { .. } | ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Gone { .. } => StatusCode::GONE,
            ApiError::DisruptionBudget { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The metav1 StatusReason.
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownPath => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::Gone { .. } => "Expired",
            ApiError::DisruptionBudget { .. } => "TooManyRequests",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::MethodNotAllowed => "MethodNotAllowed",
            ApiError::Unavailable => "ServiceUnavailable",
            ApiError::Internal(_) => "InternalError",
        }
    }

    /// The metav1.Status the real server would send.
    pub fn to_status(&self) -> Status {
        let details = match self {
            ApiError::NotFound { group, plural, name }
            | ApiError::AlreadyExists { group, plural, name }
            | ApiError::Conflict { group, plural, name } => Some(StatusDetails {
                name: Some(name.clone()),
                group: (!group.is_empty()).then(|| group.to_string()),
                kind: Some(plural.to_string()),
                ..Default::default()
            }),
            ApiError::DisruptionBudget { pdb, desired, current, .. } => Some(StatusDetails {
                causes: Some(vec![StatusCause {
                    reason: Some("DisruptionBudget".into()),
                    message: Some(format!(
                        "The disruption budget {pdb} needs {desired} healthy pods and has {current} currently"
                    )),
                    field: None,
                }]),
                ..Default::default()
            }),
            ApiError::Unavailable => Some(StatusDetails { retry_after_seconds: Some(1), ..Default::default() }),
            _ => None,
        };
        Status {
            code: Some(i32::from(self.code().as_u16())),
            details,
            message: Some(self.to_string()),
            metadata: Default::default(),
            reason: Some(self.reason().into()),
            status: Some("Failure".into()),
        }
    }

    /// The Status as JSON, `kind` and `apiVersion` included.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self.to_status()).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.insert("kind".into(), "Status".into());
            m.insert("apiVersion".into(), "v1".into());
        }
        v
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.to_json()).unwrap_or_default();
        let mut resp = (self.code(), body).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if matches!(self, ApiError::Unavailable) {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_reads_like_the_real_server() {
        let e = ApiError::from_store(ResourceKind::Pod, StoreError::NotFound { kind: "Pod", name: "web-1".into() });
        let v = e.to_json();
        assert_eq!(v["kind"], "Status");
        assert_eq!(v["code"], 404);
        assert_eq!(v["reason"], "NotFound");
        assert_eq!(v["message"], "pods \"web-1\" not found");
        assert_eq!(v["details"]["kind"], "pods");
    }

    #[test]
    fn gone_is_expired_410() {
        let v = ApiError::Gone { requested: 3, oldest: 9 }.to_json();
        assert_eq!(v["code"], 410);
        assert_eq!(v["reason"], "Expired");
    }
}
