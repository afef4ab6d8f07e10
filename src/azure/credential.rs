//! Azure credentials: a user-assigned (or system-assigned) managed identity credential over IMDS with a token
//! cache, or azure_identity's default chain; and the pre-flight token check. Tokens are never logged.
//!
//! Input format (IMDS token response): JSON `{"access_token", "expires_on", "expires_in", ...}` where the numbers
//! may be strings (IMDS) or numbers (some emulators).

use std::collections::HashMap;
use std::sync::Arc;

use azure_core::auth::{AccessToken, TokenCredential};
use azure_core::error::{Error as CoreError, ErrorKind};
use azure_core::{HttpClient, Method, Request, Url};
use time::OffsetDateTime;

use crate::azure::error::AzureError;
use crate::report::model::{CheckStatus, PreflightCheck};

/// The ARM scope every Compute call uses.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// The Azure Instance Metadata Service token endpoint.
pub const IMDS_TOKEN_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";
/// Environment variables that override the token endpoint (first set wins): for the simulator and hosts that
/// expose the managed identity elsewhere.
pub const ENDPOINT_ENV_VARS: [&str; 2] = ["AZURE_TOKEN_ENDPOINT", "IDENTITY_ENDPOINT"];
/// A cached token is refreshed this long before it expires.
const REFRESH_BEFORE: time::Duration = time::Duration::minutes(5);

/// Which credential to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialChoice {
    /// Managed identity over IMDS; `client_id` picks a user-assigned identity.
    ManagedIdentity { client_id: Option<String> },
    /// azure_identity's default chain (environment, workload identity, App Service, IMDS, Azure CLI).
    DefaultChain,
}

/// Builds the chosen credential.
pub fn build_credential(choice: &CredentialChoice) -> Result<Arc<dyn TokenCredential>, AzureError> {
    match choice {
        CredentialChoice::ManagedIdentity { client_id } => Ok(Arc::new(ImdsCredential::from_env(client_id.clone())?)),
        CredentialChoice::DefaultChain => azure_identity::create_credential().map_err(AzureError::DefaultChain),
    }
}

/// Managed identity over IMDS, with a per-resource token cache.
pub struct ImdsCredential {
    http: Arc<dyn HttpClient>,
    endpoint: Url,
    client_id: Option<String>,
    cache: tokio::sync::Mutex<HashMap<String, AccessToken>>,
}

impl std::fmt::Debug for ImdsCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImdsCredential")
            .field("endpoint", &self.endpoint.as_str())
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl ImdsCredential {
    /// The endpoint from `AZURE_TOKEN_ENDPOINT` / `IDENTITY_ENDPOINT`, else IMDS.
    pub fn from_env(client_id: Option<String>) -> Result<Self, AzureError> {
        let endpoint = ENDPOINT_ENV_VARS
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| IMDS_TOKEN_ENDPOINT.to_owned());
        Self::with_endpoint(&endpoint, client_id)
    }

    pub fn with_endpoint(endpoint: &str, client_id: Option<String>) -> Result<Self, AzureError> {
        let endpoint = Url::parse(endpoint)
            .map_err(|e| AzureError::Endpoint { endpoint: endpoint.to_owned(), reason: e.to_string() })?;
        Ok(ImdsCredential {
            http: azure_core::new_http_client(),
            endpoint,
            client_id,
            cache: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    async fn fetch(&self, resource: &str) -> azure_core::Result<AccessToken> {
        let mut url = self.endpoint.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api-version", "2018-02-01").append_pair("resource", resource);
            if let Some(id) = &self.client_id {
                q.append_pair("client_id", id);
            }
        }
        let mut request = Request::new(url, Method::Get);
        request.insert_header("metadata", "true");
        let response = self.http.execute_request(&request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?;
        if !status.is_success() {
            // The body is IMDS's error JSON (no token in it): useful to the operator.
            return Err(CoreError::message(
                ErrorKind::Credential,
                format!(
                    "managed identity endpoint {} answered {status}: {}",
                    self.endpoint,
                    String::from_utf8_lossy(&body).chars().take(300).collect::<String>()
                ),
            ));
        }
        parse_token_response(&body, OffsetDateTime::now_utc())
    }
}

/// Parses an IMDS token response; `now` turns `expires_in` into a time when `expires_on` is absent.
pub fn parse_token_response(body: &[u8], now: OffsetDateTime) -> azure_core::Result<AccessToken> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| CoreError::full(ErrorKind::Credential, e, "managed identity token response is not JSON"))?;
    let token = value.get("access_token").and_then(|v| v.as_str()).ok_or_else(|| {
        CoreError::message(ErrorKind::Credential, "managed identity token response has no access_token")
    })?;
    let number = |key: &str| -> Option<i64> {
        match value.get(key)? {
            serde_json::Value::String(s) => s.trim().parse().ok(),
            serde_json::Value::Number(n) => n.as_i64(),
            _ => None,
        }
    };
    let expires_on = match (number("expires_on"), number("expires_in")) {
        (Some(epoch), _) => OffsetDateTime::from_unix_timestamp(epoch).ok(),
        (None, Some(secs)) => now.checked_add(time::Duration::seconds(secs)),
        (None, None) => None,
    }
    .ok_or_else(|| CoreError::message(ErrorKind::Credential, "managed identity token response has no expiry"))?;
    Ok(AccessToken::new(token.to_owned(), expires_on))
}

/// The resource IMDS wants for a scope: `https://management.azure.com/.default` → `https://management.azure.com`.
pub fn scope_to_resource(scope: &str) -> &str {
    scope.strip_suffix("/.default").unwrap_or(scope)
}

#[async_trait::async_trait]
impl TokenCredential for ImdsCredential {
    async fn get_token(&self, scopes: &[&str]) -> azure_core::Result<AccessToken> {
        let scope = scopes.first().copied().unwrap_or(ARM_SCOPE);
        let resource = scope_to_resource(scope).to_owned();
        // Held across the fetch: concurrent callers wait for one request instead of each calling IMDS.
        let mut cache = self.cache.lock().await;
        if let Some(token) = cache.get(&resource) {
            if token.expires_on - REFRESH_BEFORE > OffsetDateTime::now_utc() {
                return Ok(token.clone());
            }
        }
        let token = self.fetch(&resource).await?;
        cache.insert(resource, token.clone());
        Ok(token)
    }

    async fn clear_cache(&self) -> azure_core::Result<()> {
        self.cache.lock().await.clear();
        Ok(())
    }
}

/// Pre-flight: acquires a token for `scope`; the check's message says when it expires, never what it is.
pub async fn check_token(cred: &dyn TokenCredential, scope: &str) -> Result<PreflightCheck, AzureError> {
    let token =
        cred.get_token(&[scope]).await.map_err(|source| AzureError::Token { scope: scope.to_owned(), source })?;
    Ok(PreflightCheck {
        name: "azure-credential".into(),
        status: CheckStatus::Ok,
        message: format!("token acquired for {scope}, valid until {}", token.expires_on),
    })
}

/// Pre-flight when remediation is off: Azure is not needed, so its credential is not checked.
pub fn skipped_check() -> PreflightCheck {
    PreflightCheck {
        name: "azure-credential".into(),
        status: CheckStatus::Skipped,
        message: "remediation is off: Azure credentials not checked".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_imds_strings_and_numbers() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("now");
        let t = parse_token_response(br#"{"access_token":"abc","expires_on":"1700003600","expires_in":"3600"}"#, now)
            .expect("token");
        assert_eq!(t.token.secret(), "abc");
        assert_eq!(t.expires_on.unix_timestamp(), 1_700_003_600);
        let t = parse_token_response(br#"{"access_token":"abc","expires_in":60}"#, now).expect("token");
        assert_eq!(t.expires_on.unix_timestamp(), 1_700_000_060);
        assert!(parse_token_response(br#"{"expires_in":60}"#, now).is_err());
        assert!(parse_token_response(br#"{"access_token":"a"}"#, now).is_err());
        assert!(parse_token_response(b"<html>", now).is_err());
    }

    #[test]
    fn scope_maps_to_resource() {
        assert_eq!(scope_to_resource(ARM_SCOPE), "https://management.azure.com");
        assert_eq!(scope_to_resource("https://x"), "https://x");
    }

    #[test]
    fn debug_shows_no_token_material() {
        let cred = ImdsCredential::with_endpoint("http://127.0.0.1:1/token", Some("cid".into())).expect("cred");
        let text = format!("{cred:?}");
        assert!(text.contains("127.0.0.1:1") && text.contains("cid"));
        assert!(ImdsCredential::with_endpoint("not a url", None).is_err());
    }

    proptest::proptest! {
        #[test]
        fn token_parser_never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = parse_token_response(&body, OffsetDateTime::UNIX_EPOCH);
        }

        #[test]
        fn token_parser_never_panics_on_json_shapes(on in proptest::option::of(-1_000_000_000_000i64..1_000_000_000_000),
                                                   inn in proptest::option::of(proptest::num::i64::ANY)) {
            let body = serde_json::json!({"access_token": "t", "expires_on": on.map(|v| v.to_string()), "expires_in": inn});
            let _ = parse_token_response(body.to_string().as_bytes(), OffsetDateTime::UNIX_EPOCH);
        }
    }
}
