//! The eligibility pages: the to-dos of a worker's places with their outcome forms, the
//! street's rules with the form for a new one, and a rule's page (its definition and
//! versions, the preview of its reach, switching it on or off). A home card for workers (open
//! to-dos) and for a resident a rule tells.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::service::{self, OUTCOMES, Preview, RuleView, TODO_STATES, TodoList, Typed};
use super::store::{Rule, TodoFilter};
use crate::http::{ApiForm, Path, Query, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::time::local_time;
use crate::org::Caller;
use crate::state::AppState;
use crate::web::{Layout, render};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/eligibility", get(todos_page))
        .route("/eligibility/todos/{id}/close", post(close_submit))
        .route("/eligibility/rules", get(rules_page).post(create_submit))
        .route(
            "/eligibility/rules/{id}",
            get(rule_page).post(update_submit),
        )
        .route("/eligibility/rules/{id}/state", post(switch_submit))
        .route("/static/eligibility.css", get(css))
}

const CSS: &str = include_str!("../../static/eligibility.css");

async fn css() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

fn say_state(l: &Layout, s: &str) -> &'static str {
    l.t.k("eligibility.state", s)
}

// ---- the to-dos ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "eligibility/todos.html")]
struct TodosPage {
    l: Layout,
    list: TodoList,
    rules: Vec<Rule>,
    only: String,
    rule: i64,
    states: &'static [&'static str],
    outcomes: &'static [&'static str],
    admin: bool,
    error: Option<String>,
    done: bool,
}

impl TodosPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn st(&self, s: &str) -> &'static str {
        say_state(&self.l, s)
    }
    fn shown(&self) -> String {
        self.l.t.fill(
            "eligibility.shown_of",
            &[("n", &self.list.todos.len()), ("total", &self.list.total)],
        )
    }
}

#[derive(Deserialize, Default)]
struct TodosQuery {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

async fn show_todos(
    state: &AppState,
    caller: &Caller,
    q: TodosQuery,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    // The open ones first: what needs doing.
    let only = q.state.unwrap_or_else(|| "open".to_string());
    let rule = q.rule.and_then(|r| r.parse::<i64>().ok()).unwrap_or(0);
    let f = TodoFilter {
        state: (!only.is_empty() && only != "all").then(|| only.clone()),
        rule_id: (rule > 0).then_some(rule),
    };
    let list = service::todos(state, caller, f).await?;
    let rules = service::rules(state, caller).await?;
    let mut res = render(&TodosPage {
        l: Layout::new(Some(caller)),
        list,
        rules,
        only,
        rule,
        states: &TODO_STATES,
        outcomes: &OUTCOMES,
        admin: crate::org::access::is_street_admin(caller),
        error,
        done: q.done.is_some(),
    });
    *res.status_mut() = status;
    Ok(res)
}

async fn todos_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<TodosQuery>,
) -> AppResult<Response> {
    show_todos(&state, &caller, q, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    note: String,
}

async fn close_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CloseForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match service::close(&state, &caller, id, f.outcome, f.note).await {
        Ok(_) => Ok(Redirect::to("/eligibility?done=1").into_response()),
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let msg = e.message(ctx().lang);
            show_todos(&state, &caller, TodosQuery::default(), Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

// ---- the rules -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "eligibility/rules.html")]
struct RulesPage {
    l: Layout,
    rules: Vec<Rule>,
    admin: bool,
    form: RuleForm,
    error: Option<String>,
}

impl RulesPage {
    fn st(&self, s: &str) -> &'static str {
        say_state(&self.l, s)
    }
}

#[derive(Deserialize, Default, Clone)]
struct RuleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    benefit: String,
    #[serde(default)]
    condition: String,
    #[serde(default)]
    tell_resident: Option<String>,
    #[serde(default)]
    resident_text: String,
}

impl RuleForm {
    fn typed(&self) -> Typed {
        Typed {
            name: self.name.clone(),
            benefit: self.benefit.clone(),
            condition: self.condition.clone(),
            tell_resident: self.tell_resident.is_some(),
            resident_text: self.resident_text.clone(),
        }
    }
    fn tells(&self) -> bool {
        self.tell_resident.is_some()
    }
}

async fn show_rules(
    state: &AppState,
    caller: &Caller,
    form: RuleForm,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let rules = service::rules(state, caller).await?;
    let mut res = render(&RulesPage {
        l: Layout::new(Some(caller)),
        rules,
        admin: crate::org::access::is_street_admin(caller),
        form,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

async fn rules_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    show_rules(&state, &caller, RuleForm::default(), None, StatusCode::OK).await
}

async fn create_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<RuleForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match service::create(&state, &caller, f.typed()).await {
        // Straight to its page, where its reach is previewed before it is switched on.
        Ok(r) => {
            Ok(Redirect::to(&format!("/eligibility/rules/{}?preview=1", r.id)).into_response())
        }
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let msg = e.message(ctx().lang);
            show_rules(&state, &caller, f, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "eligibility/rule.html")]
struct RulePage {
    l: Layout,
    v: RuleView,
    admin: bool,
    form: RuleForm,
    preview: Option<Preview>,
    error: Option<String>,
    added: Option<i64>,
}

impl RulePage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn st(&self, s: &str) -> &'static str {
        say_state(&self.l, s)
    }
    fn reach(&self, p: &Preview) -> String {
        self.l
            .t
            .fill("eligibility.reach", &[("n", &p.total), ("ms", &p.took_ms)])
    }
    fn added_text(&self, n: &i64) -> String {
        self.l.t.fill("eligibility.added", &[("n", n)])
    }
}

#[derive(Deserialize, Default)]
struct RuleQuery {
    #[serde(default)]
    preview: Option<String>,
    #[serde(default)]
    added: Option<i64>,
}

#[allow(clippy::too_many_arguments)]
async fn show_rule(
    state: &AppState,
    caller: &Caller,
    id: i64,
    form: Option<RuleForm>,
    preview: bool,
    error: Option<String>,
    added: Option<i64>,
    status: StatusCode,
) -> AppResult<Response> {
    let v = service::rule(state, caller, id).await?;
    let preview = if preview {
        Some(service::preview(state, caller, v.rule.condition.clone()).await?)
    } else {
        None
    };
    let form = form.unwrap_or_else(|| RuleForm {
        csrf: String::new(),
        name: v.rule.name.clone(),
        benefit: v.rule.benefit.clone(),
        condition: v.rule.condition.clone(),
        tell_resident: v.rule.tell_resident.then(|| "1".to_string()),
        resident_text: v.rule.resident_text.clone(),
    });
    let mut res = render(&RulePage {
        l: Layout::new(Some(caller)),
        admin: crate::org::access::is_street_admin(caller),
        v,
        form,
        preview,
        error,
        added,
    });
    *res.status_mut() = status;
    Ok(res)
}

async fn rule_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<RuleQuery>,
) -> AppResult<Response> {
    show_rule(
        &state,
        &caller,
        id,
        None,
        q.preview.is_some(),
        None,
        q.added,
        StatusCode::OK,
    )
    .await
}

async fn update_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<RuleForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match service::update(&state, &caller, id, f.typed()).await {
        Ok(_) => Ok(Redirect::to(&format!("/eligibility/rules/{id}?preview=1")).into_response()),
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let msg = e.message(ctx().lang);
            show_rule(
                &state,
                &caller,
                id,
                Some(f),
                false,
                Some(msg),
                None,
                e.status,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct SwitchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
    /// Set by the form shown beside a preview: a rule is switched on only after its reach
    /// was seen.
    #[serde(default)]
    previewed: Option<String>,
}

async fn switch_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<SwitchForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let on = f.to == "on";
    if on && f.previewed.is_none() {
        let msg = AppError::invalid("eligibility.err_preview_first").message(ctx().lang);
        return show_rule(
            &state,
            &caller,
            id,
            None,
            true,
            Some(msg),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    match service::switch(&state, &caller, id, on).await {
        Ok((_, added)) => {
            Ok(Redirect::to(&format!("/eligibility/rules/{id}?added={added}")).into_response())
        }
        Err(e) if e.status == StatusCode::CONFLICT => {
            let msg = e.message(ctx().lang);
            show_rule(&state, &caller, id, None, false, Some(msg), None, e.status).await
        }
        Err(e) => Err(e),
    }
}

// ---- the home cards ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "eligibility/home_card.html")]
struct HomeCard {
    t: crate::kernel::i18n::Tr,
    open: Option<String>,
    told: Vec<(String, String, String)>,
}

pub async fn home_cards(
    state: Arc<AppState>,
    caller: Caller,
) -> anyhow::Result<Vec<crate::http::area::Card>> {
    let t = crate::kernel::i18n::Tr(ctx().lang);
    let open = if caller.reads_registry() && caller.street_id.is_some() {
        let n = service::open_count(&state, &caller)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.key))?;
        (n > 0).then(|| t.fill("eligibility.home_open", &[("n", &n)]))
    } else {
        None
    };
    let told = service::told(&state, &caller)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?;
    if open.is_none() && told.is_empty() {
        return Ok(Vec::new());
    }
    let html = HomeCard { t, open, told }.render()?;
    Ok(vec![crate::http::area::Card { order: 35, html }])
}
