//! Her own account page (我的账户): change the password, renew the second factor, new recovery
//! codes. Every step calls `org::account`, which checks what proves it is her.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::http::{ApiForm, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::org::Caller;
use crate::org::account::{self, Account};
use crate::state::AppState;
use crate::web::{Layout, render};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/me/account", get(account_page))
        .route("/me/account/password", post(password_submit))
        .route("/me/account/renew", post(renew_submit))
        .route("/me/account/confirm", post(confirm_submit))
        .route("/me/account/recovery", post(recovery_submit))
}

#[derive(Template)]
#[template(path = "org/account.html")]
struct AccountPage {
    l: Layout,
    a: Account,
    /// A renewal under way: its QR code (inline SVG) and the secret to type.
    renewal: Option<(String, String)>,
    /// New recovery codes, shown once.
    codes: Vec<String>,
    error: Option<String>,
    /// "已启用，剩余 N 个备用码".
    second_on: String,
}

async fn show(
    state: &AppState,
    caller: &Caller,
    codes: Vec<String>,
    error: Option<String>,
) -> AppResult<Response> {
    let a = account::mine(state, caller).await?;
    let renewal = account::renewal(state, caller)
        .await?
        .map(|r| (crate::web::qr_svg(&r.otpauth_url), r.secret));
    let status = if error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    let l = Layout::new(Some(caller));
    let second_on = l.t.fill("account.second_on", &[("n", &a.recovery_left)]);
    Ok((
        status,
        render(&AccountPage {
            l,
            a,
            renewal,
            codes,
            error,
            second_on,
        }),
    )
        .into_response())
}

/// A refusal shown on the page in her language, the form kept; other errors as error pages.
async fn or_page(
    state: &AppState,
    caller: &Caller,
    r: AppResult<Vec<String>>,
) -> AppResult<Response> {
    match r {
        Ok(codes) => show(state, caller, codes, None).await,
        Err(e) if e.status.is_client_error() && e.status != axum::http::StatusCode::NOT_FOUND => {
            show(state, caller, Vec::new(), Some(e.message(ctx().lang))).await
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn account_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    show(&state, &caller, Vec::new(), None).await
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    again: String,
}

pub(crate) async fn password_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<PasswordForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let r = if f.new != f.again {
        Err(AppError::invalid("account.err_again"))
    } else {
        account::change_password(&state, &caller, &f.current, &f.new).await
    };
    match r {
        // Every session ended with the old password: sign in with the new one.
        Ok(()) => Ok(Redirect::to("/login?reason=password_changed").into_response()),
        Err(e) => or_page(&state, &caller, Err(e)).await,
    }
}

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

pub(crate) async fn renew_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<CodeForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let r = account::renew_second_factor(&state, &caller, &f.code)
        .await
        .map(|_| Vec::new());
    or_page(&state, &caller, r).await
}

pub(crate) async fn confirm_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<CodeForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let r = account::confirm_second_factor(&state, &caller, &f.code).await;
    or_page(&state, &caller, r).await
}

pub(crate) async fn recovery_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<CodeForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let r = account::new_recovery_codes(&state, &caller, &f.code).await;
    or_page(&state, &caller, r).await
}
