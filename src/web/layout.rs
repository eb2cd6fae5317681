//! What every page shares: the layout with its navigation, rendering, the error page, and the language switch.

use crate::http::LANG_COOKIE;
use crate::http::{NextQuery, safe_next};
use crate::http::{Path, Query};
use crate::kernel::ctx;
use crate::kernel::error::AppError;
use crate::kernel::i18n::{Lang, Tr};
use crate::org::Caller;
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

/// What the layout needs on every page.
pub struct Layout {
    pub t: Tr,
    pub lang: &'static str,
    pub html_lang: &'static str,
    pub here: String,
    /// The request's path as it is, to mark where the visitor is in the navigation.
    pub path: String,
    pub user: Option<NavUser>,
    pub csrf: String,
    pub flash: Option<String>,
}

pub struct NavUser {
    pub name: String,
    pub role_key: String,
    /// The main navigation entries this user sees: (href, id, label key).
    pub links: Vec<(&'static str, &'static str, &'static str)>,
}

/// Entries shown in the phone's navigation bar after 首页; the rest open from 更多.
const NAV_FIRST: usize = 3;

impl Layout {
    /// Whether a navigation entry is where the visitor is (its page or one below it).
    pub fn is_here(&self, href: &str) -> bool {
        let path = self.path.split('?').next().unwrap_or("");
        if href == "/" {
            return path == "/";
        }
        path == href || path.starts_with(&format!("{href}/"))
    }

    /// The street's offset from UTC now, in minutes, for scripts that write times of live
    /// updates (China Standard Time: 480): the street's zone, never the browser's.
    pub fn tz_offset_min(&self) -> i32 {
        use chrono::Offset;
        chrono::Utc::now()
            .with_timezone(&crate::kernel::time::zone())
            .offset()
            .fix()
            .local_minus_utc()
            / 60
    }

    /// How many of the areas' entries the phone's navigation bar shows before 更多.
    pub fn nav_first(&self) -> usize {
        NAV_FIRST
    }

    /// The label of the entry behind 更多 the visitor is on, if any.
    pub fn here_in_overflow(&self) -> Option<&'static str> {
        self.user
            .as_ref()?
            .links
            .iter()
            .skip(NAV_FIRST)
            .find(|(href, _, _)| self.is_here(href))
            .map(|(_, _, label)| *label)
    }

    pub fn new(caller: Option<&Caller>) -> Layout {
        let c = ctx();
        Layout {
            t: Tr(c.lang),
            lang: c.lang.code(),
            html_lang: c.lang.html_lang(),
            here: form_urlencoded::byte_serialize(c.path.as_bytes()).collect(),
            path: c.path.clone(),
            user: caller.map(|c| NavUser {
                name: c.display_name.clone(),
                role_key: c.primary_role().label_key(),
                links: super::nav()
                    .iter()
                    .filter(|n| (n.shown)(c))
                    .map(|n| (n.href, n.id, n.label))
                    .collect(),
            }),
            csrf: caller.and_then(|c| c.csrf.clone()).unwrap_or_default(),
            flash: None,
        }
    }
}

pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => AppError::internal("rendering a page", e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    l: Layout,
    status: u16,
    message: String,
}

/// An error page's content, kept on the response so that [`signed_error_pages`] can draw it
/// again inside the signed-in visitor's navigation.
#[derive(Clone, Debug)]
pub(crate) struct ErrorShown {
    message: String,
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    error_page_for(None, status, message)
}

fn error_page_for(caller: Option<&Caller>, status: StatusCode, message: &str) -> Response {
    let page = ErrorPage {
        l: Layout::new(caller),
        status: status.as_u16(),
        message: message.to_string(),
    };
    let mut res = render(&page);
    *res.status_mut() = status;
    res.extensions_mut().insert(ErrorShown {
        message: message.to_string(),
    });
    res
}

/// Error pages keep the navigation and the sign-out for a signed-in visitor: an error is drawn
/// where no request is at hand (`IntoResponse for AppError`), so this layer, inside sign-in,
/// draws it again with the visitor's layout.
pub async fn signed_error_pages(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let caller = req.extensions().get::<Caller>().cloned();
    let res = next.run(req).await;
    match (caller, res.extensions().get::<ErrorShown>().cloned()) {
        (Some(c), Some(shown)) => error_page_for(Some(&c), res.status(), &shown.message),
        _ => res,
    }
}

pub(crate) async fn switch_lang(Path(code): Path<String>, Query(q): Query<NextQuery>) -> Response {
    let lang = Lang::parse(&code).unwrap_or_default();
    let mut res = Redirect::to(&safe_next(q.next.as_deref())).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        lang.code()
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}
