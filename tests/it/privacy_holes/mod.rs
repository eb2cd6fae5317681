//! Holes a hostile probe found (issue 18), each closed with a test named after it: duplicate
//! suggestions outside the caller's scope, residents in the public Open311 feed, a
//! decompression bomb among the photos, reporters' contacts and numbers in free text in clear,
//! webhooks into the server's own network, and downloads of personal data kept in caches.

use serde_json::{Value, json};

use linli::cases::notify::{self, AllowList};

use crate::support::{self, PASSWORD, TestApp, extract_input};

mod contacts;
mod contract;
mod downloads;
mod duplicates;
mod open311;
mod photos;
mod registry;
mod webhooks;

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = app
        .client()
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn report(app: &TestApp, token: &str, body: Value) -> i64 {
    let (s, v) = post(app, token, "/api/v1/cases", body.clone()).await;
    assert_eq!(s, 201, "{body}: {v}");
    v["case"]["id"].as_i64().unwrap()
}

async fn step(app: &TestApp, token: &str, id: i64, body: Value) {
    let (s, v) = post(app, token, &format!("/api/v1/cases/{id}/transitions"), body).await;
    assert_eq!(s, 200, "{v}");
}

/// The buildings in wangge's grid, and one flat of the first.
async fn places(app: &TestApp) -> (Vec<i64>, i64) {
    let grid = support::place_of(app, "wangge").await;
    app.db
        .read(move |c| {
            let b: Vec<i64> = c
                .query(
                    "SELECT id FROM places WHERE kind = 'building' AND path LIKE $1 ORDER BY id",
                    linli::params![format!("{grid}/%")],
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect();
            let unit = c.query_i64(
                "SELECT id FROM places WHERE kind = 'unit' AND parent_id = $1 ORDER BY id LIMIT 1",
                linli::params![b[0]],
            )?;
            Ok((b, unit))
        })
        .await
        .unwrap()
}

fn has_subject(entry: &Value, subject: &str) -> bool {
    entry["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == subject)
}
