//! Organisations set up by the street (issue 21 part 3): created, changed, routed to and retired
//! by the API and the pages; other roles get 403 and other streets' organisations 404.

use serde_json::{Value, json};

use super::send;
use crate::support::{self, PASSWORD, extract_input};

async fn category_code(app: &support::TestApp) -> String {
    app.db
        .read(|c| {
            c.query_one(
                "SELECT k.code FROM case_categories k JOIN places p ON p.id = k.street_id \
                 WHERE p.kind = 'street' ORDER BY p.id, k.code LIMIT 1",
                &[],
            )
        })
        .await
        .unwrap()
        .str(0)
}

#[tokio::test]
async fn a_street_administrator_keeps_its_organisations_and_their_routes() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let street = super::street_path(&app).await;
    let community = app
        .db
        .read({
            let street = street.clone();
            move |c| {
                c.query_one(
                    "SELECT path FROM places WHERE kind = 'community' AND path LIKE $1 ORDER BY path LIMIT 1",
                    &[linli::store::Val::Text(format!("{street}/%"))],
                )
            }
        })
        .await
        .unwrap()
        .str(0);

    // Bad input gets a clear message.
    let (s, body) = send(
        &app,
        &admin,
        "POST",
        "/api/v1/organisations",
        json!({"kind": "club", "code": "x1", "name": "某单位"}),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("职能部门"),
        "{body}"
    );
    let (s, body) = send(
        &app,
        &admin,
        "POST",
        "/api/v1/organisations",
        json!({"kind": "property", "code": "wy 1", "name": "某物业"}),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    let (s, body) = send(
        &app,
        &admin,
        "POST",
        "/api/v1/organisations",
        json!({"kind": "property", "code": "wy-new", "name": "某物业", "places": ["999/nowhere"]}),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("999/nowhere"),
        "{body}"
    );

    // Created, listed, shown.
    let (s, body) = send(&app, &admin, "POST", "/api/v1/organisations",
        json!({"kind": "owners_committee", "code": "ywh-1", "name": "一村业委会", "phone": "021-5830 1234",
               "places": [community]})).await;
    assert_eq!(s, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    let (s, _) = send(
        &app,
        &admin,
        "POST",
        "/api/v1/organisations",
        json!({"kind": "social", "code": "ywh-1", "name": "重复"}),
    )
    .await;
    assert_eq!(s, 409);
    let (s, list) = app.get_json(&admin, "/api/v1/organisations").await;
    assert_eq!(s, 200);
    let mine = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .unwrap();
    assert_eq!(mine["kind"], "owners_committee");
    assert_eq!(mine["members"], 0);
    let (s, d) = app
        .get_json(&admin, &format!("/api/v1/organisations/{id}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(d["places"][0]["path"], community.as_str());
    assert_eq!(d["organisation"]["phone"], "021-5830 1234");

    // Changed: name and places (none: the whole street).
    let (s, body) = send(
        &app,
        &admin,
        "PATCH",
        &format!("/api/v1/organisations/{id}"),
        json!({"kind": "owners_committee", "name": "一村第一届业委会"}),
    )
    .await;
    assert_eq!(s, 204, "{body}");
    let (_, d) = app
        .get_json(&admin, &format!("/api/v1/organisations/{id}"))
        .await;
    assert_eq!(d["organisation"]["name"], "一村第一届业委会");
    assert_eq!(d["places"][0]["path"], street.as_str());

    // A category routed to it; retiring is then refused with the count.
    let code = category_code(&app).await;
    let (s, body) = send(
        &app,
        &admin,
        "POST",
        &format!("/api/v1/organisations/{id}/routes"),
        json!({"category": "no-such-category"}),
    )
    .await;
    assert_eq!(s, 422, "{body}");
    let (s, body) = send(
        &app,
        &admin,
        "POST",
        &format!("/api/v1/organisations/{id}/routes"),
        json!({"category": code, "place": community}),
    )
    .await;
    assert_eq!(s, 204, "{body}");
    let (_, d) = app
        .get_json(&admin, &format!("/api/v1/organisations/{id}"))
        .await;
    let route = &d["routes"][0];
    assert_eq!(d["routes"].as_array().unwrap().len(), 1, "{d}");
    let (s, body) = send(
        &app,
        &admin,
        "POST",
        &format!("/api/v1/organisations/{id}/retire"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("1"),
        "{body}"
    );
    let r = app
        .client()
        .delete(app.url(&format!(
            "/api/v1/organisations/{id}/routes/{}/{}",
            route["category_id"], route["place_id"]
        )))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (s, _) = send(
        &app,
        &admin,
        "POST",
        &format!("/api/v1/organisations/{id}/retire"),
        json!({}),
    )
    .await;
    assert_eq!(s, 204);
    let (_, d) = app
        .get_json(&admin, &format!("/api/v1/organisations/{id}"))
        .await;
    assert!(d["organisation"]["retired_at"].is_i64());
    // A retired organisation takes no changes, routes or grants.
    let (s, _) = send(
        &app,
        &admin,
        "PATCH",
        &format!("/api/v1/organisations/{id}"),
        json!({"kind": "social", "name": "x"}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, body) = send(&app, &admin, "POST", "/api/v1/users",
        json!({"username": "ywh-member", "display_name": "成员", "role": "dept_handler", "target": "ywh-1"})).await;
    assert_eq!(s, 422, "{body}");

    // An organisation with open cases is not retired.
    let busy = app
        .db
        .read(|c| {
            c.query_opt(
                "SELECT handler_org_id FROM cases WHERE handler_org_id IS NOT NULL \
                 AND state NOT IN ('closed', 'rated', 'merged', 'rejected') LIMIT 1",
                &[],
            )
        })
        .await
        .unwrap()
        .map(|r| r.i64(0));
    if let Some(busy) = busy {
        let (s, body) = send(
            &app,
            &admin,
            "POST",
            &format!("/api/v1/organisations/{busy}/retire"),
            json!({}),
        )
        .await;
        assert_eq!(s, 409, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("未办结案件"),
            "{body}"
        );
    }

    // Every change is in the audit log.
    let n = app
        .query_i64("SELECT COUNT(*) FROM audit_entries WHERE body LIKE '%organisation 1%' OR body LIKE '%organisation ywh-1%'")
        .await;
    assert!(n >= 4, "{n}");
    app.stop().await;
}

#[tokio::test]
async fn organisations_are_the_street_administrators_alone() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let (_, list) = app.get_json(&admin, "/api/v1/organisations").await;
    let some = list["items"][0]["id"].as_i64().unwrap();
    for who in ["shegong", "wangge", "bumen", "wuye", "jumin"] {
        let tok = app.token(who).await;
        let (s, _) = app.get_json(&tok, "/api/v1/organisations").await;
        assert_eq!(s, 403, "{who}");
        let (s, _) = app
            .get_json(&tok, &format!("/api/v1/organisations/{some}"))
            .await;
        assert_eq!(s, 403, "{who}");
        let (s, _) = send(
            &app,
            &tok,
            "POST",
            "/api/v1/organisations",
            json!({"kind": "social", "code": "s-x", "name": "x"}),
        )
        .await;
        assert_eq!(s, 403, "{who}");
        let (s, _) = send(
            &app,
            &tok,
            "POST",
            &format!("/api/v1/organisations/{some}/retire"),
            json!({}),
        )
        .await;
        assert_eq!(s, 403, "{who}");
    }
    // Another street's organisation is not found.
    let other: Option<i64> = app
        .db
        .read(|c| {
            let mine = c.query_one("SELECT street_id FROM users WHERE username = 'admin'", &[])?;
            Ok(c.query_opt(
                "SELECT id FROM organisations WHERE street_id <> $1 LIMIT 1",
                &[linli::store::Val::Int(mine.i64(0))],
            )?
            .map(|r| r.i64(0)))
        })
        .await
        .unwrap();
    let other = match other {
        Some(o) => o,
        None => {
            // A second street with one organisation, written as the demo would.
            app.db
                .write(|c| {
                    let now = 0i64;
                    let d = c.query_one(
                        "SELECT id, path FROM places WHERE kind = 'district' ORDER BY id LIMIT 1",
                        &[],
                    )?;
                    let path = format!("{}/other-street", d.str(1));
                    let s = c.query_one(
                        "INSERT INTO places (parent_id, kind, code, name, path, depth, created_at) \
                         VALUES ($1, 'street', 'other-street', '另一街道', $2, 2, $3) RETURNING id",
                        &[
                            linli::store::Val::Int(d.i64(0)),
                            linli::store::Val::Text(path),
                            linli::store::Val::Int(now),
                        ],
                    )?;
                    let o = c.query_one(
                        "INSERT INTO organisations (street_id, kind, code, name, created_at) \
                         VALUES ($1, 'department', 'cg-other', '另一城管', $2) RETURNING id",
                        &[
                            linli::store::Val::Int(s.i64(0)),
                            linli::store::Val::Int(now),
                        ],
                    )?;
                    Ok(o.i64(0))
                })
                .await
                .unwrap()
        }
    };
    let (s, _) = app
        .get_json(&admin, &format!("/api/v1/organisations/{other}"))
        .await;
    assert_eq!(s, 404);
    let (s, _) = send(
        &app,
        &admin,
        "PATCH",
        &format!("/api/v1/organisations/{other}"),
        json!({"kind": "department", "name": "x"}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = send(
        &app,
        &admin,
        "POST",
        &format!("/api/v1/organisations/{other}/retire"),
        json!({}),
    )
    .await;
    assert_eq!(s, 404);

    // The pages: the list, a new organisation, its page; 403 for a grid worker.
    let (b, _) = app.login_page("admin", PASSWORD).await;
    let page = app.page(&b, "/admin/orgs").await;
    assert!(page.contains("单位管理"), "{page}");
    let csrf = extract_input(&page, "csrf").unwrap();
    let r = b
        .post(app.url("/admin/orgs"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("kind", "social"),
            ("code", "sg-1"),
            ("name", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("请填写名称"));
    let r = b
        .post(app.url("/admin/orgs"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("kind", "social"),
            ("code", "sg-1"),
            ("name", "阳光社工站"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let page = app.page(&b, &to).await;
    assert!(
        page.contains("阳光社工站") && page.contains("社会组织") && page.contains("已新建"),
        "{page}"
    );
    let page = b
        .get(app.url(&to))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Social organisation"), "{page}");
    let (w, _) = app.login_page("wangge", PASSWORD).await;
    let r = w.get(app.url("/admin/orgs")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let _: Value = Value::Null;
    app.stop().await;
}
