//! The pages of reveals with a purpose, a resident's access log, corrections, her data, and exports with approval.

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/me/access-log", get(access_log_page))
        .route("/notices/{id}", get(notice_page))
        .route("/me/data", get(my_data_download))
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
