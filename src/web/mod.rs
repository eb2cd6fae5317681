//! The web shell: the page layout and navigation, the error page, the home page assembled from
//! the areas' cards, the map drawing, and the static assets compiled into the binary. Areas'
//! own pages live in their folders; this holds only what every page shares.

mod home;
mod icon;
mod layout;
pub use layout::signed_error_pages;
pub mod map;

pub use layout::{Layout, NavUser, error_page, render};

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::http::area::Nav;
use crate::kernel::AppError;
use crate::state::AppState;

static NAV: OnceLock<Vec<&'static Nav>> = OnceLock::new();

/// The main navigation, folded from the areas' entries by `app` when the router is built.
pub fn set_nav(mut entries: Vec<&'static Nav>) {
    entries.sort_by_key(|n| n.order);
    let _ = NAV.set(entries);
}

static CARDS: OnceLock<Vec<(&'static str, crate::http::area::Cards)>> = OnceLock::new();

/// The areas' home-page cards, folded by `app` when the router is built.
pub fn set_cards(cards: Vec<(&'static str, crate::http::area::Cards)>) {
    let _ = CARDS.set(cards);
}

/// Every area's cards for a caller, in order; a card that fails is logged and left out.
pub async fn cards(
    state: &Arc<AppState>,
    caller: &crate::org::Caller,
) -> Vec<crate::http::area::Card> {
    let mut out = Vec::new();
    for (area, f) in CARDS.get().map(Vec::as_slice).unwrap_or(&[]) {
        match f(state.clone(), caller.clone()).await {
            Ok(c) => out.extend(c),
            Err(e) => tracing::error!(area, error = %e, "home card failed"),
        }
    }
    out.sort_by_key(|c| c.order);
    out
}

/// The navigation entries, in menu order.
pub fn nav() -> &'static [&'static Nav] {
    NAV.get().map(Vec::as_slice).unwrap_or(&[])
}

/// The shell's own routes: the home page, sign-in, the language switch and the assets.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(home::home))
        .route("/lang/{code}", get(layout::switch_lang))
        .route("/static/app.css", get(asset_css))
        .route("/static/app.js", get(asset_js))
        .route("/static/icon.svg", get(icon::icon_svg))
        .route("/static/icon-192.png", get(|| icon::icon_png(192)))
        .route("/static/icon-512.png", get(|| icon::icon_png(512)))
        .route("/manifest.webmanifest", get(icon::manifest))
}

pub const APP_CSS: &str = include_str!("../../static/app.css");
pub const APP_JS: &str = include_str!("../../static/app.js");

pub async fn asset_css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
}

pub async fn asset_js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_JS,
    )
}

/// Escapes text for HTML and SVG built outside templates.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// API callers get `{"error":{"code":…,"message":…}}`; page visitors an HTML page in their
/// language, or the sign-in page when they are not signed in.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let ctx = crate::kernel::ctx();
        let msg = self.message(ctx.lang);
        if ctx.api {
            let body = serde_json::json!({"error": {"code": self.code, "message": msg}});
            return (self.status, axum::Json(body)).into_response();
        }
        if self.status == StatusCode::UNAUTHORIZED {
            let next = form_urlencoded::byte_serialize(ctx.path.as_bytes()).collect::<String>();
            // A session cookie that no longer signs in ran out: the sign-in page says so.
            let reason = if ctx.had_session {
                "reason=expired&"
            } else {
                ""
            };
            return axum::response::Redirect::to(&format!("/login?{reason}next={next}"))
                .into_response();
        }
        layout::error_page(self.status, &msg)
    }
}

/// A QR code of a text, as an inline SVG element (no XML prolog), in modules of the viewBox:
/// invitation letters, a second factor's secret.
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .quiet_zone(true)
                .module_dimensions(1, 1)
                .build();
            match svg.find("<svg") {
                Some(i) => svg[i..].replacen("<svg ", "<svg class=\"qr\" role=\"img\" ", 1),
                None => svg,
            }
        }
        Err(_) => String::new(),
    }
}
