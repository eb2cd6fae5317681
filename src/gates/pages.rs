//! Gates' pages: a resident's passes (invite a visitor, the QR to send), the keepers' estates,
//! an estate (gates, occupancy, the car park's plan, rules, the access log), and the guard's
//! page (a phone at the gate: check a code offline and online, register a walk-in).

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::model::PassCheck;
use super::service::{self, EstateView, Invite, Issued, Occupancy};
use super::store::{LogLine, Rule};
use crate::http::{ApiForm, Path, Query, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::Tr;
use crate::kernel::time::local_time;
use crate::org::Caller;
use crate::state::AppState;
use crate::web::{Layout, render};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/gates", get(index_page).post(invite_submit))
        .route("/gates/guard", get(guard_page).post(guard_submit))
        .route("/gates/guard/walkin", axum::routing::post(walkin_submit))
        .route("/gates/estates/{id}", get(estate_page))
        .route("/gates/estates/{id}/plan.svg", get(plan_svg))
        .route("/static/gates.js", get(gates_js))
}

const GATES_JS: &str = include_str!("../../static/gates.js");

async fn gates_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        GATES_JS,
    )
        .into_response()
}

type Form = Vec<(String, String)>;

fn field<'a>(f: &'a Form, name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

#[derive(Template)]
#[template(path = "gates/index.html")]
struct IndexPage {
    l: Layout,
    resident: bool,
    passes: Vec<Issued>,
    estates: Vec<EstateView>,
    keeper: bool,
    error: Option<String>,
    issued: Option<i64>,
}

impl IndexPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn is_issued(&self, id: &i64) -> bool {
        self.issued == Some(*id)
    }
}

#[derive(serde::Deserialize, Default)]
struct IndexQuery {
    #[serde(default)]
    issued: Option<i64>,
}

async fn index(
    state: &AppState,
    caller: &Caller,
    error: Option<String>,
    issued: Option<i64>,
) -> AppResult<IndexPage> {
    let keeper = service::is_keeper(caller);
    let resident = caller.person_id.is_some();
    if !keeper && !resident {
        return Err(AppError::forbidden());
    }
    let passes = if resident {
        service::my_passes(state, caller).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let estates = if keeper {
        service::estates(state, caller).await?
    } else {
        Vec::new()
    };
    Ok(IndexPage {
        l: Layout::new(Some(caller)),
        resident,
        passes,
        estates,
        keeper,
        error,
        issued,
    })
}

async fn index_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<IndexQuery>,
) -> AppResult<Response> {
    Ok(render(&index(&state, &caller, None, q.issued).await?))
}

async fn invite_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<Form>,
) -> AppResult<Response> {
    check_csrf(&caller, field(&f, "csrf"))?;
    let made = async {
        let hours: i64 = field(&f, "hours")
            .trim()
            .parse()
            .map_err(|_| AppError::invalid("gates.err_window"))?;
        let entries: i64 = field(&f, "entries")
            .trim()
            .parse()
            .map_err(|_| AppError::invalid("gates.err_entries"))?;
        let now = crate::kernel::time::now_ms();
        service::invite(
            &state,
            &caller,
            Invite {
                visitor: field(&f, "visitor").to_string(),
                valid_from: Some(now),
                valid_until: now + hours.clamp(0, 24 * 7) * 3_600_000,
                entries,
            },
        )
        .await
    }
    .await;
    match made {
        Ok(p) => Ok(
            Redirect::to(&format!("/gates?issued={}#pass-{}", p.pass.id, p.pass.id))
                .into_response(),
        ),
        Err(e) if matches!(e.status.as_u16(), 403 | 422) => {
            let msg = e.message(ctx().lang);
            let mut r = render(&index(&state, &caller, Some(msg), None).await?);
            *r.status_mut() = e.status;
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "gates/guard.html")]
struct GuardPage {
    l: Layout,
    key: String,
    estates: Vec<EstateView>,
    result: Option<PassCheck>,
    code: String,
    done: Option<String>,
}

async fn guard(state: &AppState, caller: &Caller) -> AppResult<GuardPage> {
    if !service::is_keeper(caller) {
        return Err(AppError::forbidden());
    }
    Ok(GuardPage {
        l: Layout::new(Some(caller)),
        key: super::model::public_key(service::key(state)?),
        estates: service::estates(state, caller).await?,
        result: None,
        code: String::new(),
        done: None,
    })
}

async fn guard_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    Ok(render(&guard(&state, &caller).await?))
}

/// The guard's check without JavaScript: the form posts the code, the page shows the answer.
async fn guard_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<Form>,
) -> AppResult<Response> {
    check_csrf(&caller, field(&f, "csrf"))?;
    let mut p = guard(&state, &caller).await?;
    let code = field(&f, "code").to_string();
    p.result = Some(service::check(&state, &caller, &code).await?);
    p.code = code;
    Ok(render(&p))
}

async fn walkin_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<Form>,
) -> AppResult<Response> {
    check_csrf(&caller, field(&f, "csrf"))?;
    let estate: i64 = field(&f, "estate_id")
        .parse()
        .map_err(|_| AppError::not_found())?;
    let mut p = guard(&state, &caller).await?;
    match service::walkin(
        &state,
        &caller,
        estate,
        field(&f, "visitor"),
        field(&f, "unit"),
    )
    .await
    {
        Ok(pass) => {
            p.done = Some(Tr(ctx().lang).fill("gates.walkin_done", &[("visitor", &pass.visitor)]));
            Ok(render(&p))
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            p.done = Some(e.message(ctx().lang));
            Ok(render(&p))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "gates/estate.html")]
struct EstatePage {
    l: Layout,
    e: EstateView,
    o: Occupancy,
    plan: String,
    rules: Vec<Rule>,
    log: Vec<LogLine>,
}

impl EstatePage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn retention(&self) -> String {
        self.l.t.fill(
            "gates.retention_line",
            &[("days", &self.e.estate.retention_days)],
        )
    }
    fn rule_text(&self, r: &Rule) -> String {
        let t = &self.l.t;
        let hm = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
        match r.kind.as_str() {
            "time_shared" => t.fill(
                "gates.rule_time_shared",
                &[("from", &hm(r.a)), ("until", &hm(r.b))],
            ),
            "visitor_limit" => t.fill("gates.rule_visitor_limit", &[("minutes", &r.a)]),
            _ => t.fill(
                "gates.rule_fee",
                &[("yuan", &format!("{:.2}", r.a as f64 / 100.0))],
            ),
        }
    }
}

async fn estate_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let e = service::estate(&state, &caller, id).await?;
    let o = service::occupancy(&state, &caller, id).await?;
    let (_, spaces) = service::spaces(&state, &caller, id).await?;
    let t = Tr(ctx().lang);
    let plan = service::plan_svg(&spaces, &t);
    let rules = service::rules(&state, &caller, id).await?;
    let log = service::access_log(&state, &caller, id, 100).await?;
    Ok(render(&EstatePage {
        l: Layout::new(Some(&caller)),
        e,
        o,
        plan,
        rules,
        log,
    }))
}

/// The car park's plan with live occupancy, as an SVG image.
async fn plan_svg(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let (_, spaces) = service::spaces(&state, &caller, id).await?;
    let svg = service::plan_svg(&spaces, &Tr(ctx().lang));
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}
