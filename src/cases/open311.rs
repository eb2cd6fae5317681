//! Open311 GeoReport v2 at `/open311/v2/`, so existing civic-tech clients can report and
//! track cases. Every document comes as XML (the format the specification requires) or JSON,
//! chosen by the extension (`services.xml`, `services.json`); errors are the specification's
//! list of `{code, description}` with status 400, 403 or 404.
//!
//! Only categories that may be published are offered (public, and not about people), and only
//! their cases reported through a channel that may be published (not a hotline call, not a
//! sensor's alert) are shown, as the public may see them: the category, the description with
//! phone, ID and flat numbers masked, the building (or area) instead of the flat or the spot,
//! and a status text per state written for the public — never a worker's note, nothing about
//! the reporter. Posting needs an integration key (`api_key`); reading does not, as the
//! specification intends.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::DateTime;

pub use super::published::create_key;
use super::published::{
    Published, jurisdiction, key_by_hash, key_hash, load_requests, public_token,
};
use super::{CaseError, Category, Channel, FieldType, NewCase};
use crate::kernel::i18n::{Tr, en_zh};
use crate::state::AppState;
use crate::store::{Conn, StoreError, now_ms};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/open311/v2/{file}", get(top_get).post(top_post))
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(one_request))
        .route("/open311/v2/tokens/{file}", get(token))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Xml,
    Json,
}

/// Splits `name.ext` into the name and the format.
fn split(file: &str) -> Result<(&str, Format), Failure> {
    match file.rsplit_once('.') {
        Some((name, "xml")) => Ok((name, Format::Xml)),
        Some((name, "json")) => Ok((name, Format::Json)),
        Some((_, ext)) => Err(Failure::new(
            Format::Xml,
            StatusCode::NOT_FOUND,
            &en_zh("open311.format", &[("ext", &ext)]),
        )),
        None => Ok((file, Format::Xml)),
    }
}

/// A document for either format.
enum Node {
    Text(String),
    Num(f64),
    Int(i64),
    Bool(bool),
    Null,
    Obj(Vec<(&'static str, Node)>),
    /// A list and the element name of its items in XML.
    List(&'static str, Vec<Node>),
}

fn text(s: impl Into<String>) -> Node {
    Node::Text(s.into())
}

fn esc(s: &str) -> String {
    crate::web::esc(s)
}

impl Node {
    fn json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Text(s) => Value::String(s.clone()),
            Node::Num(n) => serde_json::json!(n),
            Node::Int(n) => serde_json::json!(n),
            Node::Bool(b) => Value::Bool(*b),
            Node::Null => Value::Null,
            Node::Obj(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.json()))
                    .collect(),
            ),
            Node::List(_, items) => Value::Array(items.iter().map(Node::json).collect()),
        }
    }
    fn xml(&self, out: &mut String) {
        match self {
            Node::Text(s) => out.push_str(&esc(s)),
            Node::Num(n) => out.push_str(&n.to_string()),
            Node::Int(n) => out.push_str(&n.to_string()),
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Node::Null => {}
            Node::Obj(fields) => {
                for (k, v) in fields {
                    out.push_str(&format!("<{k}>"));
                    v.xml(out);
                    out.push_str(&format!("</{k}>"));
                }
            }
            Node::List(item, items) => {
                for i in items {
                    out.push_str(&format!("<{item}>"));
                    i.xml(out);
                    out.push_str(&format!("</{item}>"));
                }
            }
        }
    }
}

fn respond(fmt: Format, status: StatusCode, root: &str, doc: Node) -> Response {
    match fmt {
        Format::Json => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            doc.json().to_string(),
        )
            .into_response(),
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            out.push_str(&format!("<{root}>"));
            doc.xml(&mut out);
            out.push_str(&format!("</{root}>"));
            (
                status,
                [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                out,
            )
                .into_response()
        }
    }
}

/// An error in the specification's form.
struct Failure {
    fmt: Format,
    status: StatusCode,
    description: String,
}

impl Failure {
    fn new(fmt: Format, status: StatusCode, description: &str) -> Failure {
        Failure {
            fmt,
            status,
            description: description.to_string(),
        }
    }
    fn key(fmt: Format, status: StatusCode, key: &str) -> Failure {
        Failure::new(fmt, status, Tr(crate::kernel::ctx().lang).s(key))
    }
    fn store(fmt: Format, e: StoreError) -> Failure {
        tracing::error!(error = %e, "open311 storage failed");
        Failure::key(fmt, StatusCode::INTERNAL_SERVER_ERROR, "error.internal")
    }
    fn case(fmt: Format, e: CaseError) -> Failure {
        match e {
            CaseError::Store(e) => Failure::store(fmt, e),
            CaseError::Invalid(k) => Failure::key(fmt, StatusCode::BAD_REQUEST, k),
            CaseError::Forbidden(w) => Failure::new(fmt, StatusCode::FORBIDDEN, &w.message()),
            CaseError::Conflict(w) => Failure::new(fmt, StatusCode::BAD_REQUEST, &w.message()),
            CaseError::NotFound => {
                Failure::key(fmt, StatusCode::NOT_FOUND, "open311.err_not_found")
            }
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let doc = Node::List(
            "error",
            vec![Node::Obj(vec![
                ("code", Node::Int(self.status.as_u16() as i64)),
                ("description", text(self.description)),
            ])],
        );
        respond(self.fmt, self.status, "errors", doc)
    }
}

type Out = Result<Response, Failure>;

async fn street(
    state: &AppState,
    fmt: Format,
    id: Option<String>,
) -> Result<(i64, String), Failure> {
    state
        .db
        .read(move |c| jurisdiction(c, id.as_deref()))
        .await
        .map_err(|e| Failure::store(fmt, e))?
        .ok_or_else(|| Failure::key(fmt, StatusCode::NOT_FOUND, "open311.err_jurisdiction"))
}

fn iso(ms: i64) -> String {
    crate::kernel::time::local(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%:z").to_string())
        .unwrap_or_default()
}

fn param<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
    p.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.trim().is_empty())
}

#[derive(serde::Deserialize)]
struct RawQuery {
    #[serde(flatten)]
    all: std::collections::HashMap<String, String>,
}

fn query_pairs(q: RawQuery) -> Vec<(String, String)> {
    q.all.into_iter().collect()
}

async fn top_get(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    Query(q): Query<RawQuery>,
) -> Response {
    let p = query_pairs(q);
    let r = match split(&file) {
        Ok(("discovery", fmt)) => discovery(&state, fmt),
        Ok(("services", fmt)) => services(&state, fmt, &p).await,
        Ok(("requests", fmt)) => requests(&state, fmt, &p).await,
        Ok((_, fmt)) => Err(Failure::key(
            fmt,
            StatusCode::NOT_FOUND,
            "open311.err_not_found",
        )),
        Err(f) => Err(f),
    };
    r.unwrap_or_else(IntoResponse::into_response)
}

async fn top_post(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    body: Bytes,
) -> Response {
    let r = match split(&file) {
        Ok(("requests", fmt)) => post_request(&state, fmt, &body).await,
        Ok((_, fmt)) => Err(Failure::key(
            fmt,
            StatusCode::NOT_FOUND,
            "open311.err_not_found",
        )),
        Err(f) => Err(f),
    };
    r.unwrap_or_else(IntoResponse::into_response)
}

fn discovery(state: &AppState, fmt: Format) -> Out {
    let base = state
        .cfg
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", state.cfg.listen));
    let doc = Node::Obj(vec![
        ("changeset", text("2026-11-29T00:00:00+08:00")),
        ("contact", text(en_zh("open311.contact", &[]))),
        ("key_service", text(en_zh("open311.key_service", &[]))),
        (
            "endpoints",
            Node::List(
                "endpoint",
                vec![Node::Obj(vec![
                    (
                        "specification",
                        text("http://wiki.open311.org/GeoReport_v2"),
                    ),
                    (
                        "url",
                        text(format!("{}/open311/v2", base.trim_end_matches('/'))),
                    ),
                    ("changeset", text("2026-11-29T00:00:00+08:00")),
                    ("type", text("production")),
                    (
                        "formats",
                        Node::List("format", vec![text("text/xml"), text("application/json")]),
                    ),
                ])],
            ),
        ),
    ]);
    Ok(respond(fmt, StatusCode::OK, "discovery", doc))
}

fn public_categories(c: &mut dyn Conn, street: i64) -> Result<Vec<Category>, StoreError> {
    Ok(super::categories(c, street)?
        .into_iter()
        .filter(|k| k.publishable() && k.active)
        .collect())
}

async fn services(state: &AppState, fmt: Format, p: &[(String, String)]) -> Out {
    let (street, _) = street(state, fmt, param(p, "jurisdiction_id").map(str::to_string)).await?;
    let cats = state
        .db
        .read(move |c| public_categories(c, street))
        .await
        .map_err(|e| Failure::store(fmt, e))?;
    let lang = crate::kernel::ctx().lang;
    let items = cats
        .iter()
        .map(|k| {
            Node::Obj(vec![
                ("service_code", text(k.code.clone())),
                ("service_name", text(k.name(lang))),
                (
                    "description",
                    text(format!("{} / {}", k.name_zh, k.name_en)),
                ),
                ("metadata", Node::Bool(!k.fields.is_empty())),
                ("type", text("realtime")),
                ("keywords", text(format!("{},{}", k.name_zh, k.group))),
                ("group", text(k.group.clone())),
            ])
        })
        .collect();
    Ok(respond(
        fmt,
        StatusCode::OK,
        "services",
        Node::List("service", items),
    ))
}

async fn service_definition(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    Query(q): Query<RawQuery>,
) -> Response {
    let p = query_pairs(q);
    let run = async {
        let (code, fmt) = split(&file)?;
        let (street, _) = street(
            &state,
            fmt,
            param(&p, "jurisdiction_id").map(str::to_string),
        )
        .await?;
        let code = code.to_string();
        let cat = state
            .db
            .read(move |c| super::category_by_code(c, street, &code))
            .await
            .map_err(|e| Failure::store(fmt, e))?
            .filter(|k| k.publishable() && k.active)
            .ok_or_else(|| Failure::key(fmt, StatusCode::NOT_FOUND, "open311.err_service"))?;
        let lang = crate::kernel::ctx().lang;
        let attrs = cat
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let datatype = match f.kind {
                    FieldType::Text => "string",
                    FieldType::Number => "number",
                    FieldType::Date => "datetime",
                    FieldType::Single => "singlevaluelist",
                    FieldType::Multi => "multivaluelist",
                };
                let mut fields = vec![
                    ("variable", Node::Bool(true)),
                    ("code", text(f.key.clone())),
                    ("datatype", text(datatype)),
                    ("required", Node::Bool(f.required)),
                    (
                        "datatype_description",
                        text(if f.kind == FieldType::Date {
                            "YYYY-MM-DD"
                        } else {
                            ""
                        }),
                    ),
                    ("order", Node::Int(i as i64 + 1)),
                    ("description", text(f.label(lang))),
                ];
                if !f.options.is_empty() {
                    fields.push((
                        "values",
                        Node::List(
                            "value",
                            f.options
                                .iter()
                                .map(|o| {
                                    Node::Obj(vec![
                                        ("key", text(o.clone())),
                                        ("name", text(o.clone())),
                                    ])
                                })
                                .collect(),
                        ),
                    ));
                }
                Node::Obj(fields)
            })
            .collect();
        let doc = Node::Obj(vec![
            ("service_code", text(cat.code.clone())),
            ("attributes", Node::List("attribute", attrs)),
        ]);
        Ok(respond(fmt, StatusCode::OK, "service_definition", doc))
    };
    run.await.unwrap_or_else(|f: Failure| f.into_response())
}

async fn post_request(state: &AppState, fmt: Format, body: &[u8]) -> Out {
    let p: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let Some(key) = param(&p, "api_key") else {
        return Err(Failure::key(
            fmt,
            StatusCode::FORBIDDEN,
            "open311.err_api_key",
        ));
    };
    let hash = key_hash(key);
    let (key_id, street) = state
        .db
        .read(move |c| key_by_hash(c, &hash))
        .await
        .map_err(|e| Failure::store(fmt, e))?
        .ok_or_else(|| Failure::key(fmt, StatusCode::FORBIDDEN, "open311.err_api_key"))?;
    if let Some(j) = param(&p, "jurisdiction_id") {
        let (js, _) = street_for(state, fmt, j).await?;
        if js != street {
            return Err(Failure::key(
                fmt,
                StatusCode::BAD_REQUEST,
                "open311.err_key_jurisdiction",
            ));
        }
    }
    let Some(code) = param(&p, "service_code") else {
        return Err(Failure::key(
            fmt,
            StatusCode::BAD_REQUEST,
            "open311.err_service_code",
        ));
    };
    let num = |name: &str| -> Result<Option<f64>, Failure> {
        match param(&p, name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<f64>()
                .map(Some)
                .map_err(|_| Failure::key(fmt, StatusCode::BAD_REQUEST, "open311.err_number")),
        }
    };
    let (lat, lon) = (num("lat")?, num("long")?);
    let address_id = match param(&p, "address_id") {
        None => None,
        Some(v) => Some(
            v.trim()
                .parse::<i64>()
                .map_err(|_| Failure::key(fmt, StatusCode::BAD_REQUEST, "open311.err_number"))?,
        ),
    };
    let address = param(&p, "address_string").unwrap_or("").to_string();
    if lat.is_none() && lon.is_none() && address_id.is_none() && address.is_empty() {
        return Err(Failure::key(
            fmt,
            StatusCode::BAD_REQUEST,
            "open311.err_location",
        ));
    }
    // attribute[code]=v and attribute[code][]=v (multi-value lists).
    let mut extra = serde_json::Map::new();
    for (k, v) in &p {
        let Some(rest) = k.strip_prefix("attribute[") else {
            continue;
        };
        let (name, multi) = match rest.strip_suffix("][]") {
            Some(n) => (n, true),
            None => (rest.trim_end_matches(']'), false),
        };
        if multi {
            let e = extra
                .entry(name.to_string())
                .or_insert_with(|| serde_json::Value::Array(Vec::new()));
            if let Some(a) = e.as_array_mut() {
                a.push(serde_json::Value::String(v.clone()));
            }
        } else {
            extra.insert(name.to_string(), serde_json::Value::String(v.clone()));
        }
    }
    let name = [param(&p, "first_name"), param(&p, "last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let contact = [param(&p, "phone"), param(&p, "email")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let contact = super::Contact::seal(&state.keys, &contact).map_err(|e| Failure::case(fmt, e))?;
    let mut description = param(&p, "description").unwrap_or("").to_string();
    if let Some(m) = param(&p, "media_url") {
        description.push_str(&format!("\n{m}"));
    }
    let new = NewCase {
        category: code.to_string(),
        description,
        place_id: address_id,
        lat,
        lon,
        address,
        extra,
        reporter_id: None,
        reporter_name: name,
        reporter_contact: contact,
        open311_key_id: Some(key_id),
        terms_later: false,
        from_sensor: false,
    };
    let new = if new.place_id.is_none() && new.lat.is_none() {
        // Only an address: the case belongs to the street as a whole.
        NewCase {
            place_id: Some(street),
            ..new
        }
    } else {
        new
    };
    super::dedupe::ready().await;
    // As for the JSON API: checked, placed and segmented on a reader; the writer inserts.
    let now = now_ms();
    let (new, prepared) = state
        .db
        .read(move |c| -> crate::store::Result<Result<_, CaseError>> {
            let run = |c: &mut dyn crate::store::Conn| -> Result<_, CaseError> {
                // A service is a public, active category: prepare reads it and refuses an
                // inactive or unknown one; a category not offered publicly is refused here.
                let unknown = CaseError::Invalid("open311.err_service");
                let p = match super::prepare(c, street, &new, now) {
                    Err(CaseError::Invalid("case.err_category")) => return Err(unknown),
                    r => r?,
                };
                if !p.category.publishable() {
                    return Err(unknown);
                }
                Ok((new, p))
            };
            Ok(run(c))
        })
        .await
        .map_err(|e| Failure::case(fmt, e.into()))?
        .map_err(|e| Failure::case(fmt, e))?;
    let created = state
        .db
        .write_tx(move |c| -> Result<(i64, String), CaseError> {
            let id = super::store(c, street, Channel::Open311, &new, &prepared, now)?;
            Ok((id.0, prepared.token))
        })
        .await
        .map_err(|e| Failure::case(fmt, e))?;
    let doc = Node::List(
        "request",
        vec![Node::Obj(vec![
            ("service_request_id", text(created.0.to_string())),
            ("token", text(created.1)),
            (
                "service_notice",
                text(Tr(crate::kernel::ctx().lang).s("open311.notice")),
            ),
            ("account_id", Node::Null),
        ])],
    );
    Ok(respond(fmt, StatusCode::CREATED, "service_requests", doc))
}

async fn street_for(state: &AppState, fmt: Format, j: &str) -> Result<(i64, String), Failure> {
    street(state, fmt, Some(j.to_string())).await
}

fn parse_time(fmt: Format, v: Option<&str>) -> Result<Option<i64>, Failure> {
    match v {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Some(t.timestamp_millis()))
            .map_err(|_| Failure::key(fmt, StatusCode::BAD_REQUEST, "open311.err_date")),
    }
}

/// A case as a service request.
fn request_node(p: &Published, lang: crate::kernel::i18n::Lang) -> Node {
    let c = &p.case;
    let t = Tr(lang);
    let open = c.is_open();
    let num = |v: Option<f64>| v.map(Node::Num).unwrap_or(Node::Null);
    Node::Obj(vec![
        ("service_request_id", text(c.id.0.to_string())),
        ("status", text(if open { "open" } else { "closed" })),
        // Written for the public, per state: a worker's notes are for the case's people.
        (
            "status_notes",
            text(t.k("open311.status", c.state.as_str())),
        ),
        ("service_name", text(c.category_name(lang))),
        ("service_code", text(c.category.clone())),
        (
            "description",
            text(crate::privacy::mask::public_text(&c.description)),
        ),
        (
            "agency_responsible",
            c.handler_org_name.clone().map(text).unwrap_or(Node::Null),
        ),
        ("service_notice", Node::Null),
        ("requested_datetime", text(iso(c.created_at))),
        ("updated_datetime", text(iso(c.updated_at))),
        (
            "expected_datetime",
            match (open, c.clock.as_str(), c.due_at) {
                (true, "accept" | "resolve", Some(d)) => text(iso(d)),
                _ => Node::Null,
            },
        ),
        ("address", text(p.place_name.clone())),
        ("address_id", text(p.place_id.to_string())),
        ("zipcode", Node::Null),
        ("lat", num(p.point.map(|x| x.0))),
        ("long", num(p.point.map(|x| x.1))),
        ("media_url", Node::Null),
    ])
}

async fn requests(state: &AppState, fmt: Format, p: &[(String, String)]) -> Out {
    let (street, _) = street(state, fmt, param(p, "jurisdiction_id").map(str::to_string)).await?;
    let list = |name: &str| -> Vec<String> {
        param(p, name)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut ids = Vec::new();
    for s in list("service_request_id") {
        ids.push(
            s.parse::<i64>()
                .map_err(|_| Failure::key(fmt, StatusCode::BAD_REQUEST, "open311.err_number"))?,
        );
    }
    let codes = list("service_code");
    let mut statuses = (false, false);
    for s in list("status") {
        match s.as_str() {
            "open" => statuses.0 = true,
            "closed" => statuses.1 = true,
            _ => {
                return Err(Failure::key(
                    fmt,
                    StatusCode::BAD_REQUEST,
                    "open311.err_status",
                ));
            }
        }
    }
    let now = now_ms();
    let end = parse_time(fmt, param(p, "end_date"))?.unwrap_or(now);
    // The specification's default window is the last 90 days.
    let start = parse_time(fmt, param(p, "start_date"))?.unwrap_or(end - 90 * 86_400_000);
    if start > end {
        return Err(Failure::key(
            fmt,
            StatusCode::BAD_REQUEST,
            "open311.err_date",
        ));
    }
    let (start, end) = if ids.is_empty() {
        (start, end)
    } else {
        (0, i64::MAX)
    };
    let rows = state
        .db
        .read(move |c| load_requests(c, street, &ids, &codes, statuses, (start, end), now))
        .await
        .map_err(|e| Failure::store(fmt, e))?;
    let lang = crate::kernel::ctx().lang;
    let items = rows.iter().map(|p| request_node(p, lang)).collect();
    Ok(respond(
        fmt,
        StatusCode::OK,
        "service_requests",
        Node::List("request", items),
    ))
}

async fn one_request(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    Query(q): Query<RawQuery>,
) -> Response {
    let p = query_pairs(q);
    let run = async {
        let (id, fmt) = split(&file)?;
        let id: i64 = id
            .parse()
            .map_err(|_| Failure::key(fmt, StatusCode::NOT_FOUND, "open311.err_not_found"))?;
        let (street, _) = street(
            &state,
            fmt,
            param(&p, "jurisdiction_id").map(str::to_string),
        )
        .await?;
        let now = now_ms();
        let rows = state
            .db
            .read(move |c| load_requests(c, street, &[id], &[], (false, false), (0, i64::MAX), now))
            .await
            .map_err(|e| Failure::store(fmt, e))?;
        if rows.is_empty() {
            return Err(Failure::key(
                fmt,
                StatusCode::NOT_FOUND,
                "open311.err_not_found",
            ));
        }
        let lang = crate::kernel::ctx().lang;
        let items = rows.iter().map(|p| request_node(p, lang)).collect();
        Ok(respond(
            fmt,
            StatusCode::OK,
            "service_requests",
            Node::List("request", items),
        ))
    };
    run.await.unwrap_or_else(|f: Failure| f.into_response())
}

async fn token(State(state): State<Arc<AppState>>, Path(file): Path<String>) -> Response {
    let run = async {
        let (tok, fmt) = split(&file)?;
        let tok = tok.to_string();
        let (id, token) = state
            .db
            .read(move |c| public_token(c, &tok))
            .await
            .map_err(|e| Failure::store(fmt, e))?
            .ok_or_else(|| Failure::key(fmt, StatusCode::NOT_FOUND, "open311.err_token"))?;
        let doc = Node::List(
            "request",
            vec![Node::Obj(vec![
                ("service_request_id", text(id.to_string())),
                ("token", text(token)),
            ])],
        );
        Ok(respond(fmt, StatusCode::OK, "service_requests", doc))
    };
    run.await.unwrap_or_else(|f: Failure| f.into_response())
}
