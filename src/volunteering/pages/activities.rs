//! The activities' pages: the list (with the organiser's form for a new one) and an
//! activity's page (sign up, cancel, the code; the organiser's code and check-in/out).

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::{DoneQuery, Words, flash};
use crate::http::{ApiForm, Path, Query, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::org::Caller;
use crate::state::AppState;
use crate::volunteering::service::{self, Detail, Item, Typed};
use crate::web::{Layout, render};

#[derive(Template)]
#[template(path = "volunteering/list.html")]
struct ListPage {
    l: Layout,
    w: Words,
    items: Vec<Item>,
    organiser: bool,
    places: Vec<(i64, String, String)>,
    skills: &'static [&'static str],
    form: Form,
    error: Option<String>,
    hours: Vec<service::AffiliationHours>,
}

impl ListPage {
    fn hours_text(&self) -> String {
        self.hours
            .iter()
            .map(|h| {
                self.l.t.fill(
                    "volunteering.affiliation_hours",
                    &[
                        (
                            "affiliation",
                            &self.l.t.k("callups.affiliation", h.affiliation.as_str()),
                        ),
                        ("people", &h.people),
                        ("hours", &self.w.hours(&h.minutes)),
                    ],
                )
            })
            .collect::<Vec<_>>()
            .join(self.l.t.s("case.list_sep"))
    }
    fn kind(&self, k: &str) -> &'static str {
        self.l.t.k("callups.kind", k)
    }
    fn picked(&self, s: &str) -> bool {
        self.form.skills.iter().any(|x| x == s)
    }
}

#[derive(Default, Clone)]
pub(super) struct Form {
    csrf: String,
    title: String,
    starts_at: String,
    ends_at: String,
    place_id: String,
    capacity: String,
    rate: String,
    skills: Vec<String>,
}

impl Form {
    fn from_pairs(pairs: Vec<(String, String)>) -> Form {
        let mut f = Form::default();
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => f.csrf = v,
                "title" => f.title = v,
                "starts_at" => f.starts_at = v,
                "ends_at" => f.ends_at = v,
                "place_id" => f.place_id = v,
                "capacity" => f.capacity = v,
                "rate" => f.rate = v,
                "skill" => f.skills.push(v),
                _ => {}
            }
        }
        f
    }
}

async fn show_list(
    state: &AppState,
    caller: &Caller,
    form: Form,
    error: Option<String>,
    status: StatusCode,
    done: Option<&str>,
) -> AppResult<Response> {
    let items = service::list(state, caller).await?;
    let organiser = crate::volunteering::access::organises(caller);
    let (places, hours) = if organiser {
        (
            service::places(state, caller).await?,
            service::hours_by_affiliation(state, caller).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let mut l = Layout::new(Some(caller));
    flash(&mut l, done);
    let mut res = render(&ListPage {
        hours,
        w: Words { t: l.t },
        l,
        items,
        organiser,
        places,
        skills: &crate::callups::volunteers::SKILLS,
        form,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(super) async fn list_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    show_list(
        &state,
        &caller,
        Form {
            rate: "10".into(),
            capacity: "10".into(),
            ..Form::default()
        },
        None,
        StatusCode::OK,
        q.done.as_deref(),
    )
    .await
}

fn number(s: &str, key: &str) -> AppResult<i64> {
    s.trim().parse::<i64>().map_err(|_| AppError::invalid(key))
}

pub(super) async fn create_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(pairs): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = Form::from_pairs(pairs);
    check_csrf(&caller, &f.csrf)?;
    let made = async {
        let t = Typed {
            title: f.title.clone(),
            starts_at: f.starts_at.clone(),
            ends_at: f.ends_at.clone(),
            place_id: number(&f.place_id, "volunteering.err_place")?,
            capacity: number(&f.capacity, "volunteering.err_capacity")?,
            rate: number(&f.rate, "volunteering.err_rate")?,
            skills: f.skills.clone(),
        };
        service::create(&state, &caller, t).await
    }
    .await;
    match made {
        Ok(a) => Ok(Redirect::to(&format!("/volunteering/{}?done=created", a.id)).into_response()),
        Err(e) if e.status.as_u16() == 422 => {
            let msg = e.message(ctx().lang);
            show_list(&state, &caller, f, Some(msg), e.status, None).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "volunteering/activity.html")]
struct ActivityPage {
    l: Layout,
    w: Words,
    d: Detail,
    error: Option<String>,
}

impl ActivityPage {
    fn open(&self) -> bool {
        self.d.item.activity.state == "open"
    }
    /// The weekly slot the activity starts in, to find volunteers free then.
    fn slot(&self) -> String {
        crate::callups::volunteers::slot_at(self.d.item.activity.starts_at)
    }
}

async fn show_activity(
    state: &AppState,
    caller: &Caller,
    id: i64,
    done: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let d = service::detail(state, caller, id).await?;
    let mut l = Layout::new(Some(caller));
    flash(&mut l, done);
    let mut res = render(&ActivityPage {
        w: Words { t: l.t },
        l,
        d,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(super) async fn activity_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    show_activity(&state, &caller, id, q.done.as_deref(), None, StatusCode::OK).await
}

#[derive(serde::Deserialize, Default)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// After a step: back to the activity with a message, or the page with the refusal.
async fn after(
    state: &AppState,
    caller: &Caller,
    id: i64,
    r: AppResult<&str>,
) -> AppResult<Response> {
    match r {
        Ok(done) => Ok(Redirect::to(&format!("/volunteering/{id}?done={done}")).into_response()),
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let msg = e.message(ctx().lang);
            show_activity(state, caller, id, None, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

pub(super) async fn signup_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let r = service::sign_up(&state, &caller, id).await.map(|s| {
        if s.state == "waiting" {
            "waiting"
        } else {
            "signed_up"
        }
    });
    after(&state, &caller, id, r).await
}

pub(super) async fn cancel_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let r = service::cancel(&state, &caller, id)
        .await
        .map(|_| "cancelled");
    after(&state, &caller, id, r).await
}

pub(super) async fn code_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let r = service::by_code(&state, &caller, id, &f.code)
        .await
        .map(|s| {
            if s.checked_out_at.is_some() {
                "checked_out"
            } else {
                "checked_in"
            }
        });
    after(&state, &caller, id, r).await
}

pub(super) async fn step_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, sid, step)): Path<(i64, i64, String)>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let out = match step.as_str() {
        "check-in" => false,
        "check-out" => true,
        _ => return Err(AppError::not_found()),
    };
    let r = service::confirm_step(&state, &caller, id, sid, out)
        .await
        .map(|_| if out { "checked_out" } else { "checked_in" });
    after(&state, &caller, id, r).await
}
