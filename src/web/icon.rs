//! What a phone needs to keep linli on its home screen: a web-app manifest and the icon, drawn
//! here (a white house with a door on the brand's red) as SVG and, for launchers that want
//! pixels, as PNGs rendered once from the same shapes.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::kernel::ctx::ctx;
use crate::kernel::i18n::tr;

const BRAND: [u8; 3] = [0xb3, 0x26, 0x1e];

/// The house in a 0..1 square: a roof (triangle), walls (rectangle), and a door cut out.
fn inside(x: f64, y: f64) -> bool {
    let roof = (0.18..=0.48).contains(&y) && (x - 0.5).abs() <= (y - 0.18) / 0.30 * 0.34;
    let walls = (0.26..=0.74).contains(&x) && (0.46..=0.80).contains(&y);
    let door = (0.44..=0.56).contains(&x) && (0.60..=0.80).contains(&y);
    (roof || walls) && !door
}

pub const SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" role="img" aria-label="linli"><rect width="100" height="100" rx="18" fill="#b3261e"/><path fill="#fff" fill-rule="evenodd" d="M50 18 84 48H74V80H26V48H16Z M44 60V80H56V60Z"/></svg>"##;

/// The icon as a PNG of `px` × `px` (anti-aliased by 4 × 4 samples a pixel).
fn png(px: u32) -> Vec<u8> {
    let mut img = image::RgbaImage::new(px, px);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let mut hits = 0u32;
        for sy in 0..4 {
            for sx in 0..4 {
                let fx = (x as f64 + (sx as f64 + 0.5) / 4.0) / px as f64;
                let fy = (y as f64 + (sy as f64 + 0.5) / 4.0) / px as f64;
                hits += inside(fx, fy) as u32;
            }
        }
        let k = hits as f64 / 16.0;
        let mix = |c: u8| (c as f64 * (1.0 - k) + 255.0 * k).round() as u8;
        *p = image::Rgba([mix(BRAND[0]), mix(BRAND[1]), mix(BRAND[2]), 255]);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding a PNG in memory");
    out.into_inner()
}

pub async fn icon_svg() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        SVG,
    )
}

/// `/static/icon-192.png` and `/static/icon-512.png`.
pub async fn icon_png(px: u32) -> Response {
    static P192: OnceLock<Vec<u8>> = OnceLock::new();
    static P512: OnceLock<Vec<u8>> = OnceLock::new();
    let bytes = match px {
        192 => P192.get_or_init(|| png(192)),
        _ => P512.get_or_init(|| png(512)),
    };
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        bytes.clone(),
    )
        .into_response()
}

/// The web-app manifest, in the visitor's language.
pub async fn manifest() -> impl IntoResponse {
    let lang = ctx().lang;
    let m = serde_json::json!({
        "name": tr(lang, "app.manifest_name"),
        "short_name": tr(lang, "app.name"),
        "lang": if lang == crate::kernel::i18n::Lang::En { "en" } else { "zh-CN" },
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f4f6f8",
        "theme_color": "#b3261e",
        "icons": [
            {"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml"},
            {"src": "/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any maskable"}
        ]
    });
    (
        [
            (header::CONTENT_TYPE, "application/manifest+json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        m.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icon_is_a_house_on_red() {
        assert!(inside(0.5, 0.3) && inside(0.3, 0.7) && !inside(0.5, 0.7) && !inside(0.05, 0.05));
        let p = png(192);
        let img = image::load_from_memory(&p).unwrap().to_rgba8();
        assert_eq!(img.dimensions(), (192, 192));
        assert_eq!(img.get_pixel(5, 5).0, [0xb3, 0x26, 0x1e, 255]);
        assert_eq!(img.get_pixel(96, 60).0, [255, 255, 255, 255]);
    }
}
