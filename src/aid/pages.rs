//! Mutual aid's pages: the board (her community's open posts with filters, her
//! conversations, the workers' moderation list), a new post, a post with its conversation
//! and the steps she may take, her posts, and a home card when messages wait.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::model::{Act, Direction, Draft, Kind, Post};
use super::service::{self, Board, Filter, PostView};
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
        .route("/aid", get(board_page))
        .route("/aid/new", get(new_page).post(new_submit))
        .route("/aid/mine", get(mine_page))
        .route("/aid/{id}", get(post_page))
        .route("/aid/{id}/{action}", post(act_submit))
        .route("/aid/conversations/{id}/block", post(block_submit))
        .route("/aid/conversations/{id}/unblock", post(unblock_submit))
}

type Form = Vec<(String, String)>;

fn field<'a>(f: &'a Form, name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// A post as a card shows it: its words and its labels in the reader's language.
pub struct Card {
    pub p: Post,
    pub kind: &'static str,
    pub direction: &'static str,
    pub state: &'static str,
    /// "3号楼 · 约 120 米 · 王**".
    pub meta: String,
    /// "归还日期 2026-12-20" / "有效期至 2027-03-31".
    pub dates: String,
    pub when: String,
}

fn card(t: &Tr, p: Post) -> Card {
    let mut meta: Vec<String> = Vec::new();
    if let Some(b) = &p.building {
        meta.push(b.clone());
    }
    if let Some(d) = p.distance_m {
        meta.push(t.fill("aid.distance", &[("m", &d)]));
    }
    meta.push(p.poster.clone());
    let mut dates = Vec::new();
    if let Some(d) = &p.return_on {
        dates.push(format!("{} {d}", t.s("aid.return_on")));
    }
    if let Some(d) = &p.expiry_on {
        dates.push(format!("{} {d}", t.s("aid.expiry_on")));
    }
    dates.push(format!(
        "{} {}",
        t.s("aid.expires_at"),
        local_time(p.expires_at)
    ));
    Card {
        kind: t.k("aid.kind", p.kind.as_str()),
        direction: t.k("aid.direction", p.direction.as_str()),
        state: t.k("aid.state", p.state.as_str()),
        meta: meta.join(" · "),
        dates: dates.join(" · "),
        when: local_time(p.created_at),
        p,
    }
}

fn cards(t: &Tr, v: Vec<Post>) -> Vec<Card> {
    v.into_iter().map(|p| card(t, p)).collect()
}

#[derive(Template)]
#[template(path = "aid/list.html")]
struct BoardPage {
    l: Layout,
    b: Board,
    posts: Vec<Card>,
    moderation: Vec<Card>,
    direction: String,
    kind: String,
    kinds: Vec<(&'static str, &'static str)>,
}

impl BoardPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn sel(&self, k: &str) -> bool {
        self.kind == k
    }
}

#[derive(serde::Deserialize, Default)]
struct BoardQuery {
    #[serde(default)]
    direction: String,
    #[serde(default)]
    kind: String,
}

fn kinds(t: &Tr) -> Vec<(&'static str, &'static str)> {
    Kind::ALL
        .iter()
        .map(|k| (k.as_str(), t.k("aid.kind", k.as_str())))
        .collect()
}

async fn board_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<BoardQuery>,
) -> AppResult<Response> {
    let f = Filter {
        direction: Direction::parse(&q.direction),
        kind: Kind::parse(&q.kind),
    };
    let mut b = service::board(&state, &caller, f).await?;
    let t = Tr(ctx().lang);
    let posts = cards(&t, std::mem::take(&mut b.posts));
    let moderation = cards(&t, std::mem::take(&mut b.moderation));
    Ok(render(&BoardPage {
        l: Layout::new(Some(&caller)),
        b,
        posts,
        moderation,
        direction: q.direction,
        kind: q.kind,
        kinds: kinds(&t),
    }))
}

#[derive(Template)]
#[template(path = "aid/mine.html")]
struct MinePage {
    l: Layout,
    b: Board,
    mine: Vec<Card>,
}

impl MinePage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
}

async fn mine_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let mut b = service::board(&state, &caller, Filter::default()).await?;
    if !b.resident {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            crate::kernel::error::Code::Forbidden,
            "aid.err_not_verified",
        ));
    }
    let t = Tr(ctx().lang);
    let mine = cards(&t, std::mem::take(&mut b.mine));
    Ok(render(&MinePage {
        l: Layout::new(Some(&caller)),
        b,
        mine,
    }))
}

#[derive(Template)]
#[template(path = "aid/new.html")]
struct NewPage {
    l: Layout,
    form: Form,
    error: Option<String>,
    kinds: Vec<(&'static str, &'static str)>,
}

impl NewPage {
    fn v(&self, name: &str) -> &str {
        field(&self.form, name)
    }
    fn is(&self, name: &str, value: &str) -> bool {
        self.v(name) == value
    }
}

fn show_new(caller: &Caller, form: Form, error: Option<String>, status: StatusCode) -> Response {
    let t = Tr(ctx().lang);
    let mut res = render(&NewPage {
        l: Layout::new(Some(caller)),
        form,
        error,
        kinds: kinds(&t),
    });
    *res.status_mut() = status;
    res
}

async fn new_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    // Only a verified resident writes (a worker's board has no "new" button).
    let b = service::board(&state, &caller, Filter::default()).await?;
    if !b.resident {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            crate::kernel::error::Code::Forbidden,
            "aid.err_not_verified",
        ));
    }
    let form = vec![
        ("direction".to_string(), "offer".to_string()),
        ("kind".to_string(), "goods".to_string()),
        ("days".to_string(), "30".to_string()),
    ];
    Ok(show_new(&caller, form, None, StatusCode::OK))
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

async fn new_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<Form>,
) -> AppResult<Response> {
    check_csrf(&caller, field(&f, "csrf"))?;
    let made = async {
        let days = match field(&f, "days").trim() {
            "" => None,
            s => Some(
                s.parse::<i64>()
                    .map_err(|_| AppError::invalid("aid.err_days"))?,
            ),
        };
        let d = Draft {
            direction: field(&f, "direction").to_string(),
            kind: field(&f, "kind").to_string(),
            title: field(&f, "title").to_string(),
            body: field(&f, "body").to_string(),
            return_on: opt(field(&f, "return_on")),
            expiry_on: opt(field(&f, "expiry_on")),
            days,
        };
        service::create(&state, &caller, d, None).await
    }
    .await;
    match made {
        Ok(p) => Ok(Redirect::to(&format!("/aid/{}?done=posted", p.id)).into_response()),
        Err(e) if matches!(e.status.as_u16(), 403 | 409 | 422) => {
            let msg = e.message(ctx().lang);
            Ok(show_new(&caller, f, Some(msg), e.status))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "aid/post.html")]
struct PostPage {
    l: Layout,
    v: PostView,
    c: Card,
    done: Option<&'static str>,
    error: Option<String>,
}

impl PostPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn may(&self, a: &str) -> bool {
        self.v.actions.iter().any(|x| act_name(*x) == a)
    }
    fn done_text(&self, k: &str) -> &'static str {
        self.l.t.k("aid.done", k)
    }
    fn waiting_other(&self) -> bool {
        self.v.done_by_me && self.v.post.state == super::model::State::Matched
    }
}

fn act_name(a: Act) -> &'static str {
    match a {
        Act::Message => "message",
        Act::Match => "match",
        Act::Done => "done",
        Act::Withdraw => "withdraw",
        Act::Report => "report",
        Act::Hide => "hide",
        Act::Restore => "restore",
        Act::Unreport => "unreport",
    }
}

#[derive(serde::Deserialize, Default)]
struct PostQuery {
    #[serde(default)]
    conversation: Option<i64>,
    #[serde(default)]
    done: Option<String>,
}

const DONE: [&str; 11] = [
    "posted",
    "message",
    "match",
    "done",
    "withdraw",
    "report",
    "hide",
    "blocked",
    "restore",
    "unreport",
    "unblocked",
];

async fn show_post(
    state: &AppState,
    caller: &Caller,
    id: i64,
    conversation: Option<i64>,
    done: Option<&'static str>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let v = service::view(state, caller, id, conversation).await?;
    let t = Tr(ctx().lang);
    let c = card(&t, v.post.clone());
    let mut res = render(&PostPage {
        l: Layout::new(Some(caller)),
        v,
        c,
        done,
        error,
    });
    *res.status_mut() = status;
    Ok(res)
}

async fn post_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<PostQuery>,
) -> AppResult<Response> {
    let done = q
        .done
        .as_deref()
        .and_then(|d| DONE.iter().find(|x| **x == d).copied());
    show_post(
        &state,
        &caller,
        id,
        q.conversation,
        done,
        None,
        StatusCode::OK,
    )
    .await
}

async fn act_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, action)): Path<(i64, String)>,
    ApiForm(f): ApiForm<Form>,
) -> AppResult<Response> {
    check_csrf(&caller, field(&f, "csrf"))?;
    let conversation: Option<i64> = field(&f, "conversation").trim().parse().ok();
    let r: AppResult<&'static str> = match action.as_str() {
        "message" => service::send(&state, &caller, id, conversation, field(&f, "body"))
            .await
            .map(|_| "message"),
        "match" => match conversation {
            Some(cid) => service::choose(&state, &caller, id, cid)
                .await
                .map(|_| "match"),
            None => Err(AppError::invalid("aid.err_conversation")),
        },
        "done" => service::done(&state, &caller, id).await.map(|_| "done"),
        "withdraw" => service::withdraw(&state, &caller, id)
            .await
            .map(|_| "withdraw"),
        "report" => service::report(&state, &caller, id, field(&f, "reason"))
            .await
            .map(|_| "report"),
        "hide" => service::hide(&state, &caller, id, field(&f, "reason"))
            .await
            .map(|_| "hide"),
        "restore" => service::restore(&state, &caller, id, field(&f, "reason"))
            .await
            .map(|_| "restore"),
        "unreport" => service::unreport(&state, &caller, id)
            .await
            .map(|_| "unreport"),
        _ => Err(AppError::not_found()),
    };
    match r {
        Ok(k) => {
            let c = conversation
                .map(|c| format!("&conversation={c}"))
                .unwrap_or_default();
            Ok(Redirect::to(&format!("/aid/{id}?done={k}{c}")).into_response())
        }
        Err(e) if matches!(e.status.as_u16(), 403 | 409 | 422) => {
            let msg = e.message(ctx().lang);
            show_post(&state, &caller, id, conversation, None, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

async fn block_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<Form>,
) -> AppResult<Response> {
    check_csrf(&caller, field(&f, "csrf"))?;
    let post = service::block(&state, &caller, id).await?;
    Ok(Redirect::to(&format!("/aid/{post}?done=blocked&conversation={id}")).into_response())
}

async fn unblock_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<Form>,
) -> AppResult<Response> {
    check_csrf(&caller, field(&f, "csrf"))?;
    match service::unblock(&state, &caller, id).await {
        Ok(post) => Ok(
            Redirect::to(&format!("/aid/{post}?done=unblocked&conversation={id}")).into_response(),
        ),
        Err(e) if e.status.as_u16() == 409 => {
            let post = service::post_of_conversation(&state, &caller, id).await?;
            let msg = e.message(ctx().lang);
            show_post(&state, &caller, post, Some(id), None, Some(msg), e.status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "aid/home_card.html")]
struct HomeCard {
    text: String,
    title: &'static str,
}

/// A resident's card: the aid messages waiting for her.
pub async fn home_cards(
    state: Arc<AppState>,
    caller: Caller,
) -> anyhow::Result<Vec<crate::http::area::Card>> {
    let n = service::unread(&state, &caller)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.key))?;
    if n == 0 {
        return Ok(Vec::new());
    }
    let t = Tr(ctx().lang);
    let html = HomeCard {
        text: t.fill("aid.home_text", &[("n", &n)]),
        title: t.s("aid.home_title"),
    }
    .render()?;
    Ok(vec![crate::http::area::Card { order: 39, html }])
}
