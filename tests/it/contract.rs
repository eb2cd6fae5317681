//! Every response of the integration suite checked against the OpenAPI document (issue 18,
//! finding 19): a layer around each test server compares the status, the content type and the
//! JSON body of every `/api/v1` answer with what `linli::app::openapi_json()` promises. What does
//! not match is collected per server, and the test that started the server fails when it ends
//! (`TestApp`'s drop), naming the call and the first differences.
//!
//! Rules: a success status must be listed under the operation; an error status may fall to the
//! operation's `default` answer; a JSON body is validated by its schema (JSON Schema 2020-12, as
//! OpenAPI 3.1 defines it); a streaming answer (`text/event-stream`) is checked by content type
//! only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

/// The differences one server collected, in the order they happened.
pub type Findings = Arc<Mutex<Vec<String>>>;

struct Contract {
    doc: Value,
    /// Path templates split into segments, most literal segments first.
    paths: Vec<(String, Vec<Seg>)>,
    compiled: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

#[derive(PartialEq)]
enum Seg {
    Lit(String),
    Param,
}

fn contract() -> &'static Contract {
    static C: OnceLock<Contract> = OnceLock::new();
    C.get_or_init(|| {
        let doc: Value = serde_json::from_str(&linli::app::openapi_json()).expect("document");
        let mut paths: Vec<(String, Vec<Seg>)> = doc["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .map(|p| {
                let segs = p
                    .split('/')
                    .map(|s| {
                        if s.starts_with('{') {
                            Seg::Param
                        } else {
                            Seg::Lit(s.to_string())
                        }
                    })
                    .collect();
                (p.clone(), segs)
            })
            .collect();
        let literal = |s: &[Seg]| s.iter().filter(|x| **x != Seg::Param).count();
        paths.sort_by_key(|(_, s)| std::cmp::Reverse(literal(s)));
        Contract {
            doc,
            paths,
            compiled: Mutex::new(HashMap::new()),
        }
    })
}

impl Contract {
    fn template(&self, path: &str) -> Option<&str> {
        let parts: Vec<&str> = path.split('/').collect();
        self.paths
            .iter()
            .find(|(_, segs)| {
                segs.len() == parts.len()
                    && segs.iter().zip(&parts).all(|(s, p)| match s {
                        Seg::Lit(l) => l == p,
                        Seg::Param => !p.is_empty(),
                    })
            })
            .map(|(t, _)| t.as_str())
    }

    /// The validator of one schema, compiled once, with the document's components reachable
    /// from its `$ref`s.
    fn validator(&self, key: String, schema: &Value) -> Arc<jsonschema::Validator> {
        let mut compiled = self.compiled.lock().unwrap();
        if let Some(v) = compiled.get(&key) {
            return v.clone();
        }
        let mut root = serde_json::json!({ "allOf": [schema] });
        root["components"] = self.doc["components"].clone();
        let v = Arc::new(
            jsonschema::draft202012::new(&root)
                .unwrap_or_else(|e| panic!("the schema at {key} does not compile: {e}")),
        );
        compiled.insert(key, v.clone());
        v
    }
}

/// The layer: passes the request on, then checks the answer.
pub async fn check(State(findings): State<Findings>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_ascii_lowercase();
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    if !path.starts_with("/api/v1/") {
        return res;
    }
    let c = contract();
    let status = res.status().as_u16();
    let call = format!("{} {path} → {status}", method.to_uppercase());
    let note = |m: String| findings.lock().unwrap().push(format!("{call}: {m}"));
    let Some(template) = c.template(&path) else {
        // The document itself, and the 404 of a path linli does not serve, are not operations.
        if path != "/api/v1/openapi.json" && status != 404 {
            note("the path is not in the document".into());
        }
        return res;
    };
    let op = &c.doc["paths"][template][&method];
    if op.is_null() {
        // A method the route does not serve is axum's 405, not an operation of the document.
        if status != 405 {
            note(format!("{method} is not documented for {template}"));
        }
        return res;
    }
    let listed = &op["responses"][status.to_string()];
    let answer = if !listed.is_null() {
        listed
    } else if status >= 400 && !op["responses"]["default"].is_null() {
        &op["responses"]["default"]
    } else {
        note(format!("status {status} is not documented for {template}"));
        return res;
    };
    let ct = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_string());
    let content = answer["content"].as_object();
    let Some(ct) = ct else {
        if content.is_some_and(|c| !c.is_empty()) && status != 304 {
            note("no content type, but the document promises a body".into());
        }
        return res;
    };
    let Some(media) = content.and_then(|c| c.get(&ct)) else {
        note(format!(
            "content type {ct} is not documented (the document lists {:?})",
            content
                .map(|c| c.keys().collect::<Vec<_>>())
                .unwrap_or_default()
        ));
        return res;
    };
    if ct != "application/json" {
        return res;
    }
    let (parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, 64 << 20).await {
        Ok(b) => b,
        Err(e) => {
            note(format!("the body could not be read: {e}"));
            return Response::from_parts(parts, Body::empty());
        }
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Err(e) => note(format!("the body is not JSON: {e}")),
        Ok(v) => {
            if let Some(schema) = media.get("schema") {
                let key = format!("{method} {template} {status}");
                let validator = c.validator(key, schema);
                let errors: Vec<String> = validator
                    .iter_errors(&v)
                    .take(5)
                    .map(|e| format!("{} at {}", e, e.instance_path()))
                    .collect();
                if !errors.is_empty() {
                    let mut shown = v.to_string();
                    let mut end = 300.min(shown.len());
                    while !shown.is_char_boundary(end) {
                        end -= 1;
                    }
                    shown.truncate(end);
                    note(format!("{} (body: {shown})", errors.join("; ")));
                }
            }
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Fails the test when its server answered differently from the document.
pub fn assert_none(findings: &Findings) {
    let list = findings.lock().unwrap();
    if list.is_empty() {
        return;
    }
    let mut shown: Vec<&String> = list.iter().collect();
    shown.dedup();
    panic!(
        "{} answer(s) differ from the OpenAPI document (docs/openapi.json):\n  {}",
        list.len(),
        shown
            .iter()
            .take(20)
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}
