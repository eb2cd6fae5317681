//! The points' pages: my points (balance, entries, a transfer; an organiser's balances and
//! reversal), the catalogue (redeem; a new item), confirming a code, the certificate.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{DoneQuery, Words, flash};
use crate::http::{ApiForm, Path, Query, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::org::Caller;
use crate::state::AppState;
use crate::volunteering::access;
use crate::volunteering::catalogue::{self, Offered, RedemptionView};
use crate::volunteering::points::{self, Balance, Certificate, Mine, Transfer};
use crate::web::{Layout, render};

fn refused(e: &AppError) -> bool {
    matches!(e.status.as_u16(), 409 | 422)
}

// ---- my points -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "volunteering/points.html")]
struct PointsPage {
    l: Layout,
    w: Words,
    mine: Option<Mine>,
    balances: Option<Vec<Balance>>,
    error: Option<String>,
}

async fn show_points(
    state: &AppState,
    caller: &Caller,
    done: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let organiser = access::organises(caller);
    let mine = if access::participates(caller) || !organiser {
        Some(points::mine(state, caller).await?)
    } else {
        None
    };
    let balances = if organiser {
        Some(points::balances(state, caller).await?)
    } else {
        None
    };
    let mut l = Layout::new(Some(caller));
    flash(&mut l, done);
    let mut res = render(&PointsPage {
        w: Words { t: l.t },
        l,
        mine,
        balances,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(super) async fn points_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    show_points(&state, &caller, q.done.as_deref(), None, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
pub(super) struct TransferForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    points: String,
    #[serde(default)]
    note: String,
}

pub(super) async fn transfer_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<TransferForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let r = match f.points.trim().parse::<i64>() {
        Ok(n) => {
            points::transfer(
                &state,
                &caller,
                Transfer {
                    to: f.to,
                    points: n,
                    note: f.note,
                },
            )
            .await
        }
        Err(_) => Err(AppError::invalid("volunteering.err_points")),
    };
    match r {
        Ok(_) => Ok(Redirect::to("/volunteering/points?done=transferred").into_response()),
        Err(e) if refused(&e) => {
            let msg = e.message(ctx().lang);
            show_points(&state, &caller, None, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ReasonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn reverse_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<ReasonForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match points::reverse(&state, &caller, id, &f.reason).await {
        Ok(_) => Ok(Redirect::to("/volunteering/points?done=reversed").into_response()),
        Err(e) if refused(&e) => {
            let msg = e.message(ctx().lang);
            show_points(&state, &caller, None, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

// ---- the catalogue ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "volunteering/catalogue.html")]
struct CataloguePage {
    l: Layout,
    w: Words,
    items: Vec<Offered>,
    mine: Vec<RedemptionView>,
    balance: Option<i64>,
    organiser: bool,
    communities: Vec<(i64, String)>,
    shops: Vec<(i64, String)>,
    /// The latest restocks of each item, newest first (the organiser's view).
    restocked: std::collections::HashMap<i64, Vec<crate::volunteering::store::Restock>>,
    error: Option<String>,
}

impl CataloguePage {
    /// An item's restock history: when, how many, the stock after, who, the note.
    fn history(&self, item: &i64) -> Vec<String> {
        self.restocked
            .get(item)
            .map(|v| {
                v.iter()
                    .map(|r| {
                        let mut line = self.l.t.fill(
                            "volunteering.restock_line",
                            &[
                                ("when", &self.w.when(&r.at)),
                                ("n", &r.added),
                                ("after", &r.stock_after),
                                ("by", &r.by_name),
                            ],
                        );
                        if !r.note.is_empty() {
                            line.push_str(" · ");
                            line.push_str(&r.note);
                        }
                        line
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
    fn last_restock(&self, item: &i64) -> Option<String> {
        self.restocked.get(item).and_then(|v| v.first()).map(|r| {
            self.l.t.fill(
                "volunteering.last_restock",
                &[
                    ("n", &r.added),
                    ("when", &self.w.when(&r.at)),
                    ("by", &r.by_name),
                ],
            )
        })
    }
}

async fn show_catalogue(
    state: &AppState,
    caller: &Caller,
    done: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let items = catalogue::list(state, caller).await?;
    let participates = access::participates(caller);
    let (mine, balance) = if participates {
        (
            catalogue::mine(state, caller).await?,
            Some(points::mine(state, caller).await?.balance),
        )
    } else {
        (Vec::new(), None)
    };
    let organiser = access::organises(caller);
    let (communities, shops) = if organiser {
        (
            crate::volunteering::service::places(state, caller)
                .await?
                .into_iter()
                .filter(|p| p.1 == "community")
                .map(|p| (p.0, p.2))
                .collect(),
            catalogue::shops(state, caller).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let restocked = if organiser {
        let ids: Vec<i64> = items.iter().map(|o| o.item.id).collect();
        state
            .db
            .read(move |c| {
                let mut out = std::collections::HashMap::new();
                for id in ids {
                    let list = crate::volunteering::store::restocks(c, id, 10)?;
                    if !list.is_empty() {
                        out.insert(id, list);
                    }
                }
                Ok(out)
            })
            .await?
    } else {
        Default::default()
    };
    let mut l = Layout::new(Some(caller));
    flash(&mut l, done);
    let mut res = render(&CataloguePage {
        w: Words { t: l.t },
        l,
        items,
        mine,
        balance,
        organiser,
        communities,
        shops,
        restocked,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

pub(super) async fn catalogue_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    show_catalogue(&state, &caller, q.done.as_deref(), None, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
pub(super) struct ItemForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    community_id: String,
    #[serde(default)]
    offer: String,
    #[serde(default)]
    org_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    cost: String,
    #[serde(default)]
    stock: String,
}

pub(super) async fn item_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<ItemForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let n = |s: &str, key: &str| s.trim().parse::<i64>().map_err(|_| AppError::invalid(key));
    let made = async {
        let t = catalogue::Typed {
            community_id: n(&f.community_id, "volunteering.err_community")?,
            offer: f.offer.clone(),
            org_id: if f.offer == "shop" {
                Some(n(&f.org_id, "volunteering.err_shop")?)
            } else {
                None
            },
            title: f.title.clone(),
            note: f.note.clone(),
            cost: n(&f.cost, "volunteering.err_cost")?,
            stock: n(&f.stock, "volunteering.err_stock")?,
        };
        catalogue::create(&state, &caller, t).await
    }
    .await;
    match made {
        Ok(_) => Ok(Redirect::to("/volunteering/catalogue?done=item").into_response()),
        Err(e) if refused(&e) => {
            let msg = e.message(ctx().lang);
            show_catalogue(&state, &caller, None, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub(super) async fn redeem_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfOnly>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    match catalogue::redeem(&state, &caller, id).await {
        Ok(_) => Ok(Redirect::to("/volunteering/catalogue?done=redeemed").into_response()),
        Err(e) if refused(&e) => {
            let msg = e.message(ctx().lang);
            show_catalogue(&state, &caller, None, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct RestockForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    added: String,
    #[serde(default)]
    note: String,
}

pub(super) async fn restock_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<RestockForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let r = async {
        let added = f
            .added
            .trim()
            .parse::<i64>()
            .map_err(|_| AppError::invalid("volunteering.err_restock"))?;
        let t = catalogue::RestockTyped {
            added,
            note: f.note.clone(),
        };
        catalogue::restock(&state, &caller, id, t).await
    }
    .await;
    match r {
        Ok(_) => Ok(Redirect::to("/volunteering/catalogue?done=restocked").into_response()),
        Err(e) if refused(&e) => {
            let msg = e.message(ctx().lang);
            show_catalogue(&state, &caller, None, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

// ---- confirming a code -----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "volunteering/confirm.html")]
struct ConfirmPage {
    l: Layout,
    done: Option<RedemptionView>,
    error: Option<String>,
}

pub(super) async fn confirm_page(
    State(_state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    if !catalogue::confirms(&caller) {
        return Err(AppError::forbidden());
    }
    Ok(render(&ConfirmPage {
        l: Layout::new(Some(&caller)),
        done: None,
        error: None,
    }))
}

#[derive(Deserialize, Default)]
pub(super) struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

pub(super) async fn confirm_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<CodeForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let (done, error, status) = match catalogue::confirm(&state, &caller, &f.code).await {
        Ok(v) => (Some(v), None, StatusCode::OK),
        Err(e) if refused(&e) || e.status.as_u16() == 404 => {
            let key = if e.status.as_u16() == 404 {
                "volunteering.err_code_unknown"
            } else {
                ""
            };
            let msg = if key.is_empty() {
                e.message(ctx().lang)
            } else {
                crate::kernel::i18n::tr(ctx().lang, key).to_string()
            };
            (None, Some(msg), e.status)
        }
        Err(e) => return Err(e),
    };
    let mut l = Layout::new(Some(&caller));
    if done.is_some() {
        flash(&mut l, Some("confirmed"));
    }
    let mut res = render(&ConfirmPage { l, done, error });
    *res.status_mut() = status;
    Ok(res)
}

// ---- the certificate -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "volunteering/certificate.html")]
struct CertificatePage {
    l: Layout,
    w: Words,
    c: Certificate,
}

impl CertificatePage {
    fn text(&self) -> String {
        self.l.t.fill(
            "volunteering.certificate_text",
            &[
                ("name", &self.c.name),
                ("from", &self.c.from),
                ("to", &self.c.to),
                ("hours", &self.w.hours(&self.c.minutes)),
                ("points", &self.c.points),
            ],
        )
    }
}

#[derive(Deserialize, Default)]
pub(super) struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

pub(super) async fn certificate_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<PeriodQuery>,
) -> AppResult<Response> {
    let c = points::certificate(&state, &caller, q.from.as_deref(), q.to.as_deref()).await?;
    let l = Layout::new(Some(&caller));
    Ok(render(&CertificatePage {
        w: Words { t: l.t },
        l,
        c,
    }))
}
