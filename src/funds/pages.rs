//! The funds pages: the caller's funds (and, for a worker, the form for a new one), a fund's
//! ledger with its running balance, what waits for approval, the forms to propose, approve,
//! reverse and attach a receipt, and the exports. A home card for a representative with
//! entries waiting for her approval.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::model::{self, Kind};
use super::service::{self, Listed, View};
use crate::http::{ApiForm, Path, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::time::local_time;
use crate::org::Caller;
use crate::state::AppState;
use crate::web::{Layout, render};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/funds", get(list_page).post(create_submit))
        .route("/funds/{id}", get(fund_page))
        .route("/funds/{id}/entries", post(propose_submit))
        .route("/funds/{id}/entries/{entry}/{action}", post(entry_submit))
        .route("/funds/receipts/{id}", get(receipt))
        .route("/funds/{id}/export.csv", get(export_csv))
        .route("/funds/{id}/export.xlsx", get(export_xlsx))
}

type Form = Vec<(String, String)>;

fn field<'a>(f: &'a Form, name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

#[derive(Template)]
#[template(path = "funds/list.html")]
struct ListPage {
    l: Layout,
    funds: Vec<Listed>,
    may_open: bool,
    places: Vec<(i64, String)>,
    form: Form,
    error: Option<String>,
}

impl ListPage {
    fn yuan(&self, fen: &i64) -> String {
        model::yuan(*fen)
    }
    fn v(&self, name: &str) -> &str {
        field(&self.form, name)
    }
}

async fn show_list(
    state: &AppState,
    caller: &Caller,
    form: Form,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let funds = service::list(state, caller).await?;
    let may_open = service::may_open(caller);
    let places = if may_open {
        service::places(state, caller)
            .await?
            .into_iter()
            .map(|(id, name, _, _)| (id, name))
            .collect()
    } else {
        Vec::new()
    };
    let mut res = render(&ListPage {
        l: Layout::new(Some(caller)),
        funds,
        may_open,
        places,
        form,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

async fn list_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let form = vec![("required".to_string(), "2".to_string())];
    show_list(&state, &caller, form, None, StatusCode::OK).await
}

async fn create_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<Form>,
) -> AppResult<Response> {
    check_csrf(&caller, field(&f, "csrf"))?;
    let made = async {
        let place = field(&f, "place_id")
            .parse()
            .map_err(|_| AppError::invalid("funds.err_place"))?;
        let names: Vec<String> = field(&f, "representatives")
            .split([',', '，', '、', ' '])
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_string())
            .collect();
        let reps = service::accounts(&state, names).await?;
        let required = field(&f, "required")
            .trim()
            .parse()
            .map_err(|_| AppError::invalid("funds.err_required"))?;
        service::create(&state, &caller, place, field(&f, "name"), reps, required).await
    }
    .await;
    match made {
        Ok(fund) => Ok(Redirect::to(&format!("/funds/{}", fund.id)).into_response()),
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let msg = e.message(ctx().lang);
            show_list(&state, &caller, f, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "funds/fund.html")]
struct FundPage {
    l: Layout,
    v: View,
    me: i64,
    done: Option<&'static str>,
    error: Option<String>,
}

impl FundPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn yuan(&self, fen: &i64) -> String {
        model::yuan(*fen)
    }
    fn kind(&self, k: &Kind) -> &'static str {
        self.l.t.k("funds.kind", k.as_str())
    }
    fn rule(&self) -> String {
        self.l.t.fill(
            "funds.rule_text",
            &[
                ("n", &self.v.fund.required),
                ("m", &self.v.representatives.len()),
            ],
        )
    }
    fn approvers(&self, e: &model::Entry) -> String {
        e.approvals
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join("、")
    }
    /// Whether she may approve this entry now.
    fn may_approve(&self, e: &model::Entry) -> bool {
        self.v.standing.representative
            && !e.approved
            && e.withdrawn_at.is_none()
            && e.by_user != self.me
            && !e.approvals.iter().any(|a| a.user_id == self.me)
    }
    fn done_text(&self, k: &str) -> &'static str {
        self.l.t.k("funds.done", k)
    }
    /// Whether she may withdraw this entry: hers, neither approved nor withdrawn.
    fn may_withdraw(&self, e: &model::Entry) -> bool {
        !e.approved && e.withdrawn_at.is_none() && e.by_user == self.me
    }
    /// Whether the fund has entries withdrawn before approval.
    fn any_withdrawn(&self) -> bool {
        self.v.lines.iter().any(|x| x.entry.withdrawn_at.is_some())
    }
}

#[derive(serde::Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn show_fund(
    state: &AppState,
    caller: &Caller,
    id: i64,
    done: Option<&'static str>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let v = service::view(state, caller, id).await?;
    let mut res = render(&FundPage {
        l: Layout::new(Some(caller)),
        v,
        me: caller.user_id,
        done,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

async fn fund_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    crate::http::Query(q): crate::http::Query<DoneQuery>,
) -> AppResult<Response> {
    let done = ["proposed", "approved", "reversal", "receipt", "withdrawn"]
        .into_iter()
        .find(|d| q.done.as_deref() == Some(*d));
    show_fund(&state, &caller, id, done, None, StatusCode::OK).await
}

/// A multipart form's text fields and its photo (when one was chosen).
async fn multipart(mut m: axum::extract::Multipart) -> AppResult<(Form, Option<Vec<u8>>)> {
    let (mut form, mut photo) = (Vec::new(), None);
    while let Some(f) = m
        .next_field()
        .await
        .map_err(|_| AppError::bad_request("error.bad_form"))?
    {
        let name = f.name().unwrap_or("").to_string();
        if name == "photo" {
            let b = crate::http::upload_bytes(f).await?;
            if !b.is_empty() {
                photo = Some(b.to_vec());
            }
        } else {
            let v = f
                .text()
                .await
                .map_err(|_| AppError::bad_request("error.bad_form"))?;
            form.push((name, v));
        }
    }
    Ok((form, photo))
}

fn settle(r: AppResult<&'static str>, id: i64) -> AppResult<Response> {
    r.map(|k| Redirect::to(&format!("/funds/{id}?done={k}")).into_response())
}

async fn after(
    state: &AppState,
    caller: &Caller,
    id: i64,
    r: AppResult<&'static str>,
) -> AppResult<Response> {
    match settle(r, id) {
        Err(e) if matches!(e.status.as_u16(), 409 | 422) => {
            let msg = e.message(ctx().lang);
            show_fund(state, caller, id, None, Some(msg), e.status).await
        }
        other => other,
    }
}

async fn propose_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    m: axum::extract::Multipart,
) -> AppResult<Response> {
    let (f, photo) = multipart(m).await?;
    check_csrf(&caller, field(&f, "csrf"))?;
    let r = async {
        let kind = Kind::parse(field(&f, "kind"))
            .filter(|k| *k != Kind::Reversal)
            .ok_or_else(|| AppError::invalid("funds.err_kind"))?;
        let fen = model::fen(field(&f, "amount"))?;
        let e = service::propose(&state, &caller, id, kind, fen, field(&f, "purpose")).await?;
        if let Some(p) = photo {
            service::add_receipt(&state, &caller, id, e.id, p).await?;
        }
        Ok("proposed")
    }
    .await;
    after(&state, &caller, id, r).await
}

async fn entry_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, entry, action)): Path<(i64, i64, String)>,
    m: axum::extract::Multipart,
) -> AppResult<Response> {
    let (f, photo) = multipart(m).await?;
    check_csrf(&caller, field(&f, "csrf"))?;
    let r = match action.as_str() {
        "approve" => service::approve(&state, &caller, id, entry)
            .await
            .map(|_| "approved"),
        "reverse" => service::reverse(&state, &caller, id, entry, field(&f, "reason"))
            .await
            .map(|_| "reversal"),
        "withdraw" => service::withdraw(&state, &caller, id, entry)
            .await
            .map(|_| "withdrawn"),
        "receipt" => match photo {
            Some(p) => service::add_receipt(&state, &caller, id, entry, p)
                .await
                .map(|_| "receipt"),
            None => Err(AppError::invalid("funds.err_receipt_type")),
        },
        _ => return Err(AppError::not_found()),
    };
    after(&state, &caller, id, r).await
}

async fn receipt(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let (mime, bytes) = service::receipt(&state, &caller, id).await?;
    Ok(super::http::photo_response(mime, bytes))
}

async fn export_csv(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let bytes = service::export(&state, &caller, id, false, ctx().lang).await?;
    Ok(crate::http::csv_response(&format!("fund-{id}.csv"), bytes))
}

async fn export_xlsx(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let bytes = service::export(&state, &caller, id, true, ctx().lang).await?;
    Ok(crate::http::file_response(
        &format!("fund-{id}.xlsx"),
        bytes,
    ))
}

#[derive(Template)]
#[template(path = "funds/home_card.html")]
struct HomeCard {
    text: String,
    title: &'static str,
}

/// A representative's card: the entries waiting for her approval.
pub async fn home_cards(
    state: Arc<AppState>,
    caller: Caller,
) -> anyhow::Result<Vec<crate::http::area::Card>> {
    let n = service::waiting(&state, &caller)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?;
    if n == 0 {
        return Ok(Vec::new());
    }
    let t = crate::kernel::i18n::Tr(ctx().lang);
    let html = HomeCard {
        text: t.fill("funds.home_text", &[("n", &n)]),
        title: t.s("funds.home_title"),
    }
    .render()?;
    Ok(vec![crate::http::area::Card { order: 39, html }])
}
