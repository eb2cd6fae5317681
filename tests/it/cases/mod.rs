//! Cases: the lifecycle table, deadlines in working time, escalation across a restart,
//! duplicates, scope, notifications, webhooks, Open311 in both formats, and the pages.

use serde_json::{Value, json};

use linli::store::Db;

use crate::support::{self, PASSWORD, TestApp, extract_input};

mod dedupe;
mod demo;
mod escalation;
mod first_day;
mod governed;
mod intake;
mod joint;
mod lifecycle;
mod open311;
mod pages;
mod photos;
mod queue;
mod scale;
mod webhooks;

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    post_lang(app, token, path, body, "zh-CN").await
}

async fn post_lang(
    app: &TestApp,
    token: &str,
    path: &str,
    body: Value,
    lang: &str,
) -> (u16, Value) {
    let r = app
        .client()
        .post(app.url(path))
        .bearer_auth(token)
        .header("accept-language", lang)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn step(app: &TestApp, token: &str, id: i64, body: Value) -> (u16, Value) {
    post(app, token, &format!("/api/v1/cases/{id}/transitions"), body).await
}

async fn step_ok(app: &TestApp, token: &str, id: i64, body: Value) -> Value {
    let (s, v) = step(app, token, id, body.clone()).await;
    assert_eq!(s, 200, "{body}: {v}");
    v
}

/// Ids of a demo account, its organisation, and a building in wangge's grid.
async fn user_id(app: &TestApp, name: &'static str) -> i64 {
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM users WHERE username = $1",
                linli::params![name],
            )
        })
        .await
        .unwrap()
}

async fn org_of(app: &TestApp, name: &'static str) -> i64 {
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT r.org_id FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.username = $1",
                linli::params![name],
            )
        })
        .await
        .unwrap()
}

async fn buildings(app: &TestApp) -> Vec<i64> {
    let grid = support::place_of(app, "wangge").await;
    app.db
        .read(move |c| {
            Ok(c.query(
                "SELECT id FROM places WHERE kind = 'building' AND path LIKE $1 ORDER BY id",
                linli::params![format!("{grid}/%")],
            )?
            .iter()
            .map(|r| r.i64(0))
            .collect::<Vec<i64>>())
        })
        .await
        .unwrap()
}

async fn report(app: &TestApp, token: &str, body: Value) -> Value {
    let (s, v) = post(app, token, "/api/v1/cases", body.clone()).await;
    assert_eq!(s, 201, "{body}: {v}");
    v
}

async fn street_of(app: &TestApp) -> i64 {
    app.query_i64("SELECT street_id FROM users WHERE username = 'admin'")
        .await
}

/// A JPEG with an EXIF block placing it at 31°12′N 121°30′E.
fn jpeg_with_gps() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(64, 48, image::Rgb([200, 120, 40]));
    let mut jpeg = std::io::Cursor::new(Vec::new());
    img.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
    let jpeg = jpeg.into_inner();
    let mut t: Vec<u8> = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]| {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value);
    };
    t.extend_from_slice(&1u16.to_le_bytes());
    entry(&mut t, 0x8825, 4, 1, 26u32.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(&4u16.to_le_bytes());
    entry(&mut t, 1, 2, 2, *b"N\0\0\0");
    entry(&mut t, 2, 5, 3, 80u32.to_le_bytes());
    entry(&mut t, 3, 2, 2, *b"E\0\0\0");
    entry(&mut t, 4, 5, 3, 104u32.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    for (n, d) in [(31u32, 1u32), (12, 1), (0, 1), (121, 1), (30, 1), (0, 1)] {
        t.extend_from_slice(&n.to_le_bytes());
        t.extend_from_slice(&d.to_le_bytes());
    }
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&t);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}
