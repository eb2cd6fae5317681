//! The pages of sign-in, the hierarchy of places and user accounts.

mod account;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .merge(account::router())
        .route("/login", get(login_form).post(login_submit))
        .route("/login/second-factor", post(login_second_factor))
        .route("/logout", post(logout))
        .route("/admin/users", get(users_page).post(user_create))
        .route("/admin/users/{id}", get(user_page))
        .route("/admin/users/{id}/grants", post(grant_add))
        .route("/admin/users/{id}/grants/{gid}/delete", post(grant_remove))
        .route("/admin/users/{id}/reset-link", post(user_reset_link))
        .route(
            "/admin/users/{id}/second-factor/clear",
            post(user_clear_second_factor),
        )
        .route("/admin/users/second-factor", post(second_factor_setting))
        .route("/admin/users/{id}/active", post(user_active))
        .route("/admin/users/{id}/work-phone", post(user_work_phone))
}

use super::service::{audit_permission, create_user, resolve_target};
use crate::http::{
    ApiForm, ClientAddr, LOGIN_CSRF_COOKIE, MaybeSigned, SESSION_COOKIE, Signed, check_csrf,
};
use crate::http::{CsrfForm, safe_next};
use crate::http::{Path, Query};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::Tr;
use crate::org::places::{self, Place};
use crate::org::{Caller, Grant, Role, login, users};
use crate::state::AppState;
use crate::web::map;
use crate::web::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Template)]
#[template(path = "org/login.html")]
pub(crate) struct LoginPage {
    l: Layout,
    next: String,
    username: String,
    error: Option<String>,
    login_csrf: String,
}

pub(crate) fn login_page(
    next: String,
    username: String,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    login_page_with(next, username, error, None, status)
}

fn login_page_with(
    next: String,
    username: String,
    error: Option<String>,
    news: Option<String>,
    status: StatusCode,
) -> Response {
    let token = crate::org::auth::random_token("");
    let mut l = Layout::new(None);
    l.flash = news;
    let page = LoginPage {
        l,
        next,
        username,
        error,
        login_csrf: token.clone(),
    };
    let mut res = render(&page);
    *res.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict"
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
    /// `expired`: sent back here because the session ended (a report typed meanwhile is kept).
    reason: Option<String>,
}

pub(crate) async fn login_form(
    MaybeSigned(caller): MaybeSigned,
    Query(q): Query<LoginQuery>,
) -> Response {
    if caller.is_some() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    let said = (q.reason.as_deref() == Some("expired"))
        .then(|| Tr(ctx().lang).s("login.expired").to_string());
    // A street just set up, or a password just set by a one-time link: good news, not an error.
    let news = match q.reason.as_deref() {
        Some(r @ ("set_up" | "activated" | "password_changed")) => {
            Some(Tr(ctx().lang).s(&format!("login.{r}")).to_string())
        }
        _ => None,
    };
    login_page_with(
        safe_next(q.next.as_deref()),
        String::new(),
        said,
        news,
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    login_csrf: String,
}

pub(crate) fn session_cookie(state: &AppState, token: &str) -> String {
    let secure = if state.cfg.tls() { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        state.cfg.session_max_hours * 3600
    )
}

pub(crate) async fn login_submit(
    State(state): State<Arc<AppState>>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    ApiForm(f): ApiForm<LoginForm>,
) -> Response {
    let t = Tr(ctx().lang);
    let next = safe_next(f.next.as_deref());
    let cookie_token = crate::http::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if cookie_token.is_empty() || cookie_token != f.login_csrf {
        return login_page(
            next,
            f.username,
            Some(t.s("error.csrf").into()),
            StatusCode::FORBIDDEN,
        );
    }
    if f.username.trim().is_empty() || f.password.is_empty() {
        return login_page(
            next,
            f.username,
            Some(t.s("login.missing").into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let outcome = login::check(&state.db, &state.login, client, &f.username, &f.password).await;
    let user_id = match outcome {
        Ok(login::LoginOutcome::Ok { user_id }) => user_id,
        Ok(login::LoginOutcome::RateLimited) => {
            return login_page(
                next,
                f.username,
                Some(t.s("error.rate_limited").into()),
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
        // One answer whatever the reason, so that it tells nothing about the account.
        Ok(login::LoginOutcome::Refused(_)) => {
            return login_page(
                next,
                f.username,
                Some(t.s("login.bad").into()),
                StatusCode::UNAUTHORIZED,
            );
        }
        Err(e) => return AppError::from(e).into_response(),
    };
    // A second factor, when the street requires one of this account: read first, so that an
    // ordinary sign-in does not wait for the writer.
    let need = match state.db.read(move |c| totp::need(c, user_id)).await {
        Ok(n) => n,
        Err(e) => return AppError::from(e).into_response(),
    };
    let keys = state.keys.clone();
    let username = f.username.trim().to_string();
    let step = match need {
        totp::Need::None => Ok(None),
        _ => state
            .db
            .write(move |c| -> crate::store::Result<Option<SecondStep>> {
                let (challenge, _) = crate::org::links::issue(
                    c,
                    user_id,
                    None,
                    crate::org::links::Purpose::SecondFactor,
                    None,
                    crate::store::now_ms(),
                )?;
                let enrol = match need {
                    totp::Need::Enrol => Some(totp::pending(c, &keys, user_id, &username)?),
                    _ => None,
                };
                Ok(Some(SecondStep { challenge, enrol }))
            })
            .await
            // The QR code is drawn outside the writer.
            .map(|s| {
                s.map(|mut s| {
                    s.enrol = s
                        .enrol
                        .map(|(url, secret)| (crate::web::qr_svg(&url), secret));
                    s
                })
            }),
    };
    match step {
        Ok(None) => start_session(&state, &headers, user_id, next, None).await,
        Ok(Some(s)) => render(&SecondFactorPage {
            l: Layout::new(None),
            next,
            challenge: s.challenge,
            enrol: s.enrol,
            error: None,
        }),
        Err(e) => AppError::from(e).into_response(),
    }
}

struct SecondStep {
    challenge: String,
    /// When enrolling: the `otpauth://` URL (then its QR code as inline SVG) and the secret
    /// to type.
    enrol: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "org/second_factor.html")]
struct SecondFactorPage {
    l: Layout,
    next: String,
    challenge: String,
    enrol: Option<(String, String)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "org/recovery_codes.html")]
struct RecoveryCodesPage {
    l: Layout,
    next: String,
    codes: Vec<String>,
}

/// Starts a session for an account whose sign-in is complete and sends it on (or, right after
/// enrolling a second factor, shows its recovery codes once).
async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    user_id: i64,
    next: String,
    codes: Option<Vec<String>>,
) -> Response {
    let policy = state.session_policy();
    // A fresh session id at every login (no fixation); an old cookie's session ends.
    let old = crate::http::cookie(headers, SESSION_COOKIE).map(str::to_string);
    let created = state
        .db
        .write(move |c| {
            if let Some(old) = old {
                crate::org::auth::end_session(c, &old)?;
            }
            crate::org::auth::create_session(c, user_id, &policy)
        })
        .await;
    match created {
        Ok((token, _csrf)) => {
            let mut res = match codes {
                Some(codes) => render(&RecoveryCodesPage {
                    l: Layout::new(None),
                    next,
                    codes,
                }),
                None => Redirect::to(&next).into_response(),
            };
            if let Ok(v) = HeaderValue::from_str(&session_cookie(state, &token)) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_static("linli_login_csrf=; Path=/login; Max-Age=0"),
            );
            res
        }
        Err(e) => AppError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct SecondFactorForm {
    #[serde(default)]
    challenge: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
}

/// The second step of a sign-in: a code from the authenticator (or a recovery code) for the
/// challenge the password step issued. A wrong code ends the challenge: the next try starts
/// again from the password, whose attempts are limited.
pub(crate) async fn login_second_factor(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiForm(f): ApiForm<SecondFactorForm>,
) -> Response {
    let t = Tr(ctx().lang);
    let next = safe_next(f.next.as_deref());
    let keys = state.keys.clone();
    let challenge = f.challenge.clone();
    let code = f.code.clone();
    let checked = state
        .db
        .write_tx(
            move |c| -> crate::store::Result<Option<(i64, totp::Checked)>> {
                let now = crate::store::now_ms();
                let crate::org::links::Found::Valid {
                    link_id,
                    user_id,
                    purpose,
                    ..
                } = crate::org::links::find(c, &challenge, now)?
                else {
                    return Ok(None);
                };
                if purpose != crate::org::links::Purpose::SecondFactor.as_str()
                    || !crate::org::links::consume(c, link_id, now)?
                {
                    return Ok(None);
                }
                let checked = totp::check(c, &keys, user_id, &code, (now / 1000) as u64, now)?;
                Ok(Some((user_id, checked)))
            },
        )
        .await;
    match checked {
        Ok(Some((user_id, ok))) if ok != totp::Checked::Bad => {
            audit_second_factor(&state, user_id, &ok).await;
            let codes = match ok {
                totp::Checked::Enrolled(codes) => Some(codes),
                _ => None,
            };
            start_session(&state, &headers, user_id, next, codes).await
        }
        Ok(found) => {
            if let Some((user_id, _)) = found {
                audit_second_factor(&state, user_id, &totp::Checked::Bad).await;
            }
            login_page(
                next,
                String::new(),
                Some(t.s("login.second_bad").into()),
                StatusCode::UNAUTHORIZED,
            )
        }
        Err(e) => AppError::from(e).into_response(),
    }
}

/// Logs a second step: enrolled, passed (by code or recovery code) or failed.
async fn audit_second_factor(state: &AppState, user_id: i64, how: &totp::Checked) {
    let what = match how {
        totp::Checked::Code => "second factor: code",
        totp::Checked::Recovery => "second factor: recovery code",
        totp::Checked::Enrolled(_) => "second factor: enrolled",
        totp::Checked::Bad => "second factor: refused",
    };
    let mut e = crate::audit::NewEntry::anonymous(crate::audit::Action::Login, "second factor");
    e.actor_id = Some(user_id);
    if let Err(err) = state
        .audit
        .record(e.subjects([crate::audit::user(user_id)]).purpose(what))
        .await
    {
        tracing::error!(error = %err, "auditing a second factor failed");
    }
}

pub(crate) async fn logout(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    headers: HeaderMap,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    if let Some(token) = crate::http::cookie(&headers, SESSION_COOKIE).map(str::to_string) {
        state
            .db
            .write(move |c| crate::org::auth::end_session(c, &token))
            .await?;
    }
    state.callers.clear();
    state
        .audit
        .record(crate::audit::NewEntry::by(
            &caller,
            crate::audit::Action::Logout,
        ))
        .await?;
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("linli_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(res)
}

#[derive(Template)]
#[template(path = "org/users.html")]
pub(crate) struct UsersPage {
    l: Layout,
    users: Vec<users::User>,
    roles: Vec<&'static str>,
    error: Option<String>,
    form: NewUserForm,
    /// The street's second-factor rule, for street administrators.
    second_factor: Option<bool>,
}

#[derive(Deserialize, Default, Clone)]
pub(crate) struct NewUserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    target: String,
}

use crate::org::access::require_user_admin as require_admin;
use crate::org::totp;

pub(crate) async fn users_page_with(
    state: &AppState,
    caller: &Caller,
    error: Option<String>,
    form: NewUserForm,
    status: StatusCode,
) -> AppResult<Response> {
    let scope = caller.scope.users.clone();
    let list = state
        .db
        .read(move |c| users::list_managed(c, &scope))
        .await?;
    let second_factor = if crate::org::access::is_street_admin(caller) {
        Some(crate::org::service::second_factor_required(state, caller).await?)
    } else {
        None
    };
    let mut res = render(&UsersPage {
        l: Layout::new(Some(caller)),
        users: list,
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        error,
        form,
        second_factor,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn users_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    require_admin(&caller)?;
    users_page_with(
        &state,
        &caller,
        None,
        NewUserForm::default(),
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn user_create(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<NewUserForm>,
) -> AppResult<Response> {
    require_admin(&caller)?;
    check_csrf(&caller, &f.csrf)?;
    match create_user(
        &state,
        &caller,
        &f.username,
        &f.display_name,
        None,
        &f.role,
        &f.target,
    )
    .await
    {
        // The activation link is shown this once, on the new account's page.
        Ok((id, link)) => {
            let shown = link.map(|l| ShownLink::new(&state, &l, "activate"));
            user_page_full(&state, &caller, id, None, shown, StatusCode::CREATED).await
        }
        Err(e) if e.status.is_client_error() => {
            let msg = e.message(ctx().lang);
            users_page_with(&state, &caller, Some(msg), f.clone(), e.status).await
        }
        Err(e) => Err(e),
    }
}

/// A one-time link shown once on an account's page.
pub(crate) struct ShownLink {
    pub url: String,
    pub expires: String,
    /// `activate` or `reset`.
    pub kind: &'static str,
}

impl ShownLink {
    pub fn new(state: &AppState, l: &crate::org::service::IssuedLink, kind: &'static str) -> Self {
        ShownLink {
            url: l.url(state.cfg.public_url.as_deref()),
            expires: crate::kernel::time::local_time(l.expires_at),
            kind,
        }
    }
}

#[derive(Template)]
#[template(path = "org/user.html")]
pub(crate) struct UserPage {
    l: Layout,
    u: users::User,
    work_phone: String,
    grants: Vec<(i64, GrantView)>,
    roles: Vec<&'static str>,
    error: Option<String>,
    link: Option<ShownLink>,
    /// Whether the account has a second factor, and its recovery codes left.
    second_factor: (bool, i64),
}

pub(crate) async fn load_managed(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> AppResult<users::User> {
    require_admin(caller)?;
    let scope = caller.scope.users.clone();
    state
        .db
        .read(move |c| {
            if !users::is_managed(c, &scope, id)? {
                return Ok(None);
            }
            users::by_id(c, id)
        })
        .await?
        .ok_or_else(AppError::not_found)
}

pub(crate) async fn user_page_with(
    state: &AppState,
    caller: &Caller,
    id: i64,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    user_page_full(state, caller, id, error, None, status).await
}

pub(crate) async fn user_page_full(
    state: &AppState,
    caller: &Caller,
    id: i64,
    error: Option<String>,
    link: Option<ShownLink>,
    status: StatusCode,
) -> AppResult<Response> {
    let u = load_managed(state, caller, id).await?;
    let work_phone = state
        .db
        .read(move |c| users::work_phone(c, id))
        .await?
        .unwrap_or_default();
    let second_factor = crate::org::service::second_factor_of(state, caller, id).await?;
    let grants = u
        .grants
        .iter()
        .map(|g| (g.id, grant_views(std::slice::from_ref(g)).remove(0)))
        .collect();
    let mut res = render(&UserPage {
        l: Layout::new(Some(caller)),
        u,
        work_phone,
        grants,
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        error,
        link,
        second_factor,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(crate) async fn user_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    user_page_with(&state, &caller, id, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(crate) struct GrantForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    target: String,
}

pub(crate) async fn grant_add(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<GrantForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    load_managed(&state, &caller, id).await?;
    let Some(role) = Role::parse(&f.role) else {
        let msg = Tr(ctx().lang).s("error.bad_role").to_string();
        return user_page_with(
            &state,
            &caller,
            id,
            Some(msg),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let scope = caller.scope.users.clone();
    let by = caller.user_id;
    let target = f.target.trim().to_string();
    let r = state
        .db
        .write_tx(move |c| -> AppResult<()> {
            let (place_id, org_id, street_id) = resolve_target(c, &scope, role, &target)?;
            users::add_grant(c, id, role, place_id, org_id, street_id, Some(by))?;
            Ok(())
        })
        .await;
    state.callers.clear();
    if r.is_ok() {
        audit_permission(&state, &caller, id, &format!("grant {}", f.role)).await?;
    }
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/admin/users/{id}")).into_response()),
        Err(e) if e.status.is_client_error() => {
            user_page_with(&state, &caller, id, Some(e.message(ctx().lang)), e.status).await
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn grant_remove(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, gid)): Path<(i64, i64)>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    load_managed(&state, &caller, id).await?;
    state
        .db
        .write(move |c| users::remove_grant(c, id, gid))
        .await?;
    state.callers.clear();
    Ok(Redirect::to(&format!("/admin/users/{id}")).into_response())
}

/// Issues a one-time link with which the account's holder sets a new password; the
/// administrator hands it over (it is shown this once) and never sets or sees the password.
pub(crate) async fn user_reset_link(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    load_managed(&state, &caller, id).await?;
    let link = crate::org::service::issue_reset(&state, &caller, id).await?;
    let shown = ShownLink::new(&state, &link, "reset");
    user_page_full(&state, &caller, id, None, Some(shown), StatusCode::OK).await
}

#[derive(Deserialize)]
pub(crate) struct ActiveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    active: String,
}

pub(crate) async fn user_active(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<ActiveForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    load_managed(&state, &caller, id).await?;
    if id == caller.user_id {
        let msg = Tr(ctx().lang).s("error.self_deactivate").to_string();
        return user_page_with(
            &state,
            &caller,
            id,
            Some(msg),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let active = f.active == "1";
    state
        .db
        .write(move |c| users::set_active(c, id, active))
        .await?;
    state.callers.clear();
    Ok(Redirect::to(&format!("/admin/users/{id}")).into_response())
}

#[derive(Deserialize)]
pub(crate) struct WorkPhoneForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    work_phone: String,
}

/// Sets the phone a worker is reached on at work (residents tap it to call their grid
/// worker), or clears it; audited as a change of the account.
pub(crate) async fn user_work_phone(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<WorkPhoneForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    load_managed(&state, &caller, id).await?;
    let phone = match users::check_work_phone(&f.work_phone) {
        Ok(p) => p,
        Err(key) => {
            let msg = Tr(ctx().lang).s(key).to_string();
            return user_page_with(
                &state,
                &caller,
                id,
                Some(msg),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    state
        .db
        .write(move |c| users::set_work_phone(c, id, phone.as_deref()))
        .await?;
    audit_permission(&state, &caller, id, "work_phone").await?;
    Ok(Redirect::to(&format!("/admin/users/{id}")).into_response())
}

/// The map of a community (its grids) or grid (its boundary and buildings).
pub fn area_map(
    c: &mut dyn crate::store::Conn,
    place: &Place,
) -> crate::store::Result<Option<String>> {
    let kids = places::children_full(c, place.id)?;
    let (areas, spots): (Vec<map::Area>, Vec<map::Spot>) = match place.kind.as_str() {
        "grid" => (
            place
                .geojson
                .iter()
                .map(|g| map::Area {
                    label: place.name.clone(),
                    href: None,
                    geojson: g.clone(),
                    highlight: true,
                })
                .collect(),
            kids.iter()
                .filter_map(|b| {
                    Some(map::Spot {
                        label: b.name.clone(),
                        href: Some(format!("/places/{}", b.id)),
                        geojson: b.geojson.clone()?,
                        class: map::BUILDING,
                    })
                })
                .collect(),
        ),
        "street" | "community" | "district" => (
            kids.iter()
                .filter_map(|k| {
                    Some(map::Area {
                        label: k.name.clone(),
                        href: Some(format!("/places/{}", k.id)),
                        geojson: k.geojson.clone()?,
                        highlight: false,
                    })
                })
                .collect(),
            Vec::new(),
        ),
        _ => (Vec::new(), Vec::new()),
    };
    Ok(map::render(&areas, &spots, &place.name))
}

pub struct GrantView {
    pub role_key: String,
    pub place: Option<String>,
    pub org: Option<String>,
}

pub fn grant_views(grants: &[Grant]) -> Vec<GrantView> {
    grants
        .iter()
        .map(|g| GrantView {
            role_key: g.role.label_key(),
            place: g.place.as_ref().map(|p| p.name.clone()),
            org: g.org.as_ref().map(|o| o.name.clone()),
        })
        .collect()
}

/// Clears an account's second factor (a lost phone): it enrols again at its next sign-in.
pub(crate) async fn user_clear_second_factor(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    crate::org::service::clear_second_factor(&state, &caller, id).await?;
    Ok(Redirect::to(&format!("/admin/users/{id}")).into_response())
}

#[derive(Deserialize)]
pub(crate) struct SecondFactorSettingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    required: String,
}

/// Turns the street's second-factor rule on or off.
pub(crate) async fn second_factor_setting(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<SecondFactorSettingForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    crate::org::service::set_second_factor_required(&state, &caller, f.required == "1").await?;
    Ok(Redirect::to("/admin/users").into_response())
}
