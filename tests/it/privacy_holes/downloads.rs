//! Downloads of personal data: never stored in caches, never unmasked on one administrator's word.

use super::*;

#[tokio::test]
async fn personal_data_downloads_are_never_stored() {
    let app = support::spawn().await;
    let wangge = app.token("wangge").await;
    let grid = support::place_of(&app, "wangge").await;
    let g = grid.clone();
    let building = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT path FROM places WHERE kind = 'building' AND path LIKE $1 ORDER BY path LIMIT 1",
                linli::params![format!("{g}/%")],
            )
        })
        .await
        .unwrap()
        .str(0);
    let no_store = |r: &reqwest::Response, what: &str| {
        assert_eq!(r.status(), 200, "{what}");
        let cc = r
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        assert!(cc.contains("no-store"), "{what}: cache-control {cc:?}");
    };
    // An export, through the API and the page.
    let (s, v) = post(
        &app,
        &wangge,
        "/api/v1/exports",
        json!({"place": building, "reason": "走访名单"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let export = v["id"].as_i64().unwrap();
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/exports/{export}/download")))
        .bearer_auth(&wangge)
        .send()
        .await
        .unwrap();
    no_store(&r, "export (API)");
    let (b, _) = app.login_page("wangge", PASSWORD).await;
    let r = b
        .get(app.url(&format!("/exports/{export}/download")))
        .send()
        .await
        .unwrap();
    no_store(&r, "export (page)");
    // The refused rows of an import, as a workbook.
    let template = app
        .client()
        .get(app.url("/api/v1/imports/template.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/imports/persons/refused?scope={grid}")))
        .bearer_auth(&wangge)
        .header("content-type", "text/csv")
        .body(template)
        .send()
        .await
        .unwrap();
    no_store(&r, "refused rows");
    // A resident's copy of her own data.
    let jumin = app.token("jumin").await;
    let r = app
        .client()
        .get(app.url("/api/v1/me/data"))
        .bearer_auth(&jumin)
        .send()
        .await
        .unwrap();
    no_store(&r, "my data (API)");
    let (jb, _) = app.login_page("jumin", PASSWORD).await;
    let r = jb.get(app.url("/me/data")).send().await.unwrap();
    no_store(&r, "my data (page)");
}

/// Finding 6: a street administrator alone could create an account, request an unmasked export
/// with it and approve it herself. Now whoever created an account or granted it a role in the
/// last 30 days may not approve its exports (nor sees them waiting), and such a request from a
/// new account raises a notice to the street.
#[tokio::test]
async fn one_administrator_alone_gets_no_unmasked_export() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let grid = support::place_of(&app, "wangge").await;
    let r = app
        .client()
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(
            &json!({"username": "xinwangge", "display_name": "孙悦", "password": "long-enough-pw",
                      "role": "grid_worker", "target": grid}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let newbie = app.token_with("xinwangge", "long-enough-pw").await;
    let (s, v) = post(
        &app,
        &newbie,
        "/api/v1/exports",
        json!({"place": grid, "reason": "发放补贴", "unmasked": true}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["state"], "pending");
    let id = v["id"].as_i64().unwrap();

    // The administrator who made the account neither sees it waiting nor may approve it.
    let (_, lists) = app.get_json(&admin, "/api/v1/exports").await;
    assert!(
        !lists["awaiting"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == id),
        "{lists}"
    );
    let (s, v) = post(
        &app,
        &admin,
        &format!("/api/v1/exports/{id}/decision"),
        json!({"approve": true}),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"]["code"], "vouched");
    let (s, _) = app
        .get_json(&newbie, &format!("/api/v1/exports/{id}/download"))
        .await;
    assert_eq!(s, 403, "still not downloadable");

    // The street hears of it: a notice names the new account and the export.
    let (s, notices) = app.get_json(&admin, "/api/v1/security-notices").await;
    assert_eq!(s, 200);
    let n = notices
        .as_array()
        .or(notices["items"].as_array())
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "new_account_export")
        .cloned()
        .unwrap_or_else(|| panic!("a notice: {notices}"));
    assert_eq!(n["evidence"]["export"], id);

    // Someone else above her, who did not vouch for the account, may decide.
    let shegong = app.token("shegong").await;
    let (_, lists) = app.get_json(&shegong, "/api/v1/exports").await;
    assert!(
        lists["awaiting"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == id)
    );
    let (s, v) = post(
        &app,
        &shegong,
        &format!("/api/v1/exports/{id}/decision"),
        json!({"approve": true}),
    )
    .await;
    assert_eq!(s, 204, "{v}");
}
