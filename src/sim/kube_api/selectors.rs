//! Label and field selectors: parsing and matching.
//!
//! Input: the `labelSelector` query syntax (`a=b,c!=d,e in (f,g),h notin (i),j,!k`, `==` as `=`),
//! the `fieldSelector` syntax (`a.b=c,d!=e`, `==` as `=`), and policy/v1 `LabelSelector` JSON
//! (`matchLabels`, `matchExpressions`) for disruption budgets.

use serde_json::{Map, Value};

use super::status::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelOp {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRequirement {
    pub key: String,
    pub op: LabelOp,
}

/// A conjunction of label requirements; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    pub requirements: Vec<LabelRequirement>,
    /// A JSON selector that is `null` selects nothing (policy/v1 semantics do not apply here).
    pub nothing: bool,
}

fn bad(sel: &str, why: &str) -> ApiError {
    ApiError::BadRequest(format!("unable to parse requirement: {why} in selector {sel:?}"))
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn valid_key(k: &str) -> bool {
    !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

fn valid_value(v: &str) -> bool {
    v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn parse_set(sel: &str, rest: &str) -> Result<Vec<String>, ApiError> {
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| bad(sel, "expected a parenthesised set"))?;
    let values: Vec<String> = inner.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
    if values.iter().any(|v| !valid_value(v)) {
        return Err(bad(sel, "invalid value"));
    }
    Ok(values)
}

impl LabelSelector {
    /// Parses the query-string form.
    pub fn parse(sel: &str) -> Result<Self, ApiError> {
        let mut requirements = Vec::new();
        if sel.trim().is_empty() {
            return Ok(LabelSelector::default());
        }
        for part in split_top_level(sel) {
            let part = part.trim();
            if part.is_empty() {
                return Err(bad(sel, "empty requirement"));
            }
            let req = if let Some(key) = part.strip_prefix('!') {
                LabelRequirement { key: key.trim().to_string(), op: LabelOp::NotExists }
            } else if let Some((k, v)) = part.split_once("!=") {
                LabelRequirement { key: k.trim().to_string(), op: LabelOp::NotEq(v.trim().to_string()) }
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                LabelRequirement { key: k.trim().to_string(), op: LabelOp::Eq(v.trim().to_string()) }
            } else if let Some((k, rest)) = part.split_once(" notin ").or_else(|| part.split_once(" notin(")) {
                let rest = if part.contains(" notin(") { format!("({rest}") } else { rest.to_string() };
                LabelRequirement { key: k.trim().to_string(), op: LabelOp::NotIn(parse_set(sel, &rest)?) }
            } else if let Some((k, rest)) = part.split_once(" in ").or_else(|| part.split_once(" in(")) {
                let rest = if part.contains(" in(") { format!("({rest}") } else { rest.to_string() };
                LabelRequirement { key: k.trim().to_string(), op: LabelOp::In(parse_set(sel, &rest)?) }
            } else {
                LabelRequirement { key: part.to_string(), op: LabelOp::Exists }
            };
            if !valid_key(&req.key) {
                return Err(bad(sel, "invalid label key"));
            }
            if let LabelOp::Eq(v) | LabelOp::NotEq(v) = &req.op {
                if !valid_value(v) {
                    return Err(bad(sel, "invalid label value"));
                }
            }
            requirements.push(req);
        }
        Ok(LabelSelector { requirements, nothing: false })
    }

    /// Builds a selector from metav1.LabelSelector JSON; `null`/absent selects nothing.
    pub fn from_json(sel: Option<&Value>) -> Result<Self, ApiError> {
        let Some(sel) = sel.filter(|v| !v.is_null()) else {
            return Ok(LabelSelector { requirements: vec![], nothing: true });
        };
        let mut requirements = Vec::new();
        if let Some(ml) = sel.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in ml {
                let v = v.as_str().unwrap_or_default().to_string();
                requirements.push(LabelRequirement { key: k.clone(), op: LabelOp::Eq(v) });
            }
        }
        for expr in sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
            let key = expr.get("key").and_then(Value::as_str).unwrap_or_default().to_string();
            let values: Vec<String> = expr
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            let op = match expr.get("operator").and_then(Value::as_str) {
                Some("In") => LabelOp::In(values),
                Some("NotIn") => LabelOp::NotIn(values),
                Some("Exists") => LabelOp::Exists,
                Some("DoesNotExist") => LabelOp::NotExists,
                other => return Err(ApiError::BadRequest(format!("{other:?} is not a valid label selector operator"))),
            };
            requirements.push(LabelRequirement { key, op });
        }
        Ok(LabelSelector { requirements, nothing: false })
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty() && !self.nothing
    }

    /// Matches a label map (absent labels are an empty map).
    pub fn matches_labels(&self, labels: Option<&Map<String, Value>>) -> bool {
        if self.nothing {
            return false;
        }
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.requirements.iter().all(|r| match &r.op {
            LabelOp::Eq(v) => get(&r.key) == Some(v.as_str()),
            LabelOp::NotEq(v) => get(&r.key) != Some(v.as_str()),
            LabelOp::In(vs) => get(&r.key).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelOp::NotIn(vs) => get(&r.key).is_none_or(|x| vs.iter().all(|v| v != x)),
            LabelOp::Exists => get(&r.key).is_some(),
            LabelOp::NotExists => get(&r.key).is_none(),
        })
    }

    /// Matches an object's `metadata.labels`.
    pub fn matches(&self, obj: &Value) -> bool {
        self.matches_labels(obj.pointer("/metadata/labels").and_then(Value::as_object))
    }
}

/// A conjunction of `field=value` / `field!=value` terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// `(field path, equal?, value)`.
    pub terms: Vec<(String, bool, String)>,
}

/// Boolean fields the server reports as "false" when unset.
const FALSE_WHEN_ABSENT: [&str; 1] = ["spec.unschedulable"];

impl FieldSelector {
    pub fn parse(sel: &str) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        if sel.trim().is_empty() {
            return Ok(FieldSelector::default());
        }
        for part in sel.split(',') {
            let part = part.trim();
            let (field, eq, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (f, true, v)
            } else {
                return Err(ApiError::BadRequest(format!("invalid selector: '{sel}'; can't understand '{part}'")));
            };
            let field = field.trim();
            if field.is_empty() || !field.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
                return Err(ApiError::BadRequest(format!("field label not supported: {field}")));
            }
            terms.push((field.to_string(), eq, value.trim().to_string()));
        }
        Ok(FieldSelector { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The single `metadata.name=` value, when the selector pins one object.
    pub fn pinned_name(&self) -> Option<&str> {
        self.terms.iter().find(|(f, eq, _)| *eq && f == "metadata.name").map(|(_, _, v)| v.as_str())
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.terms.iter().all(|(field, eq, want)| (field_value(obj, field) == *want) == *eq)
    }
}

/// A field's value as the server compares it: strings as-is, scalars printed, absent as "".
pub fn field_value(obj: &Value, field: &str) -> String {
    let mut cur = Some(obj);
    for seg in field.split('.') {
        cur = cur.and_then(|v| v.get(seg));
    }
    match cur {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ if FALSE_WHEN_ABSENT.contains(&field) => "false".into(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn labeled(l: Value) -> Value {
        json!({"metadata": {"name": "x", "labels": l}})
    }

    #[test]
    fn label_operators() {
        let o = labeled(json!({"kubernetes.azure.com/scalesetpriority": "spot", "app": "web", "tier": "fe"}));
        let m = |s: &str| LabelSelector::parse(s).unwrap().matches(&o);
        assert!(m("kubernetes.azure.com/scalesetpriority=spot"));
        assert!(m("app==web,tier!=be"));
        assert!(m("app in (web, api),tier notin (be)"));
        assert!(!m("app in (api)"));
        assert!(m("app,!missing"));
        assert!(!m("!app"));
        assert!(!m("missing"));
        assert!(m("missing!=x"));
        assert!(m("missing notin (x)"));
        assert!(m(""));
    }

    #[test]
    fn bad_label_selectors_are_bad_requests() {
        for s in ["app in web", "a b=c", "app=(x)", ",", "=x"] {
            assert!(matches!(LabelSelector::parse(s), Err(ApiError::BadRequest(_))), "{s}");
        }
    }

    #[test]
    fn json_selectors_follow_policy_v1() {
        let pod = labeled(json!({"app": "web"}));
        let sel =
            json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]});
        assert!(LabelSelector::from_json(Some(&sel)).unwrap().matches(&pod));
        assert!(LabelSelector::from_json(Some(&json!({}))).unwrap().matches(&pod));
        assert!(!LabelSelector::from_json(None).unwrap().matches(&pod));
    }

    #[test]
    fn field_selectors() {
        let pod = json!({"metadata": {"name": "p", "namespace": "a"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
        let m = |s: &str| FieldSelector::parse(s).unwrap().matches(&pod);
        assert!(m("spec.nodeName=n1,status.phase!=Failed"));
        assert!(m("metadata.name==p,metadata.namespace=a"));
        assert!(!m("spec.nodeName=n2"));
        assert!(m("spec.nodeName!="));
        let node = json!({"metadata": {"name": "n"}, "spec": {}});
        assert!(FieldSelector::parse("spec.unschedulable=false").unwrap().matches(&node));
        assert_eq!(FieldSelector::parse("metadata.name=p").unwrap().pinned_name(), Some("p"));
        assert!(FieldSelector::parse("nonsense").is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in ".{0,64}") {
            let _ = LabelSelector::parse(&s);
            let _ = FieldSelector::parse(&s);
        }

        #[test]
        fn eq_selector_roundtrips(k in "[a-z][a-z0-9./-]{0,20}", v in "[a-z0-9]{0,10}") {
            let sel = LabelSelector::parse(&format!("{k}={v}")).unwrap();
            let obj = labeled(json!({k.clone(): v.clone()}));
            prop_assert!(sel.matches(&obj));
        }
    }
}
