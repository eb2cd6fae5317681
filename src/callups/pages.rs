//! The call-ups pages: the list of calls (an organiser's, with the form to send one; a
//! volunteer's, with her answers), a call's page (the organiser's counts, who is coming, a
//! phone revealed with a purpose, closing; a recipient's answer buttons), a volunteer's
//! profile, the volunteers of the organiser's places, and the home cards (a volunteer's
//! "待回复的召集" with one-tap answers; an organiser's open calls).

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::service::{self, Detail, Item, Purpose, Revealed, Typed};
use super::volunteers::{
    self, Affiliation, PARTS, Profile, ProfileEdit, SKILLS, VolunteerFilter, VolunteerView,
    WEEKDAYS,
};
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
        .route("/callups", get(list_page).post(create_submit))
        .route("/callups/profile", get(profile_page).post(profile_submit))
        .route("/callups/volunteers", get(volunteers_page))
        .route("/callups/{id}", get(call_page))
        .route("/callups/{id}/answer", post(answer_submit))
        .route("/callups/{id}/close", post(close_submit))
        .route(
            "/callups/{id}/recipients/{user}/reveal",
            post(reveal_submit),
        )
}

const DONE: [&str; 5] = ["sent", "answered", "filled", "cancelled", "profile"];

fn flash(l: &mut Layout, done: Option<&str>) {
    if let Some(d) = done.filter(|d| DONE.contains(d)) {
        l.flash = Some(l.t.s(&format!("callups.done.{d}")).to_string());
    }
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
}

/// Words shared by the templates.
struct Words {
    t: Tr,
}

impl Words {
    fn skill(&self, s: &str) -> &'static str {
        self.t.k("callups.skill", s)
    }
    fn skills(&self, s: &[String]) -> String {
        if s.is_empty() {
            self.t.s("callups.any_skill").to_string()
        } else {
            s.iter()
                .map(|x| self.skill(x))
                .collect::<Vec<_>>()
                .join(self.t.s("case.list_sep"))
        }
    }
    fn state(&self, s: &str) -> &'static str {
        self.t.k("callups.state", s)
    }
    fn answer(&self, s: &str) -> &'static str {
        if s.is_empty() {
            self.t.s("callups.answer.none")
        } else {
            self.t.k("callups.answer", s)
        }
    }
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    /// Weekly slots as words: 周一上午、周六晚上.
    fn slots(&self, slots: &[String]) -> String {
        slots
            .iter()
            .map(|s| match s.split_once('_') {
                Some((d, p)) => format!(
                    "{}{}{}",
                    self.t.k("callups.weekday", d),
                    if self.t.0 == crate::kernel::i18n::Lang::En {
                        " "
                    } else {
                        ""
                    },
                    self.t.k("callups.part", p)
                ),
                None => s.clone(),
            })
            .collect::<Vec<_>>()
            .join(self.t.s("case.list_sep"))
    }
    fn counts(&self, i: &Item) -> String {
        self.t.fill(
            "callups.counts",
            &[
                ("wanted", &i.counts.wanted),
                ("coming", &i.counts.coming),
                ("not_available", &i.counts.not_available),
                ("no_answer", &i.counts.no_answer),
            ],
        )
    }
}

// ---- the list and a new call ---------------------------------------------------------------

#[derive(Template)]
#[template(path = "callups/list.html")]
struct ListPage {
    l: Layout,
    w: Words,
    items: Vec<Item>,
    organiser: bool,
    places: Vec<(i64, String, String)>,
    skills: &'static [&'static str],
    form: CallForm,
    error: Option<String>,
}

impl ListPage {
    fn kind(&self, k: &str) -> &'static str {
        self.l.t.k("callups.kind", k)
    }
    fn picked(&self, s: &str) -> bool {
        self.form.skills.iter().any(|x| x == s)
    }
}

/// The new-call form as typed (its skills are repeated fields, so it is read as pairs).
#[derive(Default, Clone)]
struct CallForm {
    csrf: String,
    title: String,
    needs: String,
    starts_at: String,
    place_id: String,
    where_note: String,
    audience_id: String,
    skills: Vec<String>,
    wanted: String,
    urgency: String,
    only_available: bool,
}

impl CallForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> CallForm {
        let mut f = CallForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => f.csrf = v,
                "title" => f.title = v,
                "needs" => f.needs = v,
                "starts_at" => f.starts_at = v,
                "place_id" => f.place_id = v,
                "where_note" => f.where_note = v,
                "audience_id" => f.audience_id = v,
                "skill" => f.skills.push(v),
                "wanted" => f.wanted = v,
                "urgency" => f.urgency = v,
                "only_available" => f.only_available = true,
                _ => {}
            }
        }
        f
    }
}

async fn show_list(
    state: &AppState,
    caller: &Caller,
    form: CallForm,
    error: Option<String>,
    status: StatusCode,
    done: Option<&str>,
) -> AppResult<Response> {
    let items = service::list(state, caller).await?;
    let organiser = service::organises(caller);
    let places = if organiser {
        service::places(state, caller).await?
    } else {
        Vec::new()
    };
    let mut l = Layout::new(Some(caller));
    flash(&mut l, done);
    let mut res = render(&ListPage {
        w: Words { t: l.t },
        l,
        items,
        organiser,
        places,
        skills: &SKILLS,
        form,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

async fn list_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    show_list(
        &state,
        &caller,
        CallForm::default(),
        None,
        StatusCode::OK,
        q.done.as_deref(),
    )
    .await
}

fn number(s: &str, key: &str) -> AppResult<i64> {
    s.trim().parse::<i64>().map_err(|_| AppError::invalid(key))
}

async fn create_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(pairs): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = CallForm::from_pairs(pairs);
    check_csrf(&caller, &f.csrf)?;
    let made = async {
        let t = Typed {
            title: f.title.clone(),
            needs: f.needs.clone(),
            starts_at: f.starts_at.clone(),
            place_id: number(&f.place_id, "callups.err_place")?,
            where_note: f.where_note.clone(),
            audience_id: number(&f.audience_id, "callups.err_audience")?,
            skills: f.skills.clone(),
            wanted: number(&f.wanted, "callups.err_wanted")?,
            urgency: if f.urgency.is_empty() {
                "normal".into()
            } else {
                f.urgency.clone()
            },
            only_available: f.only_available,
        };
        service::create(&state, &caller, t).await
    }
    .await;
    match made {
        Ok(k) => Ok(Redirect::to(&format!("/callups/{}?done=sent", k.id)).into_response()),
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let msg = e.message(ctx().lang);
            show_list(&state, &caller, f, Some(msg), e.status, None).await
        }
        Err(e) => Err(e),
    }
}

// ---- a call ----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "callups/call.html")]
struct CallPage {
    l: Layout,
    w: Words,
    d: Detail,
    purposes: &'static [&'static str],
    revealed: Option<Revealed>,
    error: Option<String>,
}

impl CallPage {
    fn open(&self) -> bool {
        self.d.item.call.state == "open"
    }
    fn mine(&self) -> &str {
        self.d.item.answer.as_deref().unwrap_or("")
    }
    fn shown(&self, user: &i64) -> Option<String> {
        self.revealed
            .as_ref()
            .filter(|r| r.user_id == *user)
            .map(|r| r.phone.clone())
    }
}

async fn show_call(
    state: &AppState,
    caller: &Caller,
    id: i64,
    done: Option<&str>,
    revealed: Option<Revealed>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let d = service::detail(state, caller, id).await?;
    let mut l = Layout::new(Some(caller));
    flash(&mut l, done);
    let mut res = render(&CallPage {
        w: Words { t: l.t },
        l,
        d,
        purposes: &crate::registry::access::PURPOSES,
        revealed,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

async fn call_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    show_call(
        &state,
        &caller,
        id,
        q.done.as_deref(),
        None,
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize, Default)]
struct AnswerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    note: String,
    /// `home` when answered from the home card.
    #[serde(default)]
    back: String,
}

async fn answer_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<AnswerForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match service::answer(&state, &caller, id, &f.answer, &f.note).await {
        Ok(()) if f.back == "home" => Ok(Redirect::to("/").into_response()),
        Ok(()) => Ok(Redirect::to(&format!("/callups/{id}?done=answered")).into_response()),
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let msg = e.message(ctx().lang);
            show_call(&state, &caller, id, None, None, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
struct CloseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reason: String,
}

async fn close_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CloseForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match service::close(&state, &caller, id, &f.outcome, &f.reason).await {
        Ok(k) => Ok(Redirect::to(&format!("/callups/{id}?done={}", k.state)).into_response()),
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let msg = e.message(ctx().lang);
            show_call(&state, &caller, id, None, None, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
struct RevealForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    note: String,
}

async fn reveal_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, user)): Path<(i64, i64)>,
    ApiForm(f): ApiForm<RevealForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let p = Purpose {
        purpose: f.purpose,
        note: f.note,
    };
    match service::reveal(&state, &caller, id, user, &p).await {
        Ok(r) => show_call(&state, &caller, id, None, Some(r), None, StatusCode::OK).await,
        Err(e) if matches!(e.status.as_u16(), 404 | 422) && e.key != "error.not_found" => {
            let msg = e.message(ctx().lang);
            show_call(&state, &caller, id, None, None, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

// ---- a volunteer's profile -------------------------------------------------------------------

#[derive(Template)]
#[template(path = "callups/profile.html")]
struct ProfilePage {
    l: Layout,
    w: Words,
    p: Profile,
    skills: &'static [&'static str],
    affiliations: [&'static str; 3],
    weekdays: &'static [&'static str],
    parts: &'static [&'static str],
    error: Option<String>,
}

fn affiliation_codes() -> [&'static str; 3] {
    Affiliation::ALL.map(Affiliation::as_str)
}

impl ProfilePage {
    fn new(l: Layout, p: Profile, error: Option<String>) -> ProfilePage {
        ProfilePage {
            w: Words { t: l.t },
            l,
            p,
            skills: &SKILLS,
            affiliations: affiliation_codes(),
            weekdays: &WEEKDAYS,
            parts: &PARTS,
            error,
        }
    }
    fn is_affiliation(&self, a: &str) -> bool {
        self.p.affiliation.as_str() == a
    }
    fn is_unit(&self, id: &i64) -> bool {
        self.p.unit_org_id == Some(*id)
    }
    fn free(&self, d: &str, part: &str) -> bool {
        let slot = format!("{d}_{part}");
        self.p.availability.contains(&slot)
    }
    fn has(&self, s: &str) -> bool {
        self.p.skills.iter().any(|x| x == s)
    }
    fn covers(&self, id: &i64) -> bool {
        self.p.buildings.iter().any(|b| b.id == *id)
    }
}

async fn profile_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let p = volunteers::own(&state, &caller).await?;
    let mut l = Layout::new(Some(&caller));
    flash(&mut l, q.done.as_deref());
    Ok(render(&ProfilePage::new(l, p, None)))
}

async fn profile_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(pairs): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (mut csrf, mut phone, mut clear) = (String::new(), String::new(), false);
    let mut e = ProfileEdit {
        availability: Some(Vec::new()),
        ..ProfileEdit::default()
    };
    for (k, v) in pairs {
        match k.as_str() {
            "csrf" => csrf = v,
            "affiliation" => e.affiliation = Some(v),
            "party_org" => e.party_org = Some(v),
            "party_registered_on" => e.party_registered_on = Some(v),
            "unit_org_id" if !v.trim().is_empty() => {
                e.unit_org_id = Some(
                    v.trim()
                        .parse()
                        .map_err(|_| AppError::invalid("callups.err_unit"))?,
                )
            }
            "slot" => {
                if let Some(a) = e.availability.as_mut() {
                    a.push(v)
                }
            }
            "availability_note" => e.availability_note = Some(v),
            "skill" => e.skills.push(v),
            "building" => e.buildings.push(
                v.trim()
                    .parse()
                    .map_err(|_| AppError::invalid("callups.err_building"))?,
            ),
            "phone" => phone = v,
            "clear_phone" => clear = true,
            _ => {}
        }
    }
    check_csrf(&caller, &csrf)?;
    e.phone = if clear {
        Some(String::new())
    } else if phone.trim().is_empty() {
        None
    } else {
        Some(phone)
    };
    match volunteers::save(&state, &caller, e).await {
        Ok(_) => Ok(Redirect::to("/callups/profile?done=profile").into_response()),
        Err(e) if e.status.as_u16() == 422 => {
            let p = volunteers::own(&state, &caller).await?;
            let l = Layout::new(Some(&caller));
            let mut res = render(&ProfilePage::new(l, p, Some(e.message(ctx().lang))));
            *res.status_mut() = e.status;
            Ok(res)
        }
        Err(e) => Err(e),
    }
}

// ---- the volunteers of the organiser's places ------------------------------------------------

#[derive(Template)]
#[template(path = "callups/volunteers.html")]
struct VolunteersPage {
    l: Layout,
    w: Words,
    list: Vec<VolunteerView>,
    counts: Vec<(Affiliation, i64)>,
    affiliations: [&'static str; 3],
    weekdays: &'static [&'static str],
    parts: &'static [&'static str],
    affiliation: String,
    available: String,
}

impl VolunteersPage {
    fn counts(&self) -> String {
        let n = |a: Affiliation| {
            self.counts
                .iter()
                .find(|(x, _)| *x == a)
                .map(|x| x.1)
                .unwrap_or(0)
        };
        self.l.t.fill(
            "callups.counts_by_affiliation",
            &[
                ("resident", &n(Affiliation::Resident)),
                ("party_member", &n(Affiliation::PartyMember)),
                ("unit_staff", &n(Affiliation::UnitStaff)),
            ],
        )
    }
    fn is_available(&self, d: &str, part: &str) -> bool {
        self.available == format!("{d}_{part}")
    }
    fn registered(&self, d: &str) -> String {
        self.l.t.fill("callups.registered_on", &[("date", &d)])
    }
    fn slots(&self, s: &[String]) -> String {
        self.w.slots(s)
    }
}

async fn volunteers_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(f): Query<VolunteerFilter>,
) -> AppResult<Response> {
    let affiliation = f.affiliation.clone().unwrap_or_default();
    let available = f.available.clone().unwrap_or_default();
    let v = volunteers::filtered(&state, &caller, f).await?;
    let l = Layout::new(Some(&caller));
    Ok(render(&VolunteersPage {
        w: Words { t: l.t },
        l,
        list: v.volunteers,
        counts: v.counts,
        affiliations: affiliation_codes(),
        weekdays: &WEEKDAYS,
        parts: &PARTS,
        affiliation,
        available,
    }))
}

// ---- home cards ------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "callups/card.html")]
struct Card {
    w: Words,
    t: Tr,
    csrf: String,
    waiting: Vec<Item>,
    open: i64,
    organiser: bool,
}

impl Card {
    fn open_text(&self) -> String {
        self.t.fill("callups.home_open", &[("n", &self.open)])
    }
}

pub async fn cards(
    state: Arc<AppState>,
    caller: Caller,
) -> anyhow::Result<Vec<crate::http::area::Card>> {
    let err = |e: AppError| anyhow::anyhow!("{}", e.key);
    let t = Tr(ctx().lang);
    let organiser = service::organises(&caller);
    let (waiting, open) = if organiser {
        (
            Vec::new(),
            service::open_count(&state, &caller).await.map_err(err)?,
        )
    } else if service::volunteers(&caller) {
        (service::waiting(&state, &caller).await.map_err(err)?, 0)
    } else {
        return Ok(Vec::new());
    };
    if waiting.is_empty() && open == 0 {
        return Ok(Vec::new());
    }
    let html = Card {
        w: Words { t },
        t,
        csrf: caller.csrf.clone().unwrap_or_default(),
        waiting,
        open,
        organiser,
    }
    .render()?;
    Ok(vec![crate::http::area::Card { order: 12, html }])
}
