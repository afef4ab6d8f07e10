//! Bearer tokens: issued by the IMDS-style and Entra-style token endpoints, checked on ARM requests.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// Tokens this endpoint has issued. Clones share the set.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    issued: Arc<Mutex<HashSet<String>>>,
}

/// Lifetime of issued tokens, as Entra issues them.
pub const TOKEN_LIFETIME_SECS: i64 = 3599;

impl Tokens {
    /// Issues a fresh token.
    pub fn issue(&self) -> String {
        let t = format!("sim-{}", uuid::Uuid::new_v4().simple());
        self.accept(&t);
        t
    }

    /// Accepts a token issued elsewhere (the handle's fixed token).
    pub fn accept(&self, token: &str) {
        self.issued.lock().unwrap_or_else(|e| e.into_inner()).insert(token.to_string());
    }

    pub fn is_valid(&self, token: &str) -> bool {
        self.issued.lock().unwrap_or_else(|e| e.into_inner()).contains(token)
    }
}

/// IMDS answer: every number is a string, as IMDS sends them.
pub fn imds_body(token: &str, resource: &str, client_id: Option<&str>) -> Value {
    let now = jiff::Timestamp::now().as_second();
    let mut v = json!({
        "access_token": token,
        "refresh_token": "",
        "expires_in": TOKEN_LIFETIME_SECS.to_string(),
        "expires_on": (now + TOKEN_LIFETIME_SECS).to_string(),
        "ext_expires_in": TOKEN_LIFETIME_SECS.to_string(),
        "not_before": now.to_string(),
        "resource": resource,
        "token_type": "Bearer",
    });
    if let Some(c) = client_id {
        v["client_id"] = json!(c);
    }
    v
}

/// Entra v2 client-credentials answer: numbers are numbers.
pub fn entra_body(token: &str) -> Value {
    json!({"token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECS, "ext_expires_in": TOKEN_LIFETIME_SECS, "access_token": token})
}

/// Form fields of an `application/x-www-form-urlencoded` body, percent-decoded.
pub fn form_fields(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decodes_percent_and_plus() {
        let f = form_fields(
            "grant_type=client_credentials&scope=https%3A%2F%2Fmanagement.azure.com%2F.default&x=a+b&bad=%zz&end=%4",
        );
        assert_eq!(f[0], ("grant_type".into(), "client_credentials".into()));
        assert_eq!(f[1].1, "https://management.azure.com/.default");
        assert_eq!(f[2].1, "a b");
        assert_eq!(f[3].1, "%zz");
        assert_eq!(f[4].1, "%4");
    }

    #[test]
    fn imds_numbers_are_strings() {
        let b = imds_body("t", "https://management.azure.com/", None);
        assert!(b["expires_in"].is_string() && b["expires_on"].is_string() && b["not_before"].is_string());
    }
}
