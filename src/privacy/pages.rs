//! The pages of reveals with a purpose, a resident's access log, corrections, her data, and exports with approval.

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/me/access-log", get(access_log_page))
        .route("/security-notices/{id}", get(notice_page))
        .route("/me/data", get(my_data_page))
        .route("/me/data.json", get(my_data_download))
        .route("/me/data.xlsx", get(my_data_workbook))
        .route("/me/corrections", post(correction_create))
        .route("/corrections/{id}", post(correction_close))
        .route("/exports", get(exports_page).post(export_create))
        .route("/exports/{id}/decision", post(export_decide))
        .route("/exports/{id}/download", get(export_download))
}

use crate::http::{ApiForm, Signed, check_csrf};
use crate::http::{Path, Query};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::time::local_time;
use crate::org::Caller;
use crate::state::AppState;
use crate::web::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Template)]
#[template(path = "privacy/access_log.html")]
pub(crate) struct AccessLogPage {
    l: Layout,
    /// Reveals and exports, listed first on the first page of the whole log.
    sensitive: Vec<crate::audit::Access>,
    /// More reveals and exports than shown above (the filtered list has them all).
    sensitive_more: bool,
    rows: Vec<crate::audit::Access>,
    counts: Vec<crate::audit::AccessCount>,
    total: i64,
    /// The kinds filtered on, as in the address (`reveal,export`), empty for all.
    kind: String,
    /// The address of the next (older) page, if any.
    older: Option<String>,
    /// Whether this is a later page (a link back to the newest is offered).
    paged: bool,
    has_record: bool,
    corrections: Vec<crate::registry::corrections::Correction>,
    fields: &'static [&'static str],
    error: Option<String>,
}

impl AccessLogPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn purpose(&self, p: &str) -> String {
        super::purposes::describe(p, self.l.t)
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct AccessLogParams {
    kind: Option<String>,
    before: Option<u64>,
}

pub(crate) async fn access_log_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(p): Query<AccessLogParams>,
) -> AppResult<Response> {
    access_log_with(&state, &caller, p, None, StatusCode::OK).await
}

const PAGE: i64 = 100;
const SENSITIVE_SHOWN: i64 = 50;

pub(crate) async fn access_log_with(
    state: &AppState,
    caller: &Caller,
    p: AccessLogParams,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let q = super::access_query(p.kind.as_deref(), p.before, Some(PAGE))?;
    let kind: Vec<&str> = q.kinds.iter().map(|k| k.as_str()).collect();
    let kind = kind.join(",");
    let paged = q.before.is_some();
    let (sensitive, sensitive_more) = if q.kinds.is_empty() && !paged {
        let s = crate::registry::access::my_accesses(
            state,
            caller,
            crate::audit::AccessQuery {
                kinds: vec![crate::audit::Action::Reveal, crate::audit::Action::Export],
                before: None,
                limit: SENSITIVE_SHOWN,
            },
        )
        .await?;
        let more = s.next_before.is_some();
        (s.entries, more)
    } else {
        (Vec::new(), false)
    };
    let page = crate::registry::access::my_accesses(state, caller, q).await?;
    let counts = crate::registry::access::my_access_counts(state, caller).await?;
    let older = page.next_before.map(|b| {
        if kind.is_empty() {
            format!("/me/access-log?before={b}")
        } else {
            format!("/me/access-log?kind={kind}&before={b}")
        }
    });
    let corrections = match caller.person_id {
        Some(pid) => {
            state
                .db
                .read(move |c| crate::registry::corrections::of_person(c, pid))
                .await?
        }
        None => Vec::new(),
    };
    let mut res = render(&AccessLogPage {
        l: Layout::new(Some(caller)),
        sensitive,
        sensitive_more,
        rows: page.entries,
        total: counts.iter().map(|c| c.count).sum(),
        counts,
        kind,
        older,
        paged,
        has_record: caller.person_id.is_some(),
        corrections,
        fields: &crate::registry::corrections::FIELDS,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

#[derive(Deserialize)]
pub(crate) struct CorrectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    message: String,
}

pub(crate) async fn correction_create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<CorrectionForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match crate::registry::access::request_correction(&state, &caller, &f.field, &f.message).await {
        Ok(_) => Ok(Redirect::to("/me/access-log").into_response()),
        Err(e) if e.status.is_client_error() => {
            access_log_with(
                &state,
                &caller,
                AccessLogParams::default(),
                Some(e.message(ctx().lang)),
                e.status,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub(crate) struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    reply: String,
}

pub(crate) async fn correction_close(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CloseForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    crate::registry::access::close_correction(&state, &caller, id, f.state == "done", &f.reply)
        .await?;
    Ok(Redirect::to("/").into_response())
}

/// Everything linli keeps about the signed-in resident, in her language (one audited read).
struct Mine {
    record: Vec<(String, String)>,
    household: super::own::Section,
    sections: Vec<super::own::Section>,
    /// Who looked at her data, newest first (all of it in the workbook, the newest on the page).
    access: super::own::Section,
    access_more: bool,
}

async fn mine(state: &AppState, caller: &Caller, access_limit: usize) -> AppResult<Mine> {
    let lang = ctx().lang;
    let t = crate::kernel::i18n::Tr(lang);
    let own = crate::registry::access::own_data(state, caller).await?;
    // A street's own tags (低保户) are named in the street's tags, not the catalogue.
    let (street_id, en) = (caller.street_id, lang == crate::kernel::i18n::Lang::En);
    let tag_names = state
        .db
        .read(move |c| crate::registry::records::tag_names(c, street_id, en))
        .await?;
    let tag_name = |code: &str| {
        tag_names
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| t.k_or("tag", code))
    };
    let yes_no = |b: bool| t.s(if b { "mydata.yes" } else { "mydata.no" }).to_string();
    let mut record = vec![
        (t.s("person.name"), own.name.clone()),
        (t.s("person.sex"), t.k("sex", &own.sex).to_string()),
        (t.s("mydata.birth_date"), own.birth_date.clone()),
        (
            t.s("person.id_number"),
            own.id_number.clone().unwrap_or_default(),
        ),
        (t.s("person.phone"), own.phone.clone().unwrap_or_default()),
        (
            t.s("person.relation"),
            t.k("relation", &own.relation).to_string(),
        ),
        (t.s("person.hukou"), yes_no(own.hukou_registered)),
        (
            t.s("person.residence"),
            t.k("residence", &own.residence).to_string(),
        ),
        (
            t.s("person.presence"),
            t.k("presence", &own.presence).to_string(),
        ),
        (
            t.s("person.tags"),
            own.tags
                .iter()
                .map(|g| tag_name(g))
                .collect::<Vec<_>>()
                .join(t.s("case.list_sep")),
        ),
    ];
    if let Some(a) = own.household.as_ref().and_then(|h| h.address.clone()) {
        record.push((t.s("mydata.address"), a));
    }
    let record = record
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let household = super::own::Section {
        title_key: "mydata.household",
        title: t.s("mydata.household").into(),
        columns: [
            "person.name",
            "person.relation",
            "person.sex",
            "person.age",
            "person.id_number",
            "person.phone",
        ]
        .iter()
        .map(|k| t.s(k).to_string())
        .collect(),
        rows: own
            .household
            .iter()
            .flat_map(|h| h.members.iter())
            .map(|m| {
                vec![
                    m.name.clone(),
                    t.k("relation", &m.relation).into(),
                    t.k("sex", &m.sex).into(),
                    m.age.to_string(),
                    m.id_number_masked.clone().unwrap_or_default(),
                    m.phone_masked.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    };
    let (uid, street) = (caller.user_id, caller.street_id.unwrap_or(0));
    let sections = state
        .db
        .read(move |c| super::own::sections(c, uid, street, lang))
        .await?;
    // Her access log, newest first, a page of the index at a time.
    let mut rows = Vec::new();
    let mut before = None;
    let mut more = false;
    loop {
        let page = crate::registry::access::my_accesses(
            state,
            caller,
            crate::audit::AccessQuery {
                kinds: Vec::new(),
                before,
                limit: 500,
            },
        )
        .await?;
        for a in page.entries {
            if rows.len() == access_limit {
                more = true;
                break;
            }
            let who = if a.by_self {
                t.s("access.self").to_string()
            } else {
                match &a.org {
                    Some(o) => format!("{} · {o}", t.k("role", &a.role)),
                    None => t.k("role", &a.role).to_string(),
                }
            };
            rows.push(vec![
                local_time(a.at),
                who,
                t.k("action", a.action.as_str()).to_string(),
                a.purpose
                    .as_deref()
                    .map(|p| super::purposes::describe(p, t))
                    .unwrap_or_default(),
            ]);
        }
        match page.next_before {
            Some(b) if !more => before = Some(b),
            _ => break,
        }
    }
    let access = super::own::Section {
        title_key: "access.title",
        title: t.s("access.title").into(),
        columns: [
            "access.when",
            "access.who",
            "access.action",
            "access.purpose",
        ]
        .iter()
        .map(|k| t.s(k).to_string())
        .collect(),
        rows,
    };
    Ok(Mine {
        record,
        household,
        sections,
        access,
        access_more: more,
    })
}

#[derive(Template)]
#[template(path = "privacy/my_data.html")]
pub(crate) struct MyDataPage {
    l: Layout,
    record: Vec<(String, String)>,
    household: super::own::Section,
    sections: Vec<super::own::Section>,
    access: super::own::Section,
    access_more: bool,
}

/// Lines of her access log shown on the page (the workbook and the log page have all of it).
const ACCESS_ON_PAGE: usize = 50;
/// At most this many lines of her access log in one workbook.
const ACCESS_IN_WORKBOOK: usize = 100_000;

pub(crate) async fn my_data_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let m = mine(&state, &caller, ACCESS_ON_PAGE).await?;
    Ok(render(&MyDataPage {
        l: Layout::new(Some(&caller)),
        record: m.record,
        household: m.household,
        sections: m.sections,
        access: m.access,
        access_more: m.access_more,
    }))
}

pub(crate) async fn my_data_workbook(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let m = mine(&state, &caller, ACCESS_IN_WORKBOOK).await?;
    let t = crate::kernel::i18n::Tr(ctx().lang);
    let bytes = super::own::workbook(t, &m.record, &m.household, &m.sections, &m.access)
        .map_err(|e| AppError::internal("writing her workbook", e))?;
    Ok(crate::http::respond::file_response(
        "linli-my-data.xlsx",
        bytes,
    ))
}

pub(crate) async fn my_data_download(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let data = crate::registry::access::own_data(&state, &caller).await?;
    let body = serde_json::to_vec_pretty(&data)
        .map_err(|e| AppError::internal("serialising own data", e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"linli-my-data.json\"",
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "privacy/exports.html")]
pub(crate) struct ExportsPage {
    l: Layout,
    mine: Vec<crate::registry::export::ExportRequest>,
    awaiting: Vec<crate::registry::export::ExportRequest>,
    place: String,
    limit: i64,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct ExportsQuery {
    place: Option<String>,
}

pub(crate) async fn exports_with(
    state: &AppState,
    caller: &Caller,
    place: String,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    let (uid, scope) = (caller.user_id, caller.scope.registry.clone());
    let (mine, awaiting) = state
        .db
        .read(move |c| {
            Ok((
                crate::registry::export::mine(c, uid)?,
                crate::registry::export::awaiting(c, &scope, uid)?,
            ))
        })
        .await?;
    let mut res = render(&ExportsPage {
        l: Layout::new(Some(caller)),
        mine,
        awaiting,
        place,
        limit: state.cfg.export_max_records,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn exports_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<ExportsQuery>,
) -> AppResult<Response> {
    let place = q
        .place
        .unwrap_or_else(|| caller.scope.registry.first().cloned().unwrap_or_default());
    exports_with(&state, &caller, place, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(crate) struct ExportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    unmasked: Option<String>,
    #[serde(default)]
    reason: String,
    /// Set when the export is of a search's result: its filters follow.
    #[serde(default)]
    search: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    presence: Option<String>,
    #[serde(default)]
    age_min: Option<String>,
    #[serde(default)]
    age_max: Option<String>,
}

impl ExportForm {
    fn filter(&self) -> Option<crate::registry::persons::Search> {
        self.search.as_ref()?;
        let text = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let num = |v: &Option<String>| v.as_deref().and_then(|s| s.trim().parse::<i64>().ok());
        Some(crate::registry::persons::Search {
            q: text(&self.q),
            address: text(&self.address),
            tag: text(&self.tag),
            presence: text(&self.presence),
            age_min: num(&self.age_min),
            age_max: num(&self.age_max),
            ..Default::default()
        })
    }
}

pub(crate) async fn export_create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<ExportForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match crate::registry::access::request_export(
        &state,
        &caller,
        &f.place,
        f.unmasked.is_some(),
        &f.reason,
        f.filter(),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to("/exports").into_response()),
        Err(e) if e.status.is_client_error() => {
            exports_with(
                &state,
                &caller,
                f.place,
                Some(e.message(ctx().lang)),
                e.status,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub(crate) struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    comment: String,
}

pub(crate) async fn export_decide(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<DecisionForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match crate::registry::access::decide_export(
        &state,
        &caller,
        id,
        f.decision == "approve",
        &f.comment,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to("/exports").into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let place = caller.scope.registry.first().cloned().unwrap_or_default();
            exports_with(
                &state,
                &caller,
                place,
                Some(e.message(ctx().lang)),
                e.status,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn export_download(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(f): Query<super::http::FormatQuery>,
) -> AppResult<Response> {
    let xlsx = f.format.as_deref() == Some("xlsx");
    let (name, bytes) = crate::registry::access::download_export(&state, &caller, id, xlsx).await?;
    Ok(crate::http::file_response(&name, bytes))
}

#[derive(Template)]
#[template(path = "privacy/notice.html")]
pub(crate) struct NoticePage {
    l: Layout,
    notice: super::notices::NoticeView,
    lines: Vec<super::notices::AccessLine>,
}

impl NoticePage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn purpose(&self, p: &str) -> String {
        super::purposes::describe(p, self.l.t)
    }
}

/// A security notice with the accesses behind it (street administrators of its street).
pub(crate) async fn notice_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let streets = caller.notice_streets().ok_or_else(AppError::forbidden)?;
    let t = crate::kernel::i18n::Tr(ctx().lang);
    let (notice, lines) = state
        .db
        .read(move |c| {
            let Some(n) = crate::audit::anomaly::notice(c, streets.as_deref(), id)? else {
                return Ok(None);
            };
            let view = super::notices::describe(c, t, std::slice::from_ref(&n))?;
            let lines = super::notices::evidence(c, t, &n)?;
            Ok(view.into_iter().next().map(|v| (v, lines)))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(render(&NoticePage {
        l: Layout::new(Some(&caller)),
        notice,
        lines,
    }))
}
